"""AppLovin's error answers. The real API documents status codes only (seed, notes B.3); the
body is the notes' proposal L1, ``{"code": <status>, "message": "<reason>"}``, mirroring the
``code`` field of ``list``'s success body. Option ``error_body=empty`` sends no body instead."""
from __future__ import annotations

from http import HTTPStatus

from ...errors import ApiError

JSON = "application/json"
#: what an empty answer (``delete``'s success, ``error_body=empty``) is labelled with
EMPTY_CONTENT_TYPE = "text/plain; charset=utf-8"

#: the seed's own wording for each status of its error table
SEED_MESSAGES = {
    400: "The request was not formatted properly, was missing data, or had invalid data.",
    403: "Authentication failed. Check the validity of the API Key.",
    404: "The device list ID that you specified does not exist.",
    406: "An active list with the same name exists already.",
    500: "Service Unavailable.",
}


def default_message(status: int) -> str:
    if status in SEED_MESSAGES:
        return SEED_MESSAGES[status]
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
