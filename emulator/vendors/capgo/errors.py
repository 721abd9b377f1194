"""Capgo's error bodies, one builder per shape.

- documented profile (the seed): ``{"error": "<message>", "status": "KO"}``;
- live profile and the device-side plugin endpoints (today's service, ``on_error.ts``):
  ``{"error": "<code>", "message": "<text>", "moreInfo": {...}}``.
"""
from __future__ import annotations

from typing import Any

from ...errors import ApiError

# documented-profile messages (the seed's four, then ours in the same style)
DEVICE_NOT_FOUND = "Device not found"
VERSION_NOT_FOUND = "Version not found"
CHANNEL_NOT_FOUND = "Channel not found"
INSUFFICIENT_PERMISSIONS = "Insufficient permissions to manage devices"
MISSING_API_KEY = "Missing API key"
INVALID_API_KEY = "Invalid API key"
APP_NOT_FOUND = "App not found"
APP_NOT_ALLOWED = "You can't access this app"
MISSING_APP_ID = "Missing app_id"
MISSING_DEVICE_ID = "Missing device_id"
MISSING_LINK = "Missing channel or version_id"
INVALID_JSON = "Invalid JSON body"
INVALID_PAGE = "Invalid page"
PAYLOAD_TOO_LARGE = "Payload too large"

# generic statuses (crashes, fault injection, unknown routes) per shape
GENERIC_DOCUMENTED = {
    400: "Bad request", 401: INVALID_API_KEY, 403: INSUFFICIENT_PERMISSIONS, 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: PAYLOAD_TOO_LARGE,
    415: "Unsupported media type", 429: "Too many requests", 500: "Unknown error",
    502: "Bad gateway", 503: "Service unavailable",
}
GENERIC_LIVE = {
    400: ("bad_request", "Bad request"), 401: ("invalid_apikey", "Invalid apikey"),
    403: ("forbidden", "Forbidden"), 404: ("not_found", "Not found"),
    405: ("not_found", "Not found"), 409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("too_many_requests", "Too many requests"), 500: ("unknown_error", "Unknown error"),
    502: ("bad_gateway", "Bad gateway"), 503: ("service_unavailable", "Service unavailable"),
}

#: the PostgREST error the real service embeds when a ``.single()`` read finds no row (UNCONFIRMED)
POSTGREST_NO_ROWS = {
    "code": "PGRST116",
    "details": "The result contains 0 rows",
    "hint": None,
    "message": "JSON object requested, multiple (or no) rows returned",
}


def documented(status: int, message: str) -> ApiError:
    """An error in the seed's ``{"error", "status": "KO"}`` shape."""
    return ApiError(status, {"error": message, "status": "KO"})


def live(status: int, code: str, message: str, more_info: dict[str, Any] | None = None) -> ApiError:
    """An error in today's ``{"error", "message", "moreInfo"}`` shape."""
    return ApiError(status, {"error": code, "message": message, "moreInfo": more_info or {}})


def generic(profile: str, status: int) -> ApiError:
    """Any status in the profile's shape (used for crashes and injected faults)."""
    if profile == "live":
        code, message = GENERIC_LIVE.get(status, ("unknown_error", "Unknown error"))
        return live(status, code, message)
    return documented(status, GENERIC_DOCUMENTED.get(status, "Unknown error"))


def not_found_route(profile: str) -> ApiError:
    """hono's 404 for an unknown path or method: no ``moreInfo`` in the live service."""
    if profile == "live":
        return ApiError(404, {"error": "not_found", "message": "Not found"})
    return documented(404, "Not found")


def schema_error(code: str, issues: list[dict[str, Any]]) -> ApiError:
    """``parsePluginBody``: a plugin request that fails its schema (the real body serialises a
    ``SchemaError``, whose message is not enumerable)."""
    return live(400, code, "Cannot parse body",
                {"parseResult": {"success": False, "error": {"issues": issues, "name": "SchemaError"}}})


def semver_error(build: str) -> ApiError:
    return live(400, "semver_error", f"Native version: {build} doesn't follow semver convention, please check "
                "https://capgo.app/semver_tester/ to learn more about semver usage in Capgo",
                {"version_build": build})


#: ``appStatus.ts``: the answer for an app the service does not host (no moreInfo)
ON_PREMISE = ApiError(429, {"error": "on_premise_app", "message": "On-premise app detected"})


def generic_error(status: int, profile: str = "documented") -> ApiError:
    """Any status in the profile's shape (used for crashes and injected faults)."""
    return generic(profile, status)


#: JSON Schema of every Capgo error body (both shapes)
ERROR_SCHEMA = {
    "oneOf": [
        {"title": "documented", "type": "object", "required": ["error", "status"],
         "properties": {"error": {"type": "string"}, "status": {"const": "KO"}}},
        {"title": "live", "type": "object", "required": ["error", "message"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                        "moreInfo": {"type": "object"}}},
    ]
}
