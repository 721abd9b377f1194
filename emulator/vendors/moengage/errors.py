"""MoEngage's error envelope and the exact texts of its Data API errors.

Every failure is ``{"status": "fail", "error": {"attribute"?, "message", "type", "request_id"}}``
(MoEngage's OpenAPI file ``api/data/data.yaml`` and its Data-API overview). The per-endpoint
texts differ (the customer endpoint has its own 415/429 wording, the device endpoint quotes
field names, the bulk endpoint's messages start with a stray quote), so they live in one
:class:`Family` per endpoint.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from collections.abc import Callable

from ...errors import ApiError

_LETTERS = string.ascii_letters
_rng = random.SystemRandom()

SUCCESS_MESSAGE = "Your request has been accepted and will be processed soon."
AUTH_TYPE = "Authentication required"


def request_id() -> str:
    """8 mixed-case ASCII letters, like MoEngage's ``PVUDFisO``."""
    return "".join(_rng.choice(_LETTERS) for _ in range(8))


def envelope(type_: str, message: str, attribute: str | None = None, rid: str | None = None) -> dict:
    error: dict[str, str] = {}
    if attribute is not None:
        error["attribute"] = attribute
    error["message"] = message
    error["type"] = type_
    error["request_id"] = rid or request_id()
    return {"status": "fail", "error": error}


def fail(status: int, type_: str, message: str, attribute: str | None = None) -> ApiError:
    return ApiError(status, envelope(type_, message, attribute))


class Invalid(Exception):
    """A 400 about one field of the payload; the bulk endpoint turns some into drops."""

    def __init__(self, attribute: str, message: str, type_: str = "MissingAttributeError") -> None:
        super().__init__(message)
        self.attribute = attribute
        self.message = message
        self.type = type_

    def api_error(self) -> ApiError:
        return fail(400, self.type, self.message, self.attribute)


@dataclass(frozen=True)
class Family:
    """One Data API endpoint: its body ``type``, the wording of its errors, its size cap."""

    name: str
    #: field -> "... is not found in the payload" in this endpoint's own spelling
    missing: Callable[[str], str]
    #: how this endpoint names a field inside other messages (quoted or not)
    quote: Callable[[str], str]
    media_type: tuple[str, str]
    rate_limited: tuple[str, str]
    too_large: tuple[str, str]


def _quoted(field: str) -> str:
    return f"'{field}'"


def _plain(field: str) -> str:
    return field


def _stray(field: str) -> str:
    # the bulk endpoint's documented messages really start with one stray quote
    return f"'{field}"


_DEVICE_415 = ("Unsupported media type", "Content type is not supported")
_DEVICE_429 = ("Rate Limits Exceeded", "Rate limits for customers exceeded. Please Try After Some Time")
_TOO_LARGE_128 = ("PayloadTooLarge", "Payload size exceeds 128 KB")

FAMILIES: dict[str, Family] = {
    "device": Family("device", lambda f: f"'{f}' is not found in the payload", _quoted,
                     _DEVICE_415, _DEVICE_429, _TOO_LARGE_128),
    "customer": Family("customer", lambda f: f"{f} is not found in the payload", _plain,
                       ("MediaTypeError", "Unsupported Media Type"),
                       ("RateLimitError", "Rate limit exceeded"), _TOO_LARGE_128),
    "event": Family("event", lambda f: f"{f} is not found in the payload", _plain,
                    _DEVICE_415, _DEVICE_429, _TOO_LARGE_128),
    "transition": Family("transition", lambda f: f"'{f} not found in the payload", _stray,
                         _DEVICE_415, _DEVICE_429, ("PayloadTooLarge", "Payload size exceeds 100 KB")),
}

# -- fixed texts (the Data-API overview's error table and the endpoint examples of data.yaml) ----
MALFORMED_JSON = ("Malformed JSON",
                  "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")
EMPTY_BODY = ("Empty request body", "A valid JSON document is required")
NOT_JSON_DOCUMENT = ("Body type is not JSON", "A valid JSON document is required")
MISSING_CONTENT_TYPE = ("Missing header value", "The Content-Type Header is required")
APP_ID_REQUIRED = ("ParamsRequired", "app_id is required in path/query params.")
APP_ID_INVALID = ("InvalidParams", "Given app_id is invalid.")
BLACKLISTED = ("Blacklisted", "Your account is blacklisted, Please contact MoEngage.")
APP_KEY_MISMATCH = ("Authentication Mismatch", "App key mismatch in params and authentication")
SECRET_NOT_SET = (AUTH_TYPE, "App Secret key is not set. Please login to the dashboard to set a key")
SERVER_ERROR = ("ServerError",
                "An unexpected error was encountered while processing this request. Please contact MoEngage Team")

AUTH_MESSAGES = {
    "missing": "Authentication Header Required",
    "empty": "No identity information found",
    "undecodable": "Invalid identity information found",
    "wrong_scheme": "Invalid authorization used. MoEngage only supports 'Basic Auth' authorization.",
    "no_user": "APP_KEY missing in the authentication header",
    "no_password": "APP_SECRET missing in the authentication header",
    "unknown_user": "Invalid APP_ID used in Authentication Header",
    "moe_appkey": "MOE_APPKEY doesn't match the Username (APP_KEY) used in Basic Auth authorization.",
    "wrong_password": "App Secret key mismatch. Please login to the dashboard to verify key",
}

#: account states a workspace may be put in by a fixture, and what they answer
ACCOUNT_STATES: dict[str, tuple[int, str, str] | None] = {
    "active": None,
    "blocked": (403, "BlockedClient", "Your account is suspended. Please contact MoEngage team."),
    "suspended": (403, "Account Suspended", "Your account is suspended. Please contact MoEngage team."),
    "temporarily_suspended": (403, "Account Temporarily Suspended",
                              "Your account is temporarily suspended. Please contact MoEngage team."),
    "blacklisted": (400, *BLACKLISTED),
}


def auth_error(kind: str) -> ApiError:
    return fail(401, AUTH_TYPE, AUTH_MESSAGES[kind])


def unknown_customer_message(customer_id: str) -> str:
    """Delete-user's wording for a customer that does not exist (reused for devices)."""
    return f"User doesn't exists with customer id {customer_id}"


#: bodies for statuses without a more specific cause (faults, crashes, unknown routes)
NOT_FOUND_BODY = {"status": "fail", "message": "Resource not found"}
METHOD_NOT_ALLOWED_BODY = {"status": "fail", "message": "Method not allowed"}


def generic_error(status: int, path: str) -> ApiError:
    """MoEngage's answer for a bare status (faults, crashes, unknown routes) on ``path``, in
    the wording of the endpoint family it names (``/v1/<family>/...``; Track Device's otherwise)."""
    parts = path.strip("/").split("/")
    family = FAMILIES.get(parts[1] if len(parts) > 1 else "", FAMILIES["device"])
    return ApiError(status, generic_body(status, family))


def generic_body(status: int, family: Family) -> dict:
    """MoEngage's body for a bare status on one endpoint family."""
    if status == 404:
        return dict(NOT_FOUND_BODY)
    if status == 405:
        return dict(METHOD_NOT_ALLOWED_BODY)
    table: dict[int, tuple[str, str]] = {
        400: MALFORMED_JSON,
        401: (AUTH_TYPE, AUTH_MESSAGES["wrong_password"]),
        403: ACCOUNT_STATES["suspended"][1:],  # type: ignore[index]
        409: APP_KEY_MISMATCH,
        413: family.too_large,
        415: family.media_type,
        429: family.rate_limited,
    }
    type_, message = table.get(status, SERVER_ERROR if status >= 500 else ("Bad Request", "Bad Request"))
    return envelope(type_, message)


#: JSON Schema of every MoEngage error body (OpenAPI document, fuzzing checks)
ERROR_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"const": "fail"},
        "message": {"type": "string"},
        "error": {"type": "object", "required": ["message", "type", "request_id"],
                  "properties": {"attribute": {"type": "string"}, "message": {"type": "string"},
                                 "type": {"type": "string"}, "request_id": {"type": "string"}}},
    },
}
