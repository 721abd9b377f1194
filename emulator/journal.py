"""The request journal: a bounded ring buffer of recent vendor requests, in memory.

Recording is one tuple appended to a deque: the request's own raw header pairs and byte slices
are kept as they are, and everything costly (ISO time, header dict, decoding and clipping
bodies) is done only when somebody reads the journal. Bodies are cut to a few KB, so
memory is bounded by ``size`` entries whatever the traffic.
"""
from __future__ import annotations

import itertools
from collections import deque
from typing import Any, Final

from aiohttp import hdrs, web
from multidict import istr

from .clock import iso_utc

BODY_LIMIT = 4096
#: bytes kept per body: enough for BODY_LIMIT characters of any UTF-8 text
BODY_BYTES = BODY_LIMIT * 4


def clip(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    if isinstance(data, bytes):
        text = data[:BODY_BYTES].decode("utf-8", errors="replace")
    else:
        text = data
    if len(text) > BODY_LIMIT:
        return text[:BODY_LIMIT] + f"...[truncated, {len(text)} chars]"
    return text


def header_bytes(raw_headers: tuple[tuple[bytes, bytes], ...]) -> bytes:
    """Every header name and value of a request, joined: one pass in C tells both whether they
    are all ASCII (the envelope's check for bytes that are not UTF-8) and how large they are
    (whether the journal may keep them as they are)."""
    return b"".join(itertools.chain.from_iterable(raw_headers))


#: aiohttp's parser names a header it knows by its canonical spelling (``host`` as ``Host``), and
#: the journal shows the raw pairs the same way: ``entry["request_headers"]["Host"]`` whatever the
#: client sent
_KNOWN_NAMES = {name.lower(): str(name) for name in vars(hdrs).values() if isinstance(name, istr)}


def _name(data: bytes) -> str:
    name = _text(data)
    return _KNOWN_NAMES.get(name.lower(), name)


def _text(data: bytes) -> str:
    """Header bytes as the journal shows them: UTF-8, each byte that is not UTF-8 as U+FFFD
    (what the vendors see, emulator.httputil.safe_text), at most BODY_LIMIT characters."""
    return data.decode("utf-8", "replace")[:BODY_LIMIT]


def glob_match(text: str, parts: list[str]) -> bool:
    """``text`` against a glob split at its ``*``s (each matches any run of characters, ``/``
    included). Nothing is compiled or cached: ``fnmatch`` keeps every distinct pattern in an
    unbounded-size cache (~0.5 MB for a long one), so each distinct journal filter grew the process."""
    if len(parts) == 1:
        return text == parts[0]
    head, *middle, tail = parts
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    pos, end = len(head), len(text) - len(tail)
    for part in middle:
        found = text.find(part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return True


#: one journaled request as recorded: a tuple of plain values (the request's raw header pairs,
#: byte slices), so recording is one append and a full journal gives the garbage collector
#: nothing to traverse (tuples of strings, numbers and bytes are not tracked). Formatted when
#: read (:func:`as_dict`).
Recorded = tuple[int, float, "str | None", str, str, str, "int | None", float, tuple[tuple[bytes, bytes], ...],
                 "bytes | str | None", "bytes | str | None", "dict[str, Any] | None"]
#: the fields the journal's filters read
VENDOR: Final = 2
METHOD: Final = 3
PATH: Final = 4
STATUS: Final = 6


def as_dict(entry: Recorded) -> dict[str, Any]:
    (entry_id, at, vendor, method, path, query, status, duration_ms, raw_headers, request_body, response_body,
     extra) = entry
    headers: dict[str, str] = {}
    seen: set[str] = set()
    for raw_name, value in raw_headers:
        name = _name(raw_name)
        folded = name.lower()
        if folded not in seen:  # a repeated header (any case): its first value, as request.headers
            seen.add(folded)
            headers[name] = _text(value)
    out = {
        "id": entry_id,
        "time": iso_utc(at),
        "vendor": vendor,
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "request_headers": headers,
        "request_body": clip(request_body),
        "response_body": clip(response_body),
    }
    if extra:
        out.update(extra)
    return out


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._entries: deque[Recorded] = deque(maxlen=max(0, size))
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self, vendor: str | None = None) -> None:
        if vendor is None:
            self._entries.clear()
        else:
            kept = [e for e in self._entries if e[VENDOR] != vendor]
            self._entries.clear()
            self._entries.extend(kept)

    def record(self, request: web.BaseRequest, at: float, vendor: str | None, status: int | None,
               duration_ms: float, headers_size: int, request_body: bytes | str | None,
               response_body: bytes | str | None, extra: dict[str, Any] | None = None) -> None:
        """One request. Its raw header pairs are kept as they are when all of them together
        (``headers_size`` bytes, :func:`header_bytes`) are small (a name or value may be 256 KB):
        else a clipped copy keeps the journal's memory bounded."""
        if self.size <= 0:
            return
        raw_headers = request.raw_headers
        self._entries.append((
            next(self._ids), at, vendor, request.method,
            request.path[:BODY_LIMIT], request.query_string[:BODY_LIMIT],  # request lines may be 256 KB
            status, duration_ms,
            raw_headers if headers_size <= BODY_BYTES else tuple(
                (name[:BODY_BYTES], value[:BODY_BYTES]) for name, value in raw_headers),
            request_body[:BODY_BYTES] if request_body is not None else None,
            response_body[:BODY_BYTES] if response_body is not None else None,
            extra,
        ))

    def query(
        self,
        *,
        vendor: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first. ``path`` is a glob when it has ``*``, else an exact path."""
        out: list[dict[str, Any]] = []
        glob = path.split("*") if path is not None and "*" in path else None
        wanted_method = method.upper() if method is not None else None
        for entry in reversed(self._entries):
            if vendor is not None and entry[VENDOR] != vendor:
                continue
            if wanted_method is not None and entry[METHOD] != wanted_method:
                continue
            if status is not None and entry[STATUS] != status:
                continue
            if path is not None:
                if glob is not None:
                    if not glob_match(entry[PATH], glob):
                        continue
                elif entry[PATH] != path:
                    continue
            out.append(as_dict(entry))
            if limit is not None and len(out) >= limit:
                break
        return out
