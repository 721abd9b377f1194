"""Capgo's routes: the public ``/device`` API in its two profiles and the device-side plugin
endpoints.

``/device``: ``documented`` is the published API document (page-based list, ``{"error",
"status": "KO"}``, key modes, version pins); ``live`` is today's service (cursor list, ``{error,
message, moreInfo}``, the real check order, no version pins, no links onto public channels).
Both work on the same tables.

``/stats`` and ``/updates`` are what the capacitor-updater plugin calls with no API key. They
create and update device records, and ``/updates`` answers with the bundle the device should run.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ... import deliveries
from ...errors import ApiError, json_response
from ...openapi import closed_object, success
from ...httputil import BodyError, bounded_int, parse_json, read_body
from ...jsoncodec import dumps_bytes
from ...vendor import Route
from . import errors, storage
from .rules import (INTERNAL_BUNDLES, KEY_MISMATCH, Issues, Refusal, can_manage, can_read, channel_list_issues,
                    channel_refusal, channel_self_issues, is_local_channel_plugin, is_reverse_domain, issue, js_number,
                    js_truthy, key_covers_app, normalise_plugin_body, plugin_at_least, query_to_body, REFUSAL_KINDS,
                    should_record_download_fail,
                    stats_issues, std_semver, update_issues)

if TYPE_CHECKING:  # pragma: no cover
    from . import Capgo

#: the largest body the /device and plugin routes read (the real workers' limit is ~100 MB;
#: nothing legitimate comes near this)
BODY_LIMIT = 1024 * 1024
#: hono matches ``/device`` and ``/device/`` alike
DEVICE_PATTERN = r"/device{slash:/?}"
OK = {"status": "ok"}
PAGE_SIZE = 50
#: SQLite's OFFSET is a signed 64-bit integer; any page beyond this is empty anyway
MAX_OFFSET = 2**62
#: pages past this one are empty anyway; caps the page number before any arithmetic
MAX_DOCUMENTED_PAGE = MAX_OFFSET // PAGE_SIZE
LIVE_DEFAULT_LIMIT = 50
#: the Cloudflare read path caps ``limit`` here (silently)
LIVE_MAX_LIMIT = 50_000
#: ``channelSelfRateLimit.ts``: per app+device+operation per second, identical re-POST window,
#: per app+client IP per minute (``RATE_LIMIT_CHANNEL_SELF_IP``)
OP_LIMIT_PER_SECOND = 5
SAME_SET_WINDOW = 60
IP_LIMIT_PER_MINUTE = 1000
#: ``utils/rate_limit.ts``: failed authentications per client IP in 15 minutes
#: (``RATE_LIMIT_FAILED_AUTH``), and calls per API key per minute (``RATE_LIMIT_API_KEY``); both
#: refuse once the count reaches the limit
FAILED_AUTH_LIMIT = 20
FAILED_AUTH_WINDOW = 15 * 60
API_KEY_LIMIT_PER_MINUTE = 2000
#: ``hono_middleware.ts getSubkeyId``
SUBKEY_ID = re.compile(r"[1-9][0-9]*")
MAX_SAFE_INTEGER = 2**53 - 1
LIVE_UPDATED_AT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2})(\.\d+)?Z| (\d{2}:\d{2}:\d{2}))", re.ASCII)


# -- the success bodies, each defined once and answered by the handlers below ---------------------
STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
OK_BODY = closed_object({"status": {"const": OK["status"]}})
#: ``simpleError200`` and the other refusals the plugin endpoints answer with HTTP 200: a code, a
#: message and the error's details spread beside them
ERROR_200_FIELDS: dict[str, Any] = {"error": STR, "message": STR}
ERROR_200: dict[str, Any] = {"type": "object", "required": list(ERROR_200_FIELDS), "properties": ERROR_200_FIELDS,
                             "additionalProperties": True}
#: ``storage.DOCUMENTED_DEVICE_JSON``: the documented ``Device``; ``channel``/``version_override`` when overridden
DOCUMENTED_DEVICE = closed_object({
    "device_id": STR, "custom_id": STR,
    "version": closed_object({"id": {"type": ["integer", "null"]}, "name": STR}),
    "app_id": STR, "platform": NULLABLE_STR, "plugin_version": STR, "os_version": NULLABLE_STR,
    "version_build": STR, "is_prod": BOOL, "is_emulator": BOOL, "created_at": STR, "updated_at": STR,
    "channel": STR, "version_override": STR}, optional=("channel", "version_override"))
#: ``storage.LIVE_DEVICE_JSON``: today's service (``get.ts filterDeviceKeys``); ``channel`` when overridden
LIVE_DEVICE = closed_object({
    "updated_at": STR, "device_id": STR, "custom_id": STR, "is_prod": BOOL, "is_emulator": BOOL,
    "install_source": NULLABLE_STR, "version_name": STR, "version": {"type": ["integer", "null"]}, "app_id": STR,
    "platform": NULLABLE_STR, "plugin_version": STR, "os_version": NULLABLE_STR, "version_build": STR,
    "key_id": {"type": ["string", "integer", "null"]}, "country_code": NULLABLE_STR, "channel": STR},
    optional=("channel",))
#: GET /device: one device, or a page (documented: ``data``; live: ``data``, ``nextCursor``, ``hasMore``)
DEVICE_GET_BODY = {"oneOf": [
    {**DOCUMENTED_DEVICE, "title": "documented device"},
    closed_object({"data": {"type": "array", "items": DOCUMENTED_DEVICE}}),
    {**LIVE_DEVICE, "title": "live device"},
    closed_object({"data": {"type": "array", "items": LIVE_DEVICE}, "nextCursor": STR, "hasMore": BOOL},
                  optional=("nextCursor",)),
]}
#: POST /stats: one event's ``{"status": "ok"}`` or error, or a batch's results, one per event
STAT_RESULT = {"type": "object", "required": ["status", "index"],
               "properties": {"status": {"enum": ["ok", "error"]}, "index": {"type": "integer", "minimum": 0},
                              "error": STR, "message": STR, "moreInfo": {"type": "object"}},
               "additionalProperties": False}
STATS_BODY = {"anyOf": [OK_BODY, closed_object({"status": {"const": "ok"},
                                                "results": {"type": "array", "items": STAT_RESULT}}), ERROR_200]}
#: POST /updates: the bundle to download, or a refusal whose ``kind`` the plugin reads
UPDATE_BODY = {"anyOf": [
    closed_object({"version": STR, "url": STR, "session_key": STR, "checksum": NULLABLE_STR}),
    {**ERROR_200, "required": ["error", "message", "kind"],
     "properties": {**ERROR_200_FIELDS, "kind": {"enum": list(REFUSAL_KINDS)}}},
]}
#: POST /channel_self (setChannel); DELETE /channel_self (unset)
CHANNEL_SET_BODY = {"anyOf": [OK_BODY, closed_object({"status": {"const": "ok"}, "allowSet": BOOL}), ERROR_200]}
CHANNEL_UNSET_BODY = {"anyOf": [OK_BODY, ERROR_200]}
#: PUT /channel_self (getChannel)
CHANNEL_GET_BODY = {"anyOf": [
    closed_object({"channel": STR, "status": {"enum": ["override", "default"]}, "allowSet": BOOL},
                  optional=("allowSet",)),
    ERROR_200]}
#: GET /channel_self (listChannels)
CHANNEL_LIST_BODY = {"type": "array", "items": closed_object(
    {"id": {"type": "integer"}, "name": STR, "public": BOOL, "allow_self_set": BOOL})}


#: where a bundle is said to live when the fixture gives no ``url`` (never fetched by the emulator)
DEFAULT_BUNDLE_URL = "https://bundles.capgo.emulator.invalid/{app_id}/{name}.zip"



def raw_api_key(request: web.Request) -> str | None:
    """``capgkey`` first, else ``authorization``, verbatim (a ``Bearer`` prefix is kept and fails)."""
    return request.headers.get("capgkey") or request.headers.get("authorization") or None


async def body_bytes(request: web.Request, too_large: errors.ApiError) -> bytes:
    try:
        return await read_body(request, BODY_LIMIT)
    except BodyError as exc:
        if exc.kind != "too_large":  # a broken Content-Encoding: to Capgo, a body that does not parse
            return b"\x00"
        raise too_large from None


def try_json(data: bytes) -> tuple[bool, Any]:
    """(parsed?, value) without raising: several routes fall back to the query string."""
    try:
        return True, parse_json(data)
    except BodyError:
        return False, None


def lower_device_id(body: Any) -> None:
    """The plugin endpoints lower-case a string ``device_id`` (of an object or of each array item)."""
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict) and isinstance(item.get("device_id"), str):
            item["device_id"] = item["device_id"].lower()


def js_keys(value: Any) -> int:
    """How many keys ``Object.keys(value)`` lists."""
    return len(value) if isinstance(value, (dict, list, str)) else 0


def error200(code: str, message: str, **more_info: Any) -> dict[str, Any]:
    """``simpleError200``: HTTP 200, the moreInfo spread at the top level."""
    return {"error": code, "message": message, **more_info}


#: where the real /stats throws a TypeError (an event with no ``action``)
MISSING_ACTION: Any = object()


def query_dict(request: web.Request) -> dict[str, str]:
    """The query string as a plain object (first value of a repeated name wins)."""
    return {k: request.query[k] for k in request.query.keys()}

class Routes:
    """Every Capgo handler; ``/device`` dispatches on the ``profile`` option per request."""

    def __init__(self, vendor: Capgo) -> None:
        self.vendor = vendor

    def table(self) -> list[Route]:
        key_doc = {"parameters": [
            {"name": "authorization", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "API key (or the capgkey header)"},
        ]}
        get_doc = {"parameters": key_doc["parameters"] + [
            {"name": n, "in": "query", "required": n == "app_id", "schema": {"type": "string"}}
            for n in ("app_id", "device_id", "page", "limit", "cursor", "order", "updated_at", "customIdMode")
        ], "responses": {"200": success(DEVICE_GET_BODY, "one device, or a page of devices (profile documented "
                                                         "or live)")}}
        link_body = {"type": "object", "required": ["app_id", "device_id"], "properties": {
            "app_id": {"type": "string"}, "device_id": {"type": "string"},
            "channel": {"type": "string"}, "version_id": {"type": "string"}}}
        plugin_body = {"type": "object", "required": ["app_id", "device_id", "platform", "version_name"]}
        ok = {"200": success(OK_BODY, '{"status":"ok"}')}
        # the plugin endpoints are called by apps: no API key (the vendor's security is the /device API's)
        device: dict[str, Any] = {"security": []}
        return [
            Route("GET", "/device", self.handler("get"), "List devices or read one", pattern=DEVICE_PATTERN,
                  doc=get_doc, exact_first=True),
            Route("POST", "/device", self.handler("post"), "Link a device to a channel (or pin a version)",
                  pattern=DEVICE_PATTERN, doc={**key_doc, "requestBody": link_body, "responses": ok}, exact_first=True),
            Route("DELETE", "/device", self.handler("delete"), "Remove a device's overrides",
                  pattern=DEVICE_PATTERN, doc={**key_doc, "requestBody": link_body, "responses": ok}, exact_first=True),
            Route("POST", "/stats", self.stats, "Device-side stats: one event or a batch (no key)",
                  doc={**device, "requestBody": plugin_body, "responses": {"200": success(
                      STATS_BODY, '{"status":"ok"}, per-event results of a batch, or an error answered with 200')}}),
            Route("GET", "/stats", self.health, "Health check", doc={**device, "responses": ok}),
            Route("POST", "/updates", self.updates, "Device-side update check (no key)",
                  doc={**device, "requestBody": plugin_body, "responses": {"200": success(
                      UPDATE_BODY, "the bundle to run, or a refusal with its kind")}}),
            Route("GET", "/updates", self.health, "Health check", doc={**device, "responses": ok}),
            Route("POST", "/channel_self", self.channel_set, "Device assigns itself a channel (setChannel)",
                  doc={**device, "requestBody": plugin_body, "responses": {"200": success(
                      CHANNEL_SET_BODY, '{"status":"ok"} or an error answered with 200')}}),
            Route("PUT", "/channel_self", self.channel_get, "Device reads its channel (getChannel)",
                  doc={**device, "requestBody": plugin_body, "responses": {"200": success(
                      CHANNEL_GET_BODY, "the device's channel, or an error answered with 200")}}),
            Route("DELETE", "/channel_self", self.channel_unset, "Device removes its channel (query string)",
                  doc={**device, "responses": {"200": success(
                      CHANNEL_UNSET_BODY, '{"status":"ok"} or an error answered with 200')}}),
            Route("GET", "/channel_self", self.channel_list, "Channels the device may pick (listChannels)",
                  doc={**device, "responses": {"200": success(CHANNEL_LIST_BODY, "the compatible channels")}}),
        ]

    async def authenticate(self, request: web.Request, profile: str) -> dict[str, Any]:
        """The caller's key row; 401 in the profile's shape when missing or unknown. In ``open``
        auth mode an unknown key is created on first use with mode ``all`` and no app limit."""
        if profile == "live":
            return await self._live_key(request)
        raw = raw_api_key(request)
        if raw is None:
            raise errors.documented(401, errors.MISSING_API_KEY)
        return await self.vendor.tenant(request, storage.find_key, storage.create_open_key, raw,
                                        refusal=partial(errors.documented, 401, errors.INVALID_API_KEY))

    async def _live_key(self, request: web.Request) -> dict[str, Any]:
        """``utils/hono_middleware.ts middlewareKey``: the failed-auth limit per IP, the
        ``x-limited-key-id`` header's shape, the key (``capgkey ?? authorization``: an empty
        ``capgkey`` header wins), the per-key limit, then the sub-key, which becomes the identity."""
        limited = self.vendor.option("rate_limit")
        limiter, ip = self.vendor.ctx.limiter, (self.vendor.name, "failed_auth", request.remote or "")
        if limited:
            gate = limiter.hit(ip, FAILED_AUTH_LIMIT - 1, FAILED_AUTH_WINDOW, cost=0)
            if not gate.allowed:
                raise self._too_many(gate, {"reason": "too_many_failed_auth_attempts"})

        def failed(error: ApiError) -> ApiError:
            if limited:
                limiter.hit(ip, FAILED_AUTH_LIMIT, FAILED_AUTH_WINDOW)
            return error

        sub_id: int | None = None
        if "x-limited-key-id" in request.headers:
            header = request.headers["x-limited-key-id"]
            if not SUBKEY_ID.fullmatch(header) or int(header) > MAX_SAFE_INTEGER:
                raise failed(errors.live(401, "invalid_subkey", "Invalid x-limited-key-id"))
            sub_id = int(header)
        raw = request.headers["capgkey"] if "capgkey" in request.headers else request.headers.get("authorization")
        if not raw:
            raise failed(errors.live(401, "no_key_provided", "No key provided"))
        try:
            key = await self.vendor.tenant(request, storage.find_key, storage.create_open_key, raw,
                                           refusal=partial(errors.live, 401, "invalid_apikey", "Invalid apikey"))
        except ApiError as refused:
            raise failed(refused) from None
        if limited:
            decision = limiter.hit((self.vendor.name, "key", key["id"]), API_KEY_LIMIT_PER_MINUTE - 1, 60)
            if not decision.allowed:
                raise self._too_many(decision, {"reason": "api_key_rate_limit_exceeded", "apikey_id": key["id"]})
        if sub_id is None:
            return key
        sub = self.store.read(storage.find_key_by_id, sub_id)
        if sub is None or sub["user"] != key["user"]:
            raise errors.live(401, "invalid_subkey", "Invalid subkey")
        if sub["app_ids"] is None:
            raise errors.live(401, "invalid_subkey", "Invalid subkey, no limited apps or orgs")
        return sub

    @property
    def store(self):
        return self.vendor.ctx.store

    def profile(self) -> str:
        return self.vendor.option("profile")

    def handler(self, method: str):
        """The route handler for ``method``: ``documented_<method>`` or ``live_<method>``
        chosen per request, so a profile switch applies at once."""
        async def handle(request: web.Request) -> web.Response:
            return await getattr(self, f"{self.profile()}_{method}")(request)
        return handle

    # == documented profile ======================================================================

    async def _documented_key(self, request: web.Request, *, manage: bool) -> dict[str, Any]:
        key = await self.authenticate(request, "documented")
        allowed = can_manage(key) if manage else can_read(key, "documented")
        if not allowed:
            raise errors.documented(403, errors.INSUFFICIENT_PERMISSIONS)
        return key

    async def _documented_body(self, request: web.Request, *, query_fallback: bool) -> dict[str, Any]:
        data = await body_bytes(request, errors.documented(413, errors.PAYLOAD_TOO_LARGE))
        if query_fallback and not data.strip():
            return query_dict(request)
        parsed, value = try_json(data)
        if not parsed or not isinstance(value, dict):
            raise errors.documented(400, errors.INVALID_JSON)
        return value

    @staticmethod
    def _documented_string(params: dict[str, Any], name: str, missing: str) -> str:
        value = params.get(name)
        if value is None or value == "":
            raise errors.documented(400, missing)
        if not isinstance(value, str):
            raise errors.documented(400, f"Invalid {name}")
        return value

    def _documented_app(self, conn, key: dict[str, Any], app_id: str) -> None:
        """Scope then existence (run inside the read/write so the answer matches the state)."""
        if not key_covers_app(key, app_id):
            raise errors.documented(403, errors.APP_NOT_ALLOWED)
        if not storage.app_exists(conn, app_id):
            raise errors.documented(404, errors.APP_NOT_FOUND)

    async def documented_get(self, request: web.Request) -> web.Response:
        key = await self._documented_key(request, manage=False)
        params = query_dict(request)
        app_id = self._documented_string(params, "app_id", errors.MISSING_APP_ID)
        device_id = params.get("device_id") or None
        page_raw = params.get("page", "")
        page = bounded_int(page_raw, MAX_DOCUMENTED_PAGE)
        if device_id is None and page_raw != "" and page is None:
            raise errors.documented(400, errors.INVALID_PAGE)
        page = page or 0

        def read(conn) -> str:
            self._documented_app(conn, key, app_id)
            if device_id is not None:
                device = storage.documented_device_json(conn, app_id, device_id)
                if device is None:
                    raise errors.documented(404, errors.DEVICE_NOT_FOUND)
                return device
            devices = storage.documented_page_json(conn, app_id, PAGE_SIZE, min(page * PAGE_SIZE, MAX_OFFSET))
            return '{"data":[' + ",".join(devices) + "]}"

        return json_response(self.store.read(read))

    async def documented_post(self, request: web.Request) -> web.Response:
        key = await self._documented_key(request, manage=True)
        body = await self._documented_body(request, query_fallback=False)
        app_id = self._documented_string(body, "app_id", errors.MISSING_APP_ID)
        device_id = self._documented_string(body, "device_id", errors.MISSING_DEVICE_ID)
        channel = body.get("channel")
        version_name = body.get("version_id")
        for name, value in (("channel", channel), ("version_id", version_name)):
            if value is not None and not isinstance(value, str):
                raise errors.documented(400, f"Invalid {name}")
        if not channel and not version_name:
            raise errors.documented(400, errors.MISSING_LINK)

        def write(conn):
            self._documented_app(conn, key, app_id)
            if not storage.device_exists(conn, app_id, device_id):
                raise errors.documented(404, errors.DEVICE_NOT_FOUND)
            version = storage.version_by_name(conn, app_id, version_name) if version_name else None
            if version_name and version is None:
                raise errors.documented(404, errors.VERSION_NOT_FOUND)
            found = storage.channel_by_name(conn, app_id, channel) if channel else None
            if channel and found is None:
                raise errors.documented(404, errors.CHANNEL_NOT_FOUND)
            if version is not None:
                storage.set_version_pin(conn, app_id, device_id, version["id"])
            if found is not None:
                storage.set_channel_link(conn, app_id, device_id, found["id"])

        await self.store.write(write)
        return json_response(OK)

    async def documented_delete(self, request: web.Request) -> web.Response:
        key = await self._documented_key(request, manage=True)
        params = await self._documented_body(request, query_fallback=True)
        app_id = self._documented_string(params, "app_id", errors.MISSING_APP_ID)
        device_id = self._documented_string(params, "device_id", errors.MISSING_DEVICE_ID)

        def write(conn):
            self._documented_app(conn, key, app_id)
            if not storage.device_exists(conn, app_id, device_id):
                raise errors.documented(404, errors.DEVICE_NOT_FOUND)
            storage.clear_overrides(conn, app_id, device_id)

        await self.store.write(write)
        return json_response(OK)

    # == live profile ============================================================================

    async def _live_body(self, request: web.Request) -> tuple[bytes, bool, Any]:
        data = await body_bytes(request, errors.live(413, "payload_too_large", "Payload too large"))
        parsed, value = try_json(data)
        return data, parsed, value

    def _live_rate_limit(self, request: web.Request, op: str, params: Any) -> None:
        """The Cloudflare-only limits of ``/device``, when the ``rate_limit`` option is on: the
        per-app IP limit, then the per-operation limit. Runs after the body is read, before any
        field is checked (``public/device/index.ts handleDeviceOperation``)."""
        self._ip_limit(request, params)
        self._op_limit(op, params)

    def _ip_limit(self, request: web.Request, params: Any) -> None:
        """``channelSelfRateLimit.ts``: at most 1000 calls per minute per app and client IP."""
        if not self.vendor.option("rate_limit") or not isinstance(params, dict):
            return
        app_id = params.get("app_id")
        if not js_truthy(app_id):
            return
        decision = self.vendor.ctx.limiter.hit((self.vendor.name, "ip", str(app_id), request.remote or ""),
                                               IP_LIMIT_PER_MINUTE, 60)
        if not decision.allowed:
            raise self._too_many(decision, {"reason": "ip_rate_limit_exceeded", "app_id": app_id})

    def _op_limit(self, op: str, params: Any) -> None:
        """``channelSelfRateLimit.ts``: 5 calls per second per app+device+operation, and for a
        set, one identical channel per app+device per minute."""
        if not self.vendor.option("rate_limit") or not isinstance(params, dict):
            return
        app_id, device_id = params.get("app_id"), params.get("device_id")
        if not js_truthy(app_id) or not js_truthy(device_id):
            return
        limiter, name = self.vendor.ctx.limiter, self.vendor.name
        decision = limiter.hit((name, "op", str(app_id), str(device_id), op), OP_LIMIT_PER_SECOND, 1)
        if decision.allowed and op == "set" and js_truthy(params.get("channel")):
            decision = limiter.hit((name, "same_set", str(app_id), str(device_id), str(params["channel"])),
                                   1, SAME_SET_WINDOW)
        if not decision.allowed:
            raise self._too_many(decision, {"app_id": app_id, "device_id": device_id})

    def _too_many(self, decision, more_info: dict[str, Any]) -> errors.ApiError:
        retry_after = max(1, decision.reset_in)
        error = errors.live(429, "too_many_requests", "Too many requests", {
            **more_info, "rateLimitResetAt": decision.reset_at * 1000, "retryAfterSeconds": retry_after})
        error.headers.update({"Retry-After": str(retry_after), "X-RateLimit-Reset": str(decision.reset_at)})
        return error

    @staticmethod
    def _live_app_check(conn, key: dict[str, Any], app_id: str, *, manage: bool) -> None:
        """``checkPermission`` on the app: scope, role and existence all read as ``cannot_access_app``."""
        allowed = can_manage(key) if manage else can_read(key, "live")
        if not (allowed and key_covers_app(key, app_id) and storage.app_exists(conn, app_id)):
            raise errors.live(400, "cannot_access_app", "You can't access this app", {"app_id": app_id})

    @staticmethod
    def _live_invalid_app_id(app_id: Any) -> errors.ApiError:
        return errors.live(400, "invalid_app_id", "App ID must be a reverse domain string", {"app_id": app_id})

    @staticmethod
    def _not_a_json_object() -> errors.ApiError:
        """Our answer where the real service crashes (500) on a non-object body or a
        non-string id: the project never answers bad input with a 500."""
        return errors.live(400, "invalid_json_parse_body", "Invalid JSON body")

    @staticmethod
    def _stringify_params(value: dict[str, Any]) -> dict[str, Any]:
        """A JSON body used in place of the query string: scalars as the query would carry them."""
        out = {}
        for k, v in value.items():
            if isinstance(v, bool):
                out[k] = "true" if v else "false"
            elif isinstance(v, (int, float, str)):
                out[k] = str(v)
            else:
                out[k] = v
        return out

    async def live_get(self, request: web.Request) -> web.Response:
        key = await self.authenticate(request, "live")
        _, parsed, value = await self._live_body(request)
        params = self._stringify_params(value) if parsed and isinstance(value, dict) else query_dict(request)
        self._live_rate_limit(request, "get", params)
        app_id = params.get("app_id")
        if not js_truthy(app_id):
            raise errors.live(400, "missing_app_id", "Missing app_id", {"body": params})
        if not isinstance(app_id, str) or not is_reverse_domain(app_id):
            raise self._live_invalid_app_id(app_id)
        device_id = params.get("device_id")
        custom_only = js_truthy(params.get("customIdMode"))

        if js_truthy(device_id):
            def read_one(conn) -> str:
                self._live_app_check(conn, key, app_id, manage=False)
                device = storage.live_device_json(conn, app_id, str(device_id).lower(), custom_only)
                if device is None:
                    raise errors.live(404, "device_not_found", "Cannot find device", {"device_id": device_id})
                return device
            return json_response(self.store.read(read_one))

        def read_list(conn) -> str:
            self._live_app_check(conn, key, app_id, manage=False)
            limit = self._live_limit(params.get("limit"))
            order = self._live_order(params.get("order"))
            updated_after = self._live_updated_at(params.get("updated_at"))
            rows = storage.list_devices_by_cursor(
                conn, app_id, limit=limit, order=order, cursor=self._live_cursor(params.get("cursor")),
                updated_after=updated_after, custom_id_only=custom_only)
            page = rows[:limit]
            more = len(rows) > limit
            cursor = (',"nextCursor":' + dumps_bytes(f"{page[-1][1]}|{page[-1][2]}").decode()) if more else ""
            return '{"data":[' + ",".join(r[0] for r in page) + "]" + cursor + ',"hasMore":' + \
                ("true" if more else "false") + "}"

        return json_response(self.store.read(read_list))

    @staticmethod
    def _live_limit(raw: Any) -> int:
        """``get.ts``: ``Number(limit)`` unless absent; a finite integer >= 1 (``limit=`` is 0)."""
        if raw is None:
            return LIVE_DEFAULT_LIMIT
        number = js_number(raw) if isinstance(raw, str) else float("nan")
        if not math.isfinite(number) or number != int(number) or number < 1:
            raise errors.live(400, "invalid_limit", "limit must be a positive integer", {"limit": raw})
        return min(int(number), LIVE_MAX_LIMIT)

    @staticmethod
    def _live_order(raw: Any) -> str | None:
        if raw is None or raw == "":
            return None
        if raw not in ("asc", "desc"):
            raise errors.live(400, "invalid_order", "order must be asc or desc", {"order": raw})
        return raw

    @staticmethod
    def _live_updated_at(raw: Any) -> str | None:
        """``get.ts parseUpdatedAtFilter``: ``YYYY-MM-DDTHH:MM:SS[.f...]Z`` (any number of fraction
        digits, e.g. a database's microseconds; JavaScript keeps milliseconds) or
        ``YYYY-MM-DD HH:MM:SS`` (UTC), a real date."""
        if raw is None or raw == "":
            return None
        match = LIVE_UPDATED_AT.fullmatch(raw) if isinstance(raw, str) else None
        if match is not None:
            day, time_t, fraction, time_space = match.groups()
            try:
                stamp = datetime.strptime(f"{day} {time_t or time_space}", "%Y-%m-%d %H:%M:%S")
            except ValueError:
                stamp = None
            if stamp is not None:
                millis = (fraction or ".0")[1:4].ljust(3, "0")
                return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + millis + "Z"
        raise errors.live(400, "invalid_updated_at", "updated_at must be a valid ISO date", {"updated_at": raw})

    @staticmethod
    def _live_cursor(raw: Any) -> tuple[str, str] | None:
        """``<updated_at>|<device_id>``; anything else is ignored (first page)."""
        if not isinstance(raw, str) or "|" not in raw:
            return None
        stamp, _, device_id = raw.partition("|")
        return (stamp, device_id) if stamp and device_id else None

    async def live_post(self, request: web.Request) -> web.Response:
        key = await self.authenticate(request, "live")
        _, parsed, body = await self._live_body(request)
        if not parsed:
            raise errors.live(400, "invalid_json_parse_body", "Invalid JSON body", {"e": {}})
        self._live_rate_limit(request, "set", body)
        if not isinstance(body, dict):
            raise self._not_a_json_object()
        app_id, device_id = body.get("app_id"), body.get("device_id")
        if not js_truthy(app_id) or not js_truthy(device_id):
            raise errors.live(400, "missing_device_id_or_app_id", "Missing device_id or app_id", {"body": body})
        if not isinstance(app_id, str) or not isinstance(device_id, str):
            raise self._not_a_json_object()
        device_id = device_id.lower()
        if not is_reverse_domain(app_id):
            raise self._live_invalid_app_id(app_id)
        if js_truthy(body.get("version_id")):
            raise errors.live(400, "invalid_version_id", "Cannot set version to device, use channel instead")
        channel = body.get("channel")

        def write(conn):
            if not js_truthy(channel):
                self._live_app_check(conn, key, app_id, manage=True)
                return
            found = (storage.channel_by_name(conn, app_id, channel)
                     if isinstance(channel, str) and key_covers_app(key, app_id) else None)
            if found is None:
                raise errors.live(404, "channel_not_found", "Cannot find channel",
                                  {"dbError": errors.POSTGREST_NO_ROWS})
            if not can_manage(key):
                raise errors.live(400, "cannot_access_channel", "You can't manage forced devices for this channel",
                                  {"app_id": app_id, "channel": channel})
            if found["public"]:
                raise errors.live(400, "public_channel_override", "Cannot set channel override for public channel")
            storage.set_channel_link(conn, app_id, device_id, found["id"])

        await self.store.write(write)
        return json_response(OK)

    async def live_delete(self, request: web.Request) -> web.Response:
        key = await self.authenticate(request, "live")
        _, parsed, body = await self._live_body(request)
        if parsed:
            if not isinstance(body, dict):
                raise self._not_a_json_object()
            params = body
        else:
            params = query_dict(request)
        if not params:
            raise errors.live(400, "invalid_json_parse_body", "Invalid JSON body")
        self._live_rate_limit(request, "delete", params)
        app_id, device_id = params.get("app_id"), params.get("device_id")
        if not js_truthy(app_id):
            raise errors.live(400, "missing_app_id", "Missing app_id", {"body": params})
        if not js_truthy(device_id):
            raise errors.live(400, "missing_device_id", "Missing device_id", {"body": params})
        if not isinstance(app_id, str) or not isinstance(device_id, str):
            raise self._not_a_json_object()
        if not is_reverse_domain(app_id):
            raise self._live_invalid_app_id(app_id)

        def write(conn):
            self._live_app_check(conn, key, app_id, manage=True)
            storage.clear_overrides(conn, app_id, device_id.lower())

        await self.store.write(write)
        return json_response(OK)

    # == the plugin endpoints (Cap-go/capgo@4bc7d83f supabase/functions/_backend/plugin_runtime/) ==

    async def _plugin_json(self, request: web.Request) -> Any:
        """``hono.ts parseBody``: any JSON value, its ``device_id`` lower-cased."""
        data = await body_bytes(request, errors.live(413, "payload_too_large", "Payload too large"))
        parsed, body = try_json(data)
        if not parsed:
            raise errors.live(400, "invalid_json_parse_body", "Invalid JSON body", {"e": {}})
        lower_device_id(body)
        return body

    @staticmethod
    def _plugin_body(body: Any, schema: Callable[[dict[str, Any]], Issues], code: str, *,
                     require_device: bool = True) -> dict[str, Any]:
        """``plugin_parser.ts parsePluginBody``: emptiness, device_id, app_id, the native version,
        the defaults, then the schema; ``code`` is ``invalid_json_body`` (POST/PUT) or
        ``invalid_query_parameters`` (GET/DELETE)."""
        if not js_truthy(body) or (js_keys(body) == 0 and not (isinstance(body, dict) and
                                                               ("app_id" in body or "device_id" in body))):
            raise errors.live(400, code, "Cannot parse body", {"body": body})
        field = body.get if isinstance(body, dict) else (lambda _name: None)
        if require_device and not js_truthy(field("device_id")):
            raise errors.live(400, "missing_device_id", "Cannot find device_id", {"body": body})
        if not js_truthy(field("app_id")):
            raise errors.live(400, "missing_app_id", "Cannot find app_id", {"body": body})
        assert isinstance(body, dict)
        try:
            normalise_plugin_body(body)
        except ValueError as bad:
            raise errors.semver_error(str(bad.args[0])) from None
        issues = schema(body)
        if issues:
            raise errors.schema_error(code, issues)
        return body

    async def _hosted_app(self, request: web.Request, body: dict[str, Any],
                          plan_actions: list[tuple[str, str | None]]) -> dict[str, Any]:
        """``appStatus.ts``: an app the service does not host is "on-premise" (429, nothing
        recorded; in ``--auth open`` mode it is created instead); an app whose plan is not valid
        answers the same 429 after recording ``plan_actions`` (``needPlanUpgrade``) and the device."""
        try:
            app = await self.vendor.tenant(request, storage.find_app, storage.create_app, body["app_id"],
                                           refusal=errors.ON_PREMISE)
        except ApiError:
            raise errors.ON_PREMISE from None
        if not app["plan_valid"]:
            if js_truthy(body.get("device_id")):
                await self.store.write(self._record, body, plan_actions)
            raise errors.ON_PREMISE
        return app

    @staticmethod
    def _custom_id_blocked(app: dict[str, Any] | None, body: dict[str, Any]) -> bool:
        custom_id = body.get("custom_id")
        return (app is not None and not app["allow_device_custom_id"] and isinstance(custom_id, str)
                and custom_id.strip() != "")

    @staticmethod
    def device_report(body: dict[str, Any]) -> dict[str, Any]:
        """``plugin_parser.ts makeDevice``: the device columns a check-in sets."""
        custom_id = body.get("custom_id")
        install_source = body.get("install_source")
        return {
            "platform": body.get("platform"),
            "plugin_version": body.get("plugin_version"),
            "version_build": body.get("version_build"),
            "os_version": body.get("version_os"),
            "version_name": body.get("version_name"),
            "is_emulator": body.get("is_emulator"),
            "is_prod": body.get("is_prod"),
            "custom_id": custom_id.strip() or None if isinstance(custom_id, str) else None,
            "default_channel": body.get("defaultChannel"),
            "key_id": body.get("key_id"),
            "install_source": install_source.strip().lower() or None if isinstance(install_source, str) else None,
        }

    def _record(self, conn, body: dict[str, Any], actions: list[tuple[str, str | None]], *,
                device: bool = True, version_name: str | None = None, metadata: dict[str, str] | None = None
                ) -> None:
        """``plugin_stats.ts sendStatsAndDevice``: the stats rows, then the device row (unless the
        action is a failure, whose version is not the one the device runs)."""
        now = self.vendor.ctx.clock.iso()
        app_id, device_id = body["app_id"], body["device_id"]
        for action, stat_version in actions:
            storage.record_stat(conn, app_id, device_id, action,
                                stat_version if stat_version is not None else body.get("version_name"),
                                metadata if action == body.get("action") else None, now)
        if device:
            # a device that checks in is evidently reachable: an invalidated token is forgotten
            deliveries.forget_dead_token(conn, vendor=self.vendor.name, tenant=app_id, device_id=device_id)
            report = self.device_report(body)
            app = storage.find_app(conn, app_id)
            if app is not None and not app["allow_device_custom_id"]:
                report["custom_id"] = None  # makeDevice(body, allowCustomID=false): left as it was
            if version_name is not None:
                report["version_name"] = version_name
            storage.upsert_device(conn, app_id, device_id, report, now)

    # -- health -------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        """``app.get('/')`` of ``plugins/updates.ts`` and ``plugins/stats.ts``."""
        return json_response(OK)

    # -- POST /stats ----------------------------------------------------------------------------

    async def stats(self, request: web.Request) -> web.Response:
        """``plugins/stats.ts``: one event, or a JSON array of events (what plugins 8.x send)."""
        body = await self._plugin_json(request)
        batch = isinstance(body, list)
        events = body if batch else [body]
        if batch and not events:
            return json_response({"status": "ok", "results": []})
        first_app = events[0].get("app_id") if isinstance(events[0], dict) else None
        if not js_truthy(first_app) or not isinstance(first_app, str):
            raise errors.live(400, "invalid_app_id", "App ID is required")
        if not is_reverse_domain(first_app):
            raise errors.live(400, "invalid_app_id", "App ID must be a reverse domain string")
        for event in events[1:]:
            app_id = event.get("app_id") if isinstance(event, dict) else None
            if not js_truthy(app_id) or not isinstance(app_id, str):
                return json_response({"error": "invalid_app_id", "message": "App ID is required"})
            if not is_reverse_domain(app_id):
                return json_response({"error": "invalid_app_id", "message": "App ID must be a reverse domain string"})
            if app_id != first_app:
                return json_response({"error": "mixed_app_ids",
                                      "message": "All events in a batch must have the same app_id"})
        if not batch:
            parsed = self._plugin_body(events[0], stats_issues, "invalid_json_body")
            await self._hosted_app(request, parsed, self._plan_actions(parsed))
            outcome = await self.vendor.ctx.store.write(self._stat, parsed)
            if outcome is None:
                return json_response(OK)
            if outcome is MISSING_ACTION:
                raise errors.schema_error("invalid_json_body", [issue("Action is required", ["action"])])
            return json_response({"error": outcome["error"], "message": outcome["message"], **outcome["moreInfo"]})
        items: list[Any] = []
        for event in events:
            try:
                items.append(self._plugin_body(event, stats_issues, "invalid_json_body"))
            except ApiError as refused:
                items.append(refused)
        known = True
        try:
            # the first valid event meets the app's status; an invalid plan refuses the whole batch
            first = next((item for item in items if not isinstance(item, ApiError)), {"app_id": first_app})
            await self._hosted_app(request, first, self._plan_actions(first))
        except ApiError:
            app = self.store.read(storage.find_app, first_app)
            if app is not None:  # the plan: the whole batch is refused
                raise
            known = False

        def write(conn):
            results = []
            for i, item in enumerate(items):
                if isinstance(item, ApiError):
                    results.append({"status": "error", "error": item.body["error"], "message": item.body["message"],
                                    "index": i})
                    continue
                if not known:
                    results.append({"status": "error", **errors.ON_PREMISE.body, "index": i})
                    continue
                outcome = self._stat(conn, item)
                if outcome is None:
                    results.append({"status": "ok", "index": i})
                elif outcome is MISSING_ACTION:
                    results.append({"status": "error", "error": "processing_error",
                                    "message": "Cannot read properties of undefined (reading 'endsWith')", "index": i})
                else:
                    results.append({"status": "error", **outcome, "index": i})
                    results[-1]["moreInfo"] = results[-1].pop("moreInfo")
            return results

        return json_response({"status": "ok", "results": await self.vendor.ctx.store.write(write)})

    def _plan_actions(self, body: dict[str, Any]) -> list[tuple[str, str | None]]:
        """What an invalid plan records for a /stats event (``needPlanUpgrade``, and
        ``customIdBlocked`` when the app refuses custom ids)."""
        app = self.store.read(storage.find_app, body["app_id"]) if isinstance(body.get("app_id"), str) else None
        actions: list[tuple[str, str | None]] = [("needPlanUpgrade", None)]
        if self._custom_id_blocked(app, body):
            actions.append(("customIdBlocked", None))
        return actions

    def _stat(self, conn, body: dict[str, Any]) -> Any:
        """``stats.ts post`` for a known app: None when recorded, MISSING_ACTION where the real
        service throws, else the error (``version_not_found``) with its moreInfo."""
        action, version_name = body.get("action"), body["version_name"]
        blocked = self._custom_id_blocked(storage.find_app(conn, body["app_id"]), body)
        if action == "download_fail" and not should_record_download_fail(body.get("plugin_version")):
            if blocked:
                self._record(conn, body, [("customIdBlocked", None)], device=False)
            return None
        colon = version_name.find(":")
        version_only = version_name[:colon] if colon > 0 else version_name
        if version_only not in INTERNAL_BUNDLES and storage.version_by_name(conn, body["app_id"], version_only) is None:
            return {"error": "version_not_found", "message": "Version not found",
                    "moreInfo": {"app_id": body["app_id"], "version_name": version_name}}
        if not isinstance(action, str):
            return MISSING_ACTION
        actions: list[tuple[str, str | None]] = [("customIdBlocked", None)] if blocked else []
        old = body.get("old_version_name")
        if action == "set" and body["is_prod"] and not body["is_emulator"] and js_truthy(old):
            old_version = storage.version_by_name(conn, body["app_id"], str(old))
            current = storage.version_by_name(conn, body["app_id"], version_only)
            if old_version is not None and (current is None or old_version["id"] != current["id"]):
                actions.append(("uninstall", old))
        actions.append((action, None))
        self._record(conn, body, actions, device=not action.endswith("_fail"), metadata=body.get("metadata"))
        return None

    # -- POST /updates --------------------------------------------------------------------------

    async def updates(self, request: web.Request) -> web.Response:
        """``plugins/updates.ts`` -> ``utils/update.ts updateWithPG``: always HTTP 200 once the
        request is valid and the app known; a refusal carries ``error``, ``message`` and ``kind``."""
        body = self._plugin_body(await self._plugin_json(request), update_issues, "invalid_json_body")
        await self._hosted_app(request, body, [("needPlanUpgrade", None)])
        return json_response(await self.vendor.ctx.store.write(self.decide, body))

    def decide(self, conn, body: dict[str, Any]) -> dict[str, Any]:
        """The answer, and its one row in the delivery ledger: ``delivered`` for an offered bundle
        (``matched_by`` the channel), ``failed`` with the refusal's code, message and kind
        otherwise. The publish id is ``<app_id>:<bundle the channel serves>`` (``none`` when no
        bundle was resolved), so "did device X get 1.1.0?" is one ledger lookup."""
        seen: dict[str, Any] = {"bundle": None, "channel": None, "pin": None}
        answer = self._decide(conn, body, seen)
        if seen["pin"] is not None:
            matched: dict[str, Any] | None = {"version_pin": seen["pin"]["name"]}
        else:
            matched = None if seen["channel"] is None else {"channel": seen["channel"]}
        if "error" in answer:
            status = "failed"
            reason = f"{answer['message']} ({answer['error']}, kind {answer['kind']})"
        else:
            status = "delivered"
            reason = f"offered {answer['version']} from " + (
                f"channel {seen['channel']}" if seen["pin"] is None else "the device's version pin")
        deliveries.record(conn, vendor=self.vendor.name, tenant=body["app_id"],
                          publish_id=f"{body['app_id']}:{seen['bundle'] or 'none'}",
                          deliveries=[deliveries.Delivery(body["device_id"], body["platform"], status, reason,
                                                          matched, answer)],
                          now=self.vendor.ctx.clock.iso())
        return answer

    def _decide(self, conn, body: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
        app_id, device_id, plugin_version = body["app_id"], body["device_id"], body["plugin_version"]
        current = body["version_name"]
        if std_semver(plugin_version) is not None and std_semver(plugin_version)[0] == 4:  # type: ignore[index]
            self._record(conn, body, [("backend_refusal", None)])
            return Refusal("unsupported_plugin_version", f"Plugin version {plugin_version} (v4) is no longer "
                           "supported. Please upgrade to v5.10.0 or later.", None).body
        overrides = storage.overrides_of(conn, app_id, device_id)
        pin, channel = overrides["pin"], overrides["channel"]
        overridden = channel is not None
        if channel is None:
            channel = storage.default_channel_for(conn, app_id, body["platform"], body.get("defaultChannel"))
        if pin is None and channel is None:
            self._record(conn, body, [("NoChannelOrOverride", None)])
            return Refusal("no_channel", "no default channel or override", None).body
        seen["channel"], seen["pin"] = None if channel is None else channel["name"], pin
        if pin is not None:
            bundle = pin
        else:
            assert channel is not None
            bundle = storage.version_by_id(conn, channel["version_id"]) if channel["version_id"] else None
        name = "builtin" if bundle is None else bundle["name"]
        seen["bundle"] = name
        device_key, bundle_key = body.get("key_id"), None if bundle is None else bundle["key_id"]
        if (js_truthy(device_key) and js_truthy(bundle_key) and device_key != bundle_key
                and plugin_at_least(plugin_version, (8, 40, 8))):
            self._record(conn, body, [("keyMismatch", name)])
            return Refusal("key_id_mismatch", KEY_MISMATCH, None, deviceKeyId=device_key, bundleKeyId=bundle_key).body
        if current == name:
            self._record(conn, body, [("noNew", name)])
            return Refusal("no_new_version_available", "No new version available", None).body
        if pin is None:
            assert channel is not None
            refusal = channel_refusal(channel, name, body, overridden=overridden,
                                      min_update_version=None if bundle is None else bundle["min_update_version"])
            if refusal is not None:
                self._record(conn, body, [(refusal.stat or "", name)])
                return refusal.body
        if name == "builtin":
            if plugin_at_least(plugin_version, (6, 2, 0)):
                return Refusal("already_on_builtin", "Already on builtin", None, version="builtin").body
            return Refusal("revert_to_builtin_plugin_version_too_old",
                           "revert_to_builtin used, but plugin version is too old", None).body
        assert bundle is not None
        url = bundle["url"] or DEFAULT_BUNDLE_URL.format(app_id=app_id, name=name)
        if not url.startswith(("http://", "https://")):
            self._record(conn, body, [("cannotGetBundle", name)])
            return Refusal("no_bundle_url", "Cannot get bundle url", None).body
        self._record(conn, body, [("get", name)], version_name=name)
        return {"version": name, "url": url, "session_key": bundle["session_key"] or "",
                "checksum": bundle["checksum"]}

    # -- /channel_self (plugins/channel_self.ts) --------------------------------------------------

    async def _channel_self_body(self, request: web.Request, op: str) -> dict[str, Any]:
        """The common steps: body (POST/PUT: JSON; GET/DELETE: the query string), schema, the
        per-app IP limit, POST's ``missing_channel``, the per-device limits, the app."""
        if op in ("set", "get"):
            raw = await self._plugin_json(request)
            body = self._plugin_body(raw, channel_self_issues, "invalid_json_body")
        else:
            raw = query_to_body(query_dict(request))
            body = self._plugin_body(raw, channel_list_issues if op == "list" else channel_self_issues,
                                     "invalid_query_parameters", require_device=op != "list")
        self._ip_limit(request, body)
        if op == "set" and not js_truthy(body.get("channel")):
            raise ApiError(200, {"error": "missing_channel", "message": "Cannot find channel in body"})
        self._op_limit(op, body)
        await self._hosted_app(request, body, [("needPlanUpgrade", None)])
        return body

    async def channel_set(self, request: web.Request) -> web.Response:
        """``post()``: the plugin's ``setChannel``."""
        body = await self._channel_self_body(request, "set")
        local = is_local_channel_plugin(body.get("plugin_version"))

        def write(conn):
            app_id, device_id, name = body["app_id"], body["device_id"], body["channel"]
            existing = None if local else storage.overrides_of(conn, app_id, device_id)["channel"]
            if existing is not None and not existing["allow_device_self_set"]:
                return error200("cannot_override", "Cannot change device override current channel don't allow it")
            channel = storage.channel_by_name(conn, app_id, name) if isinstance(name, str) else None
            if channel is None:
                return error200("channel_not_found", "Cannot find channel", channel=name, app_id=app_id)
            if not channel["allow_device_self_set"]:
                if channel["public"]:
                    return error200("public_channel_self_set_not_allowed",
                                    "This channel is public and does not allow device self-assignment. Unset the "
                                    "channel and the device will automatically use the public channel.",
                                    channel=name, app_id=app_id)
                return error200("channel_self_set_not_allowed", "This channel does not allow devices to self "
                                "associate", channel=name, app_id=app_id)
            if local:
                self._record(conn, body, [("setChannel", None)])
                return {"status": "ok", "allowSet": True}
            main = next((c for c in storage.public_channels(conn, app_id) if c[body["platform"]]), None)
            if main is not None and main["name"] == name:
                storage.clear_channel_link(conn, app_id, device_id)
            elif existing is not None and existing["id"] == channel["id"]:
                return OK
            else:
                storage.set_channel_link(conn, app_id, device_id, channel["id"])
            self._record(conn, body, [("setChannel", None)])
            return OK

        return json_response(await self.store.write(write))

    async def channel_get(self, request: web.Request) -> web.Response:
        """``put()``: the plugin's ``getChannel``."""
        body = await self._channel_self_body(request, "get")
        local = is_local_channel_plugin(body.get("plugin_version"))

        def write(conn):
            app_id, device_id = body["app_id"], body["device_id"]
            if local:
                self._record(conn, body, [("getChannel", None)])
                if js_truthy(body.get("channel")):
                    return {"channel": body["channel"], "status": "override", "allowSet": True}
                return {"channel": body.get("defaultChannel") or "production", "status": "default"}
            override = storage.overrides_of(conn, app_id, device_id)["channel"]
            if override is not None:
                self._record(conn, body, [("getChannel", None)])
                return {"channel": override["name"], "status": "override",
                        "allowSet": bool(override["allow_device_self_set"])}
            default = body.get("defaultChannel")
            if js_truthy(default):
                found = storage.channel_by_name(conn, app_id, str(default))
            else:
                found = next((c for c in storage.public_channels(conn, app_id) if c[body["platform"]]), None)
            if found is None:
                return error200("channel_not_found", "Cannot find channel")
            self._record(conn, body, [("getChannel", None)])
            return {"channel": found["name"], "status": "default"}

        return json_response(await self.store.write(write))

    async def channel_unset(self, request: web.Request) -> web.Response:
        """``deleteOverride()`` (query string): the plugin 8.x never calls it (it unsets locally)."""
        body = await self._channel_self_body(request, "delete")
        local = is_local_channel_plugin(body.get("plugin_version"))

        def write(conn):
            if local:
                self._record(conn, body, [("setChannel", None)])
                return OK
            override = storage.overrides_of(conn, body["app_id"], body["device_id"])["channel"]
            if override is None or not override["allow_device_self_set"]:
                return error200("cannot_override", "Cannot change device override current channel don't allow it")
            storage.clear_channel_link(conn, body["app_id"], body["device_id"])
            return OK

        return json_response(await self.store.write(write))

    async def channel_list(self, request: web.Request) -> web.Response:
        """``listCompatibleChannels()`` (query string): the plugin's ``listChannels``."""
        body = await self._channel_self_body(request, "list")
        rows = self.store.read(storage.compatible_channels, body["app_id"], body["platform"], body["is_emulator"],
                               body["is_prod"])
        return json_response([{"id": r["id"], "name": r["name"], "public": bool(r["public"]),
                               "allow_self_set": bool(r["allow_device_self_set"])} for r in rows])


# == the delivery ledger's hooks (emulator.vendor.Vendor.explain_miss / invalidate_token) ===============

def explain_miss(conn, app_id: str, publish_id: str, device_id: str) -> str | None:
    """Why a device of the app has no ledger row for ``<app_id>:<bundle>``: it follows a channel that
    serves another bundle, or it has not asked for updates since. None for an unknown device."""
    device = storage.get_device(conn, app_id, device_id)
    if device is None:
        return None
    bundle = publish_id.partition(":")[2] if publish_id.startswith(f"{app_id}:") else publish_id
    linked = storage.overrides_of(conn, app_id, device_id)["channel"]
    channel = linked or (storage.default_channel_for(conn, app_id, device["platform"], device["default_channel"])
                         if device["platform"] else None)
    if channel is None:
        return (f"device {device_id} has no channel: no link, and no public or self-assignable channel for "
                f"its platform ({device['platform']}) and defaultChannel ({device['default_channel']})")
    serves = "builtin"
    if channel["version_id"] is not None:
        row = storage.version_by_id(conn, channel["version_id"])
        serves = "builtin" if row is None else row["name"]
    how = "is linked to" if linked is not None else "follows"
    if serves != bundle:
        return f"device {device_id} {how} channel {channel['name']}, which serves {serves}, not {bundle}"
    return (f"device {device_id} {how} channel {channel['name']} but has not checked for updates since "
            f"{bundle} was offered (last check-in {device['updated_at']})")


def invalidate_token(conn, app_id: str, device_id: str) -> bool:
    """Capgo devices pull their updates (no push token): an invalidation only needs the device to
    exist; the device's next check-in forgets it."""
    return storage.device_exists(conn, app_id, device_id)
