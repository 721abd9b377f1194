"""Pusher Beams error answers.

The real server ("Errol") is written in Go: its errors are ``{"error": <Title>,
"description": <Description>}`` written by ``json.Encoder`` (application/json, trailing
newline), and paths it does not route get net/http's plain-text ``404 page not found``.
Every refusal in this package is built here, so each text exists exactly once.
"""
from __future__ import annotations

from http import HTTPStatus
from typing import Any

from ...errors import ApiError

GO_TEXT = "text/plain; charset=utf-8"

#: JSON Schema of every Beams error body (the Go-routed plain-text 404/405 aside)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "description"],
    "properties": {"error": {"type": "string"}, "description": {"type": "string"}},
    "additionalProperties": False,
}


def beams_error(status: int, title: str, description: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, {"error": title, "description": description}, trailing_newline=True,
                    headers=headers)


def go_not_found() -> ApiError:
    """What Go's net/http answers for a path no handler serves."""
    return ApiError(404, "404 page not found", content_type=GO_TEXT, trailing_newline=True)


def go_method_not_allowed() -> ApiError:
    return ApiError(405, "Method Not Allowed", content_type=GO_TEXT, trailing_newline=True)


# -- request shape ---------------------------------------------------------------------------
def invalid_content_type() -> ApiError:
    return beams_error(400, "Invalid content type", "Only `application/json` is supported.")


def missing_instance_id() -> ApiError:
    return beams_error(400, "Incomplete Request", "`instance-id` param is missing from path.")


def invalid_instance_id() -> ApiError:
    return beams_error(400, "Bad Request", "`instance-id` given is not valid.")


def missing_device_id() -> ApiError:
    return beams_error(400, "Incomplete Request", "`device-id` param is missing from path.")


def missing_interest_name() -> ApiError:
    return beams_error(400, "Incomplete Request", "`interest-name` param is missing from path.")


def bad_body() -> ApiError:
    return beams_error(400, "Bad request", "Failed to read body as a JSON object.")


def body_too_large(limit_text: str) -> ApiError:
    return beams_error(400, "Bad request", f"Request body size is too large (max {limit_text}).")


def bad_limit() -> ApiError:
    return beams_error(400, "Bad Request", "`limit` given is not valid.")


def bad_cursor() -> ApiError:
    return beams_error(400, "Bad Request", "`cursor` given is not valid.")


# -- lookups ----------------------------------------------------------------------------------
def instance_not_found(*, period: bool = True) -> ApiError:
    """The device API documents a final period; the publish API was recorded without one."""
    return beams_error(404, "Instance not found", "Could not find the instance" + ("." if period else ""))


def device_not_found() -> ApiError:
    return beams_error(404, "Device not found", "Could not find the device.")


# -- registration -----------------------------------------------------------------------------
def missing_token(platform: str) -> ApiError:
    return beams_error(400, "Bad request", {
        "apns": "Missing APNs token.",
        "fcm": "Missing FCM token.",
        "web": "Missing Web Push subscription token.",
    }[platform])


def missing_bundle_identifier() -> ApiError:
    return beams_error(400, "Bad request", "Missing App Bundle Identifier.")


def incorrect_token(platform: str) -> ApiError:
    if platform == "web":
        return beams_error(401, "Token error", "Subscription is not registered with the given push service")
    name = {"apns": "APNs", "fcm": "FCM"}[platform]
    return beams_error(401, "Unauthorized", f"Incorrect {name} token supplied.")


def missing_fcm_token_field() -> ApiError:
    return beams_error(400, "Bad request", "Missing token field with the FCM Registration Id.")


# -- interests --------------------------------------------------------------------------------
def invalid_interest_name() -> ApiError:
    return beams_error(400, "Invalid interest name", "`interest-name` given is not valid.")


def interest_set_too_large(limit: int) -> ApiError:
    return beams_error(400, "Interest set too large",
                       f"Too many interests are being set for this device. Only {limit} "
                       "interests per device are allowed.")


def device_id_not_valid(title: str) -> ApiError:
    """Add (``Bad Request``) and remove (``Incomplete Request``) interest use different titles."""
    return beams_error(400, title, "`device-id` given is not valid.")


# -- set user id ------------------------------------------------------------------------------
def auth_header_missing() -> ApiError:
    return beams_error(401, "Unauthorized", "`Authorization` header token is missing.")


def auth_header_malformed() -> ApiError:
    return beams_error(401, "Unauthorized", "`Authorization` header token is malformed.")


def jwt_unauthorized(description: str) -> ApiError:
    return beams_error(401, "Unauthorized", description)


def jwt_bad_request(description: str) -> ApiError:
    return beams_error(400, "Bad Request", description)


def jwt_bad_issuer() -> ApiError:
    return beams_error(403, "Forbidden", "Invalid JWT issuer.")


def invalid_device_id() -> ApiError:
    return beams_error(400, "Bad Request", "Invalid device id.")


def user_already_set() -> ApiError:
    return beams_error(400, "Bad Request", "A User Id is already associated with this device.")


def too_many_user_devices(limit: int) -> ApiError:
    return beams_error(422, "Unprocessable Entity", f"User already has reached the maximum of {limit} devices.")


# -- server side (publish, users, reporting) --------------------------------------------------
def authorization_missing() -> ApiError:
    return beams_error(400, "Incomplete Request", "Authorization header is missing.")


def incorrect_secret_key() -> ApiError:
    return beams_error(401, "Unauthorized", "Incorrect Secret Key")


def schema_error(field: str, message: str) -> ApiError:
    return beams_error(422, "Unprocessable Entity", f"`{field}`: {message}")


def rate_limited(per_second: int, retry_after: int) -> ApiError:
    return beams_error(429, "Rate Limited",
                       f"Too many requests being made in quick succession (max {per_second} RPS).",
                       headers={"Retry-After": str(retry_after)})


def user_id_too_long(limit: int) -> ApiError:
    return beams_error(400, "Bad request", f"'User id' is too long, max length is {limit}")


def reporting_invalid_instance() -> ApiError:
    return beams_error(400, "Bad request", "The instance id given is invalid. It is expected to be in "
                       "this format: 426abfc7-41fe-492f-bcf1-27586fa9bd3f .")


def reporting_missing(field: str) -> ApiError:
    return beams_error(400, "Bad request", f"`{field}` is missing from body.")


def reporting_bad_event() -> ApiError:
    return beams_error(400, "Bad request", "`event` must be one of: delivery, open.")


# -- generic statuses (faults, crashes) -------------------------------------------------------
GENERIC = {
    400: ("Bad request", "Failed to read body as a JSON object."),
    401: ("Unauthorized", "Incorrect Secret Key"),
    402: ("Payment Required", "Your plan does not allow this request."),
    403: ("Forbidden", "Forbidden."),
    404: ("Not found", "Not found."),
    413: ("Bad request", "Request body size is too large."),
    415: ("Invalid content type", "Only `application/json` is supported."),
    422: ("Unprocessable Entity", "JSON does not match our schema."),
    429: ("Rate Limited", "Too many requests being made in quick succession (max 100 RPS)."),
    500: ("Something went wrong", "Internal server error."),
}


def generic_error(status: int) -> ApiError:
    """Beams' error for any status (injected faults and crashes)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title, description = GENERIC.get(status, (phrase, f"{phrase}."))
    if status >= 500 and status not in GENERIC:
        title = "Something went wrong"
    return ApiError(status, {"error": title, "description": description}, trailing_newline=True)
