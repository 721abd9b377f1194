"""JPush Device API v3 (``https://device.jpush.cn``): devices, aliases, tags, online status."""
from __future__ import annotations


from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Route, Vendor
from . import errors, fixtures, storage
from .routes import JPushApi


class JPush(Vendor):
    name = "jpush"
    title = "JPush"
    path_roots = frozenset({"v3"})
    hosts = ("device.jpush.cn", "api.jpush.cn")
    browse = storage.BROWSE
    security_schemes = {"jpush_basic": {"type": "http", "scheme": "basic", "description": "app key : master secret"}}
    security = [{"jpush_basic": []}]
    fixture_io = fixtures
    migrations = storage.MIGRATIONS
    error_schema = errors.ERROR_SCHEMA
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
        "rate_limit": Option(
            False,
            "enforce the per-app-key quota (429/2002) and send X-Rate-Limit-* headers",
            kind=bool,
        ),
        "rate_limit_per_minute": Option(600, "calls per minute per app key when rate_limit is on", kind=int),
    }

    def routes(self) -> list[Route]:
        return JPushApi(self).routes()

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return errors.generic_error(status)

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        """The real service answers 404/7010 for any method+path it does not serve."""
        return errors.jpush_error(errors.NO_SUCH_API)
