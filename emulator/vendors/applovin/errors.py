"""AppLovin's error answers. AppLovin documents status codes only (its Device Model Targeting API
page, support.applovin.com/hc/en-us/articles/115000788668); we chose the body
``{"code": <status>, "message": "<reason>"}`` because it mirrors the ``code`` field of ``list``'s
success body. Option ``error_body=empty`` sends no body instead."""
from __future__ import annotations

from http import HTTPStatus

from ...errors import ApiError

JSON = "application/json"
#: what an empty answer (``delete``'s success, ``error_body=empty``) is labelled with
EMPTY_CONTENT_TYPE = "text/plain; charset=utf-8"

#: AppLovin's own wording for each status of its documented error table
DOCUMENTED_MESSAGES = {
    400: "The request was not formatted properly, was missing data, or had invalid data.",
    403: "Authentication failed. Check the validity of the API Key.",
    404: "The device list ID that you specified does not exist.",
    406: "An active list with the same name exists already.",
    500: "Service Unavailable.",
}


def default_message(status: int) -> str:
    if status in DOCUMENTED_MESSAGES:
        return DOCUMENTED_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error(status: int, message: str | None = None, headers: dict[str, str] | None = None) -> ApiError:
    """An AppLovin error in the JSON shape; :func:`as_empty` strips it when so configured."""
    return ApiError(status, {"code": status, "message": message or default_message(status)},
                    content_type=JSON, headers=headers)


def as_empty(exc: ApiError) -> ApiError:
    """The same refusal without a body (option ``error_body=empty``)."""
    return ApiError(exc.status, None, content_type=EMPTY_CONTENT_TYPE, headers=exc.headers)


def shaped(exc: ApiError, error_body: str) -> ApiError:
    """Apply option ``error_body``: the JSON body (``json``), or none at all (``empty``)."""
    return as_empty(exc) if error_body == "empty" else exc


def generic_error(status: int, error_body: str) -> ApiError:
    """AppLovin's answer for a bare status (faults, crashes, oversized bodies)."""
    return shaped(error(status), error_body)


def bad_request(message: str) -> ApiError:
    return error(400, message)


def forbidden() -> ApiError:
    return error(403)


def list_not_found() -> ApiError:
    return error(404)


def name_taken() -> ApiError:
    return error(406)


def unknown_command(path: str) -> ApiError:
    return error(404, f"Unknown command: {path}")


def method_not_allowed(method: str, allowed: list[str]) -> ApiError:
    return error(405, f"Method {method} is not allowed for this command",
                 headers={"Allow": ", ".join(allowed)})


#: JSON Schema of every AppLovin error body (OpenAPI document, fuzzing checks)
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    "additionalProperties": False,
}
