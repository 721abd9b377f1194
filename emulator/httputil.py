"""Request parsing every vendor needs, with neutral exceptions each vendor maps to its
own error body: bodies with a size cap, JSON, content types, Basic headers; and the headers an
answer carries whatever its status."""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import re
import zlib
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError


class BodyError(Exception):
    """Why a body could not be used. ``kind`` is one of: ``too_large``, ``empty``,
    ``not_utf8``, ``invalid_json``, ``not_object``."""

    def __init__(self, kind: str, detail: str = "", path: str | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        #: JSON path of the offending value, when the JSON parsed but holds an unstorable one
        self.path = path


class RequestState:
    """What the emulator keeps on a request while answering it. One object under one key, put
    there by the envelope (emulator.app.envelope): looking up a key a request does not hold
    raises (and catches) a KeyError inside aiohttp's mapping, which every request would otherwise
    pay several times. The defaults are class attributes: making one runs no ``__init__``."""

    #: the body bytes a handler read (the journal shows them)
    body: bytes | None = None
    #: headers the answer carries whether it succeeds or fails (rate-limit counters)
    response_headers: dict[str, str] | None = None
    #: the tenants open mode created (for this request or another in flight) it uses
    #: (emulator.vendor.NewTenant)
    new_tenants: list[Any] | None = None
    #: the refusal its tenant lookup would raise, or a function making it (a write whose
    #: tenant vanished under it answers with it)
    tenant_refusal: Any = None


REQUEST_STATE: web.RequestKey[RequestState] = web.RequestKey("emulator_request_state", RequestState)


def request_state(request: web.BaseRequest) -> RequestState:
    """The request's :class:`RequestState` (the envelope's; made here for one it did not see)."""
    try:
        return request[REQUEST_STATE]
    except KeyError:
        state = request[REQUEST_STATE] = RequestState()
        return state


def add_response_headers(request: web.Request, headers: dict[str, str]) -> None:
    """Headers for this request's answer, success or error alike; the envelope adds them."""
    state = request_state(request)
    if state.response_headers is None:
        state.response_headers = {}
    state.response_headers.update(headers)


#: a body whose next bytes take longer than this to arrive is abandoned (the connection closed)
BODY_IDLE_TIMEOUT = 30.0


def _encoded(request: web.Request) -> bool:
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    return coding not in ("", "identity")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, decoded per its Content-Encoding, refusing more than ``limit`` decoded bytes
    while it streams in: by Content-Length up front when the body is not encoded, then by count
    (a gzip body of 1 MB can inflate to 1 GB, so nothing larger than ``limit`` is ever held,
    and nothing at all of a refused body is kept). A body whose encoding is broken is malformed
    input: ``BodyError("invalid_json")`` -- to every vendor it is a body that does not parse.
    The bytes are kept on the request (:class:`RequestState`) for the journal."""
    state = request_state(request)
    kept = state.body
    if kept is not None:  # read before (under another limit)
        if len(kept) > limit:
            raise BodyError("too_large", f"{len(kept)} bytes > {limit}")
        return kept
    declared = request.content_length
    if declared is not None and declared > limit and not _encoded(request):
        raise BodyError("too_large", f"{declared} bytes > {limit}")
    data = await _read_bounded(request, limit)
    if data is None:
        raise BodyError("too_large", f"more than {limit} bytes")
    state.body = data
    return data


class _Inflater:
    """Decodes a gzip or deflate body as it streams in, never producing more than asked for."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib: Any = zlib.decompressobj(31) if coding in ("gzip", "x-gzip") else None

    def feed(self, data: bytes, room: int) -> bytes:
        """Up to ``room`` + 1 more decoded bytes (one more than allowed tells "too long")."""
        if self._zlib is None:  # deflate: zlib-wrapped as the RFC says, or raw as some clients send
            self._zlib = zlib.decompressobj(15 if data and data[0] & 0x0F == 8 else -15)
        out = bytearray()
        while data:
            if self._zlib.eof:
                raise zlib.error("data after the end of the compressed stream")
            out += self._zlib.decompress(data, room + 1 - len(out))
            if len(out) > room:
                break
            data = self._zlib.unconsumed_tail
        if self._zlib.eof and self._zlib.unused_data:
            raise zlib.error("data after the end of the compressed stream")
        return bytes(out)

    def finish(self) -> None:
        if self._zlib is None or not self._zlib.eof:
            raise zlib.error("the compressed stream is truncated")


def _inflater(request: web.Request) -> _Inflater | None:
    """A decoder for the body's Content-Encoding; None when the bytes arrive as they are (no
    encoding, or a server that already decodes them -- aiohttp's own test server does)."""
    if not _encoded(request) or request.content.total_compressed_bytes is not None:
        return None
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise BodyError("invalid_json", f"unsupported Content-Encoding {coding[:50]!r}")
    return _Inflater(coding)


async def _read_bounded(request: web.Request, limit: int, *, idle: float = BODY_IDLE_TIMEOUT,
                        close_on_timeout: bool = True) -> bytes | None:
    """Up to ``limit`` decoded bytes of the body; None (and nothing kept) when it is longer."""
    buf = bytearray()
    stream = request.content
    inflater = _inflater(request)
    try:
        if inflater is None and stream.is_eof():  # all of it came with the headers: nothing to wait for
            data = stream.read_nowait()
            return data if len(data) <= limit else None
        while True:
            async with asyncio.timeout(idle):
                chunk = await stream.readany()
            if not chunk:
                break
            if inflater is not None:
                chunk = inflater.feed(chunk, limit - len(buf))
            if len(buf) + len(chunk) > limit:
                del buf[:]  # keep nothing of a refused body (a traceback may outlive this frame)
                return None
            buf += chunk
        if inflater is not None:
            inflater.finish()
    except (zlib.error, HttpProcessingError, RequestPayloadError) as exc:  # a broken gzip/deflate stream
        del buf[:]
        coding = request.headers.get("Content-Encoding", "")[:50]
        detail = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else type(exc).__name__
        raise BodyError("invalid_json", f"the body is not valid {coding!r} data ({detail})") from None
    except TimeoutError:
        del buf[:]
        if close_on_timeout and request.transport is not None:
            request.transport.close()
        raise ConnectionResetError(f"no body bytes for {idle:g} s") from None
    return bytes(buf)


async def read_body_prefix(request: web.Request, limit: int, *, idle: float = 1.0) -> bytes | None:
    """What the journal shows of a body no handler read: at most ``limit`` decoded bytes of it,
    None when it is longer, broken, or slow to come."""
    try:
        return await _read_bounded(request, limit, idle=idle, close_on_timeout=False)
    except (BodyError, ConnectionError):
        return None


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


#: a run of digits too long for a 64-bit integer
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def parse_json(data: bytes, *, require_object: bool = False) -> Any:
    """Decode UTF-8 JSON; raise BodyError with a precise kind. NaN, Infinity and lone
    surrogates are refused as ``invalid_json``: no vendor could store or echo them."""
    if not data.strip():
        raise BodyError("empty")
    if not _LONG_DIGITS.search(data):  # orjson turns integers beyond 64 bits into floats
        try:
            # orjson refuses all the standard library lets through and this must refuse (NaN,
            # Infinity, 1e999, lone surrogates, bad UTF-8): what it takes is final; what it
            # refuses goes the standard library's way below, for the same error as always
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            if require_object and not isinstance(value, dict):
                raise BodyError("not_object", type(value).__name__)
            return value
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


def safe_text(value: str) -> str:
    """A header value as valid Unicode. aiohttp decodes header bytes as UTF-8 with
    ``surrogateescape``, so a non-UTF-8 byte becomes a lone surrogate that SQLite, JSON and
    UTF-8 encoding all refuse; it becomes U+FFFD (a value no stored credential can match)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")
    return value


def unsafe_headers(headers: Any) -> bool:
    """True when a header value holds bytes that are not UTF-8 (see :func:`safe_text`)."""
    if all(map(str.isascii, headers.values())):  # nearly every request: one pass in C
        return False
    return any(safe_text(v) is not v for v in headers.values())


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

