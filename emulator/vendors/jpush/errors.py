"""JPush's error bodies: always ``{"error":{"code":N,"message":"..."}}`` with
``Content-Type: application/json; charset=utf-8`` (the Node client crashes without a
Content-Type, the Python client raises TypeError on a non-JSON error body)."""
from __future__ import annotations

from typing import Any

from ...errors import ApiError

CONTENT_TYPE = "application/json; charset=utf-8"

# code -> (HTTP status, message). Only 7002's rid message and 7010/2002 are the real
# service's words (notes §6); the others are the emulator's wording of the documented meaning.
INTERNAL = 7000
AUTH_EMPTY = 7001
ILLEGAL_PARAMS = 7002
AUTH_FAILED = 7004
APPKEY_UNKNOWN = 7008
NO_SUCH_API = 7010
PARTLY_ILLEGAL = 7013
ALIAS_FULL = 7015
BUSY = 7030
RATE_LIMITED = 2002

CODES: dict[int, tuple[int, str]] = {
    INTERNAL: (500, "Server internal error"),
    AUTH_EMPTY: (401, "Authorization information is empty"),
    ILLEGAL_PARAMS: (400, "Illegal request parameters"),
    AUTH_FAILED: (401, "Basic authentication failed"),
    APPKEY_UNKNOWN: (400, "Appkey does not exist"),
    NO_SUCH_API: (404, "request api doesn't exist"),
    PARTLY_ILLEGAL: (400, "Some request parameters are illegal"),
    ALIAS_FULL: (400, "The alias has been bound to 10 devices, no more devices can be bound"),
    BUSY: (503, "System busy, please try again later"),
    RATE_LIMITED: (429, "Rate limit exceeded"),
}

# Push API v3 codes (jpush-docs zh/jpush/server/push/rest_api_v3_push.md, "调用返回"); messages of
# 1004 and 1011 are the real service's words (its answers quoted in jpush-api-java-client#88,
# #179 and the docs' batch example), the others the emulator's wording of the documented meaning.
PUSH_INTERNAL = 1000
PUSH_ONLY_POST = 1001
PUSH_AUTH_FAILED = 1004
NO_AUDIENCE = 1011

PUSH_CODES: dict[int, tuple[int, str]] = {
    PUSH_INTERNAL: (500, "Server internal error"),
    PUSH_ONLY_POST: (405, "Only HTTP POST is supported"),
    1002: (400, "Missing parameter"),
    1003: (400, "Parameter value is invalid"),
    PUSH_AUTH_FAILED: (401, "Authen failed"),
    1005: (400, "Message body too big"),
    1009: (400, "Unsupported key in the push object"),
    NO_AUDIENCE: (400, "cannot find user by this audience or has been inactive for more than 255 days"),
    1030: (503, "Internal service timeout"),
    RATE_LIMITED: (429, "Rate limit exceeded"),
}

RID_NOT_IN_APP = "The registration_id does not belong to this appkey!"

# A generic HTTP status (faults, crashes, oversized bodies) -> the JPush code that says it.
STATUS_CODES: dict[int, int] = {
    400: ILLEGAL_PARAMS,
    401: AUTH_FAILED,
    403: AUTH_FAILED,
    404: NO_SUCH_API,
    405: NO_SUCH_API,
    409: ILLEGAL_PARAMS,
    413: ILLEGAL_PARAMS,
    415: ILLEGAL_PARAMS,
    429: RATE_LIMITED,
    500: INTERNAL,
    502: BUSY,
    503: BUSY,
}


def body(code: int, message: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message or CODES[code][1]}}


def jpush_error(code: int, message: str | None = None, *, status: int | None = None,
                headers: dict[str, str] | None = None) -> ApiError:
    """The ApiError for a JPush business code (status from the code table unless given)."""
    return ApiError(status or CODES[code][0], body(code, message), content_type=CONTENT_TYPE,
                    headers=headers)


def illegal(message: str) -> ApiError:
    """400/7002 with a message saying which parameter is wrong."""
    return jpush_error(ILLEGAL_PARAMS, message)


def rid_not_in_app() -> ApiError:
    return jpush_error(ILLEGAL_PARAMS, RID_NOT_IN_APP)


def some_rids_not_in_app(rids: list[str]) -> ApiError:
    """7013: some (not all) registration_ids of a list are not this app key's."""
    shown = ", ".join(rids[:5]) + (", ..." if len(rids) > 5 else "")
    return jpush_error(PARTLY_ILLEGAL, f"Some registration_ids do not belong to this appkey: {shown}")


def push_error(code: int, message: str | None = None, *, msg_id: str | None = None) -> ApiError:
    """A Push API error: ``{"error": {...}}``, with the push's ``msg_id`` first when the service
    had accepted the push before finding the problem (1011)."""
    status, default = PUSH_CODES[code]
    payload: dict[str, Any] = {} if msg_id is None else {"msg_id": msg_id}
    payload["error"] = {"code": code, "message": message or default}
    return ApiError(status, payload, content_type=CONTENT_TYPE)


def no_audience(msg_id: str | None) -> ApiError:
    return push_error(NO_AUDIENCE, msg_id=msg_id)


PUSH_STATUS_CODES = {401: PUSH_AUTH_FAILED, 403: PUSH_AUTH_FAILED, 405: PUSH_ONLY_POST, 429: RATE_LIMITED,
                     500: PUSH_INTERNAL, 502: 1030, 503: 1030, 504: 1030}


def push_generic_error(status: int) -> ApiError:
    """The Push API's error for a bare HTTP status (faults, crashes, oversized bodies)."""
    code = PUSH_STATUS_CODES.get(status, PUSH_INTERNAL if status >= 500 else 1003)
    return ApiError(status, body(code, PUSH_CODES[code][1]), content_type=CONTENT_TYPE)


def generic_error(status: int) -> ApiError:
    """JPush's error for any HTTP status (used for faults and crashes)."""
    code = STATUS_CODES.get(status, INTERNAL if status >= 500 else ILLEGAL_PARAMS)
    return ApiError(status, body(code), content_type=CONTENT_TYPE)


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        # the Push API adds the push's msg_id to an error found after it accepted the push (1011)
        "msg_id": {"type": "string", "pattern": "^[0-9]+$"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        }
    },
}
