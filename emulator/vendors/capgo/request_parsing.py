"""Reading Capgo requests: API keys, JSON bodies and fields, with each profile's errors."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...httputil import BodyError, parse_json, read_body
from . import errors, storage

if TYPE_CHECKING:  # pragma: no cover
    from . import Capgo

#: the largest body the /device and plugin routes read (the real workers' limit is ~100 MB;
#: nothing legitimate comes near this)
BODY_LIMIT = 1024 * 1024

#: ``utils.ts isValidAppId`` / ``reverseDomainRegex``
REVERSE_DOMAIN = re.compile(r"[a-z0-9]+(\.[\w-]+)+", re.IGNORECASE)

READ_MODES = {"documented": {"all", "write", "read"}, "live": {"all", "write", "read", "upload"}}
#: pre-2026 modes that may POST/DELETE; live maps them to roles with the same split (§1 matrix)
MANAGE_MODES = {"all", "write"}


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness, for the live service's ``if (body.x)`` checks."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def is_reverse_domain(app_id: str) -> bool:
    return REVERSE_DOMAIN.fullmatch(app_id) is not None


def raw_api_key(request: web.Request) -> str | None:
    """``capgkey`` first, else ``authorization``, verbatim (a ``Bearer`` prefix is kept and fails)."""
    return request.headers.get("capgkey") or request.headers.get("authorization") or None


async def authenticate(vendor: Capgo, request: web.Request, profile: str) -> dict[str, Any]:
    """The caller's key row; 401 in the profile's shape when missing or unknown. In ``open``
    auth mode an unknown key is created on first use with mode ``all`` and no app limit."""
    raw = raw_api_key(request)
    if raw is None:
        raise (errors.live(401, "no_key_provided", "No key provided") if profile == "live"
               else errors.documented(401, errors.MISSING_API_KEY))
    key = vendor.ctx.store.read(storage.find_key, raw)
    if key is None:
        if vendor.ctx.options.auth_open:
            return await vendor.ctx.store.write(storage.create_key, raw, "all")
        raise (errors.live(401, "invalid_apikey", "Invalid apikey") if profile == "live"
               else errors.documented(401, errors.INVALID_API_KEY))
    return key


def key_covers_app(key: dict[str, Any], app_id: str) -> bool:
    return key["app_ids"] is None or app_id in key["app_ids"]


def can_read(key: dict[str, Any], profile: str) -> bool:
    return key["mode"] in READ_MODES[profile]


def can_manage(key: dict[str, Any]) -> bool:
    return key["mode"] in MANAGE_MODES


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


def query_dict(request: web.Request) -> dict[str, str]:
    """The query string as a plain object (first value of a repeated name wins)."""
    return {k: request.query[k] for k in request.query.keys()}
