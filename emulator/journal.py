"""The request journal: a bounded ring buffer of recent vendor requests, in memory.

Recording is one small object appended to a deque: the request's own header mapping and
byte slices are kept as they are, and everything costly (ISO time, header dict, decoding and
clipping bodies) is done only when somebody reads the journal. Bodies are cut to a few KB, so
memory is bounded by ``size`` entries whatever the traffic.
"""
from __future__ import annotations

import itertools
from collections import deque
from typing import Any
from collections.abc import Mapping

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


def _small(headers: Mapping[str, str]) -> bool:
    """Headers are kept as the request's own mapping unless one of them is large (values up
    to 256 KB are accepted): then a clipped copy keeps the journal's memory bounded."""
    return max(map(len, headers.values()), default=0) <= BODY_LIMIT


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


class Entry:
    """One journaled request, as recorded (cheap); :meth:`as_dict` formats it."""

    __slots__ = ("id", "at", "vendor", "method", "path", "query", "status", "duration_ms",
                 "headers", "request_body", "response_body", "extra")

    def __init__(self, at: float, vendor: str | None, method: str, path: str, query: str,
                 status: int | None, duration_ms: float, headers: Mapping[str, str],
                 request_body: bytes | str | None, response_body: bytes | str | None,
                 extra: dict[str, Any] | None = None) -> None:
        self.id = 0
        self.at = at
        self.vendor = vendor
        self.method = method
        self.path = path[:BODY_LIMIT]  # request lines may be 256 KB
        self.query = query[:BODY_LIMIT]
        self.status = status
        self.duration_ms = duration_ms
        self.headers = headers if _small(headers) else {k: v[:BODY_LIMIT] for k, v in headers.items()}
        self.request_body = request_body[:BODY_BYTES] if request_body is not None else None
        self.response_body = response_body[:BODY_BYTES] if response_body is not None else None
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "time": iso_utc(self.at),
            "vendor": self.vendor,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "request_headers": dict(self.headers),
            "request_body": clip(self.request_body),
            "response_body": clip(self.response_body),
        }
        if self.extra:
            out.update(self.extra)
        return out


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._entries: deque[Entry] = deque(maxlen=max(0, size))
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self, vendor: str | None = None) -> None:
        if vendor is None:
            self._entries.clear()
        else:
            kept = [e for e in self._entries if e.vendor != vendor]
            self._entries.clear()
            self._entries.extend(kept)

    def record(self, entry: Entry) -> None:
        if self.size <= 0:
            return
        entry.id = next(self._ids)
        self._entries.append(entry)

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
            if vendor is not None and entry.vendor != vendor:
                continue
            if wanted_method is not None and entry.method != wanted_method:
                continue
            if status is not None and entry.status != status:
                continue
            if path is not None:
                if glob is not None:
                    if not glob_match(entry.path, glob):
                        continue
                elif entry.path != path:
                    continue
            out.append(entry.as_dict())
            if limit is not None and len(out) >= limit:
                break
        return out
