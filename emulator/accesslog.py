"""Access lines people can read: which vendor, what was asked, what was answered and, for a
refusal, the vendor's own error code and reason, e.g.

    jpush GET /v3/tags/ -> 401 7004 Basic authentication failed (0.4 ms)

At ``--log-level debug`` a second line shows the request and response bodies, cut short. Nothing
logs credentials: headers are never printed and secret-looking JSON fields are masked.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from .context import CONTEXT
from .httputil import request_state

#: how much of a body a debug line shows
DEBUG_BODY_CHARS = 512
#: the largest error body parsed for its reason
SUMMARY_BODY_BYTES = 16 * 1024
SECRET_FIELD = re.compile(r"secret|password|api_?key|master|private", re.IGNORECASE)
SCALAR = (str, int, float)


def refusal_reason(body: Any) -> str:
    """The code and message of an error body, whatever the vendor's shape: ``{"error": {"code",
    "message"}}``, ``{"error", "message"|"description"}``, ``{"code", "message"}``, plain text."""
    if isinstance(body, (bytes, bytearray)):
        if not body or len(body) > SUMMARY_BODY_BYTES:
            return ""
        try:
            body = json.loads(body)
        except ValueError:
            return bytes(body).decode("utf-8", "replace").strip().splitlines()[0][:200] if body.strip() else ""
    if not isinstance(body, dict):
        return ""
    inner = body.get("error")
    if isinstance(inner, dict):
        body = inner
    parts = [str(body[key]) for key in ("code", "error", "type", "message", "description")
             if isinstance(body.get(key), SCALAR) and not isinstance(body.get(key), bool)]
    return " ".join(dict.fromkeys(parts))[:300]


def mask_secrets(value: Any) -> Any:
    """A copy of a JSON value with secret-looking fields replaced by ``***``."""
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and SECRET_FIELD.search(k) else mask_secrets(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def body_for_debug(data: bytes | None) -> str:
    if not data:
        return "-"
    try:
        text = json.dumps(mask_secrets(json.loads(data)), ensure_ascii=False)
    except ValueError:
        text = data[:DEBUG_BODY_CHARS * 4].decode("utf-8", "replace")
    return text if len(text) <= DEBUG_BODY_CHARS else text[:DEBUG_BODY_CHARS] + f"...[{len(text)} chars]"


def masked_query(request: BaseRequest) -> str:
    """The path with its query, secret-looking parameters (AppLovin's ``api_key``) masked."""
    if not request.query_string:
        return request.path
    pairs = [f"{k}=***" if SECRET_FIELD.search(k) else f"{k}={v}" for k, v in request.query.items()]
    return f"{request.path}?{'&'.join(pairs)}"


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        app = getattr(request, "app", None)  # a web.Request; a bare BaseRequest has none
        ctx = app[CONTEXT] if app is not None and CONTEXT in app else None
        vendor = ctx.vendor_for_path(request.path) if ctx is not None else None
        who = vendor.name if vendor is not None else (
            "control" if request.path.startswith("/_emulator") else "-")
        body = getattr(response, "body", None)
        line = f"{who} {request.method} {masked_query(request)[:300]} -> {response.status}"
        if response.status >= 400:
            reason = refusal_reason(body if isinstance(body, (bytes, bytearray)) else None)
            if reason:
                line += f" {reason}"
        line += f" ({time * 1000:.1f} ms)"
        self.logger.info(line)
        if self.logger.isEnabledFor(logging.DEBUG):
            sent = request_state(request).body
            self.logger.debug("  request body %s | response body %s", body_for_debug(sent),
                              body_for_debug(bytes(body) if isinstance(body, (bytes, bytearray)) else None))
