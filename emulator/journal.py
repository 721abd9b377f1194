"""The request journal: a bounded ring buffer of recent vendor requests, in memory.

Appending is one deque operation; bodies are cut to :data:`BODY_LIMIT` characters, so the
journal's memory is bounded by ``size`` entries whatever the traffic.
"""
from __future__ import annotations

import fnmatch
import itertools
from collections import deque
from typing import Any

BODY_LIMIT = 4096


def clip(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    if isinstance(data, bytes):
        text = data[: BODY_LIMIT * 4].decode("utf-8", errors="replace")
    else:
        text = data
    if len(text) > BODY_LIMIT:
        return text[:BODY_LIMIT] + f"...[truncated, {len(text)} chars]"
    return text


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(0, size))
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self, vendor: str | None = None) -> None:
        if vendor is None:
            self._entries.clear()
        else:
            kept = [e for e in self._entries if e["vendor"] != vendor]
            self._entries.clear()
            self._entries.extend(kept)

    def record(self, entry: dict[str, Any]) -> None:
        if self.size <= 0:
            return
        entry["id"] = next(self._ids)
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
        for entry in reversed(self._entries):
            if vendor is not None and entry["vendor"] != vendor:
                continue
            if method is not None and entry["method"] != method.upper():
                continue
            if status is not None and entry["status"] != status:
                continue
            if path is not None:
                if "*" in path:
                    if not fnmatch.fnmatchcase(entry["path"], path):
                        continue
                elif entry["path"] != path:
                    continue
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
        return out
