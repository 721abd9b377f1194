"""JPush Device API v3 (``https://device.jpush.cn``: devices, aliases, tags, online status) and
Push API v3 (``https://api.jpush.cn``: push, validate, cid)."""
from __future__ import annotations


import sqlite3

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Vendor
from . import errors, storage
from .routes import is_push_path


class JPush(Vendor):
    name = "jpush"
    title = "JPush"
    path_roots = frozenset({"v3"})
    hosts = ("device.jpush.cn", "api.jpush.cn")
    security_schemes = {"jpush_basic": {"type": "http", "scheme": "basic", "description": "app key : master secret"}}
    security = [{"jpush_basic": []}]
    options = {
        "success_body": Option(
            "json",
            "body of a successful write (device update, tag/alias update and delete): "
            "json = {} (the Node 4.2 client hangs and the Ruby client raises on an empty body), "
            "empty = no body (what the docs show)",
            choices=("json", "empty"),
        ),
        "deleted_alias": Option(
            "null",
            "how GET /v3/devices/{rid} shows a deleted alias: null (docs, Java tests) or "
            "empty = \"\" (Ruby tests)",
            choices=("null", "empty"),
        ),
        "mobile_format": Option(
            "string",
            "how GET /v3/devices/{rid} shows mobile: string (docs example) or number = a JSON "
            "integer when it is all digits (the Ruby tests compare it to an integer)",
            choices=("string", "number"),
        ),
        "tag_alias_chars": Option(
            "documented",
            "characters accepted in tags and aliases: documented = letters, digits, '_', Chinese "
            "characters and @!#$&*+=.|\uffe5 (Jiguang's client and Push API docs); any = any "
            "characters (only the 40-byte limit), for apps whose tags hold e.g. '-'",
            choices=("documented", "any"),
        ),
        "rate_limit": Option(
            False,
            "enforce the per-app-key quota (429/2002) and send X-Rate-Limit-* headers",
            kind=bool,
        ),
        "rate_limit_per_minute": Option(600, "calls per minute per app key when rate_limit is on", kind=int),
    }

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        if is_push_path(request.path):
            return errors.push_generic_error(status)
        return errors.generic_error(status)

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        """The Device API answers 404/7010 for any method+path it does not serve; the Push API
        answers another method on its paths with 405/1001 ("only POST is supported")."""
        if status == 405 and is_push_path(request.path):
            return errors.push_error(errors.PUSH_ONLY_POST)
        return errors.jpush_error(errors.NO_SUCH_API)

    # -- delivery ledger --------------------------------------------------------------------
    def explain_miss(self, conn: sqlite3.Connection, tenant: str, publish_id: str, device_id: str) -> str | None:
        """Why a device of the app (tenant = app key) got nothing from a push (publish id = msg_id)."""
        return storage.explain_miss(conn, tenant, publish_id, device_id)

    def invalidate_token(self, conn: sqlite3.Connection, tenant: str, device_id: str, reason: str) -> bool:
        """The device must exist. Later pushes that select it record a failed delivery
        ("token invalidated: ..."); JPush's Device API keeps showing the device, so nothing else
        changes."""
        return storage.device_exists(conn, tenant, device_id)
