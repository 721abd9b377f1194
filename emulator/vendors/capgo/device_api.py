"""The public ``/device`` API in its two forms.

``documented``: the seed (page-based list, ``{"error", "status": "KO"}``, key modes, version
pins). ``live``: today's service (cursor list, ``{error, message, moreInfo}``, the real check
order, no version pins, no links onto public channels). Both work on the same tables.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...errors import json_response
from ...httputil import bounded_int
from . import errors, storage
from .request_parsing import (authenticate, body_bytes, can_manage, can_read, is_reverse_domain, js_truthy,
                        key_covers_app, query_dict, try_json)

if TYPE_CHECKING:  # pragma: no cover
    from . import Capgo

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
LIVE_UPDATED_AT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?Z| (\d{2}:\d{2}:\d{2}))")


# -- device objects -----------------------------------------------------------------------------

def documented_device(row: dict[str, Any]) -> dict[str, Any]:
    """The seed's ``Device``, plus ``channel`` / ``version_override`` when overridden."""
    out = {
        "device_id": row["device_id"],
        "custom_id": row["custom_id"],
        "version": {"id": row["bundle_id"], "name": row["version_name"]},
        "app_id": row["app_id"],
        "platform": row["platform"],
        "plugin_version": row["plugin_version"],
        "os_version": row["os_version"],
        "version_build": row["version_build"],
        "is_prod": bool(row["is_prod"]),
        "is_emulator": bool(row["is_emulator"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if row["channel_name"] is not None:
        out["channel"] = row["channel_name"]
    if row["pinned_name"] is not None:
        out["version_override"] = row["pinned_name"]
    return out


def live_device(row: dict[str, Any], *, in_list: bool) -> dict[str, Any]:
    """``get.ts filterDeviceKeys`` key order; list rows carry no ``install_source`` /
    ``country_code`` (the Cloudflare list query does not read them)."""
    out = {
        "updated_at": row["updated_at"],
        "device_id": row["device_id"],
        "custom_id": row["custom_id"],
        "is_prod": bool(row["is_prod"]),
        "is_emulator": bool(row["is_emulator"]),
        "install_source": None if in_list else row["install_source"],
        "version_name": row["version_name"],
        "version": row["bundle_id"],
        "app_id": row["app_id"],
        "platform": row["platform"],
        "plugin_version": row["plugin_version"],
        "os_version": row["os_version"],
        "version_build": row["version_build"],
        "key_id": row["key_id"],
        "country_code": None if in_list else row["country_code"],
    }
    if row["channel_name"] is not None:
        out["channel"] = row["channel_name"]
    return out


class DeviceApi:
    """Handlers for ``GET/POST/DELETE /device``; each dispatches on the ``profile`` option."""

    def __init__(self, vendor: Capgo) -> None:
        self.vendor = vendor

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
        key = await authenticate(self.vendor, request, "documented")
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

        def read(conn):
            self._documented_app(conn, key, app_id)
            if device_id is not None:
                row = storage.get_device(conn, app_id, device_id)
                if row is None:
                    raise errors.documented(404, errors.DEVICE_NOT_FOUND)
                return documented_device(row)
            rows = storage.list_devices_by_page(conn, app_id, PAGE_SIZE, min(page * PAGE_SIZE, MAX_OFFSET))
            return {"data": [documented_device(r) for r in rows]}

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
        """The Cloudflare-only limits, when the ``rate_limit`` option is on: the per-app IP
        limit, then the per-operation limit (and, for a POST with a channel, one identical
        link per minute). Runs after the body is read, before any field is checked."""
        if not self.vendor.option("rate_limit") or not isinstance(params, dict):
            return
        app_id, device_id = params.get("app_id"), params.get("device_id")
        if not js_truthy(app_id):
            return
        limiter, name = self.vendor.ctx.limiter, self.vendor.name
        decision = limiter.hit((name, "ip", str(app_id), request.remote or ""), IP_LIMIT_PER_MINUTE, 60)
        if not decision.allowed:
            raise self._too_many(decision, {"reason": "ip_rate_limit_exceeded", "app_id": app_id})
        if not js_truthy(device_id):
            return
        decision = limiter.hit((name, "op", str(app_id), str(device_id), op), OP_LIMIT_PER_SECOND, 1)
        if decision.allowed and op == "set" and js_truthy(params.get("channel")):
            decision = limiter.hit((name, "same_set", str(app_id), str(device_id), str(params["channel"])),
                                   1, SAME_SET_WINDOW)
        if not decision.allowed:
            raise self._too_many(decision, {"app_id": app_id, "device_id": device_id})

    def _too_many(self, decision, more_info: dict[str, Any]) -> errors.ApiError:
        retry_after = decision.reset_after
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
        key = await authenticate(self.vendor, request, "live")
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
            def read_one(conn):
                self._live_app_check(conn, key, app_id, manage=False)
                row = storage.get_device(conn, app_id, str(device_id).lower())
                if row is None or (custom_only and not row["custom_id"]):
                    raise errors.live(404, "device_not_found", "Cannot find device", {"device_id": device_id})
                return live_device(row, in_list=False)
            return json_response(self.store.read(read_one))

        def read_list(conn):
            self._live_app_check(conn, key, app_id, manage=False)
            limit = self._live_limit(params.get("limit"))
            order = self._live_order(params.get("order"))
            updated_after = self._live_updated_at(params.get("updated_at"))
            rows = storage.list_devices_by_cursor(
                conn, app_id, limit=limit, order=order, cursor=self._live_cursor(params.get("cursor")),
                updated_after=updated_after, custom_id_only=custom_only)
            page = rows[:limit]
            out: dict[str, Any] = {"data": [live_device(r, in_list=True) for r in page]}
            if len(rows) > limit:
                out["nextCursor"] = f"{page[-1]['updated_at']}|{page[-1]['device_id']}"
            out["hasMore"] = len(rows) > limit
            return out

        return json_response(self.store.read(read_list))

    @staticmethod
    def _live_limit(raw: Any) -> int:
        if raw is None or raw == "":
            return LIVE_DEFAULT_LIMIT
        limit = bounded_int(raw, LIVE_MAX_LIMIT) if isinstance(raw, str) else None
        if limit is None or limit < 1:
            raise errors.live(400, "invalid_limit", "Invalid limit", {"limit": raw})
        return limit

    @staticmethod
    def _live_order(raw: Any) -> str | None:
        if raw is None or raw == "":
            return None
        if raw not in ("asc", "desc"):
            raise errors.live(400, "invalid_order", "Invalid order", {"order": raw})
        return raw

    @staticmethod
    def _live_updated_at(raw: Any) -> str | None:
        """``YYYY-MM-DDTHH:MM:SS[.fff]Z`` or ``YYYY-MM-DD HH:MM:SS`` (UTC), a real date."""
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
                millis = (fraction or ".0")[1:].ljust(3, "0")
                return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + millis + "Z"
        raise errors.live(400, "invalid_updated_at", "Invalid updated_at", {"updated_at": raw})

    @staticmethod
    def _live_cursor(raw: Any) -> tuple[str, str] | None:
        """``<updated_at>|<device_id>``; anything else is ignored (first page)."""
        if not isinstance(raw, str) or "|" not in raw:
            return None
        stamp, _, device_id = raw.partition("|")
        return (stamp, device_id) if stamp and device_id else None

    async def live_post(self, request: web.Request) -> web.Response:
        key = await authenticate(self.vendor, request, "live")
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
        key = await authenticate(self.vendor, request, "live")
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
