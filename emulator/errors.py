"""One error type for every vendor: raise it anywhere, the envelope answers with it.

Vendors subclass nothing here; they build an :class:`ApiError` with their own body shape
(usually through a small helper in their package) and the core's envelope around every handler
(:func:`emulator.app.envelope`) turns it into the response. A write function raising it inside a
transaction rolls that request back.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from .jsoncodec import dumps_bytes


class ApiError(Exception):
    """A complete error answer: status, body and headers, in some vendor's shape."""

    def __init__(
        self,
        status: int,
        body: Any,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        trailing_newline: bool = False,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}
        self.trailing_newline = trailing_newline

    def __str__(self) -> str:  # formatted only when shown: most errors are answered, never printed
        return f"{self.status}: {self.body!r}"

    def response(self) -> web.Response:
        return make_response(
            self.status,
            self.body,
            content_type=self.content_type,
            headers=self.headers,
            trailing_newline=self.trailing_newline,
        )


def control_error(status: int, message: str, path: str | None = None) -> ApiError:
    """The control plane's own error: ``{"error": message, "path"?: json path}``."""
    body: dict[str, Any] = {"error": message}
    if path is not None:
        body["path"] = path
    return ApiError(status, body)


def make_response(
    status: int,
    body: Any,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    trailing_newline: bool = False,
) -> web.Response:
    """Serialise ``body`` (str/bytes as is, anything else as JSON) into a response.

    ``content_type`` may carry parameters (``application/json; charset=utf-8``); it is
    sent verbatim so each vendor's exact header survives.
    """
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = dumps_bytes(body)
    if trailing_newline:
        data += b"\n"
    resp = web.Response(status=status, body=data, headers=headers)
    resp.headers["Content-Type"] = content_type
    return resp


def json_response(body: Any, status: int = 200, **kwargs: Any) -> web.Response:
    return make_response(status, body, **kwargs)
