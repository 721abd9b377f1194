"""Request parsing every vendor needs, with neutral exceptions each vendor maps to its
own error body: bodies with a size cap, JSON, content types, Basic headers; and the headers an
answer carries whatever its status."""
from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from aiohttp import web


class BodyError(Exception):
    """Why a body could not be used. ``kind`` is one of: ``too_large``, ``empty``,
    ``not_utf8``, ``invalid_json``, ``not_object``."""

    def __init__(self, kind: str, detail: str = "", path: str | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        #: JSON path of the offending value, when the JSON parsed but holds an unstorable one
        self.path = path


#: request key of the body bytes a handler read (the journal shows them)
REQUEST_BODY: web.RequestKey[bytes] = web.RequestKey("emulator_request_body", bytes)
#: request key of headers the answer carries whether it succeeds or fails (rate-limit counters)
RESPONSE_HEADERS: web.RequestKey[dict[str, str]] = web.RequestKey("emulator_response_headers", dict)


def add_response_headers(request: web.Request, headers: dict[str, str]) -> None:
    """Headers for this request's answer, success or error alike; the middleware adds them."""
    request.setdefault(RESPONSE_HEADERS, {}).update(headers)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes (by Content-Length, then by count).
    The bytes are kept on the request under :data:`REQUEST_BODY` for the journal."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyError("too_large", f"{declared} bytes > {limit}")
    try:
        data = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyError("too_large", "more than the server maximum") from None
    if len(data) > limit:
        raise BodyError("too_large", f"{len(data)} bytes > {limit}")
    request[REQUEST_BODY] = data
    return data


def unstorable(value: Any, path: str = "$") -> tuple[str, str] | None:
    """(JSON path, why) of the first thing that SQLite text and standard JSON cannot hold --
    a lone surrogate (``"\\udcff"``, which JSON allows as an escape but UTF-8 cannot
    encode) in a string or key, or a non-finite number (NaN, Infinity, ``1e999``) -- or None."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return where, "contains a lone surrogate (not valid Unicode)"
        elif isinstance(item, float) and not math.isfinite(item):
            return where, "must be a finite number"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                stack.append((child, f"{where}.{key}"))
                stack.append((key, f"{where}.{key!a}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None


def parse_json(data: bytes, *, require_object: bool = False) -> Any:
    """Decode UTF-8 JSON; raise BodyError with a precise kind. NaN, Infinity and lone
    surrogates are refused as ``invalid_json``: no vendor could store or echo them."""
    if not data.strip():
        raise BodyError("empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError("not_utf8", str(exc)) from None
    overflowed: list[bool] = []

    def parse_float(literal: str) -> float:
        number = float(literal)
        if not math.isfinite(number):  # 1e999
            overflowed.append(True)
        return number

    try:
        value = json.loads(text, parse_float=parse_float)  # NaN/Infinity parse to floats too
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and ints over 4,300 digits
        raise BodyError("invalid_json", str(exc)) from None
    # Walking the document costs more than parsing it: only when something unstorable can be
    # in it (a lone surrogate needs a \u escape; NaN/Infinity are spelled out).
    if overflowed or "\\u" in text or "NaN" in text or "Infinity" in text:
        problem = unstorable(value)
        if problem is not None:
            raise BodyError("invalid_json", problem[1], path=problem[0])
    if require_object and not isinstance(value, dict):
        raise BodyError("not_object", type(value).__name__)
    return value


async def read_json(request: web.Request, limit: int, *, require_object: bool = False) -> Any:
    return parse_json(await read_body(request, limit), require_object=require_object)


def bounded_int(raw: str, cap: int) -> int | None:
    """A query parameter of ASCII digits as an int no larger than ``cap``; None when it is not
    ASCII digits. Never calls ``int()`` on thousands of digits (Python refuses over 4,300) nor on
    digits ``int()`` does not take (``"²"`` passes ``str.isdigit``)."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    significant = raw.lstrip("0") or "0"
    if len(significant) > len(str(cap)):
        return cap
    return min(int(significant), cap)


def media_type(request: web.Request) -> str | None:
    """The Content-Type's media type, lower-cased, without parameters; None if absent."""
    raw = request.headers.get("Content-Type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


class AuthHeaderError(Exception):
    """``kind``: ``missing``, ``wrong_scheme``, ``empty``, ``bad_base64``, ``no_colon``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def parse_basic(header: str | None) -> tuple[str, str]:
    """``Basic base64(user:password)`` -> (user, password)."""
    if header is None or not header.strip():
        raise AuthHeaderError("missing")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise AuthHeaderError("wrong_scheme")
    token = token.strip()
    if not token:
        raise AuthHeaderError("empty")
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AuthHeaderError("bad_base64") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise AuthHeaderError("no_colon")
    return user, password

