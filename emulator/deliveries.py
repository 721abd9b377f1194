"""The delivery ledger: one row per attempt to reach one device, kept in SQLite.

Vendors that target devices (a push to interests, users, tags, aliases; an update offered to
a device) resolve their audience and call :func:`record` inside the write transaction that
accepts the publish. The control plane answers "did my push reach this device, with which
payload, and if not, why not?" from these rows and, for devices the audience did not select,
from the vendor's :meth:`emulator.vendor.Vendor.explain_miss`.

Tables are the core's (``core_*``): a vendor reset does not empty them by name, so
:func:`clear` is called by every reset and state replacement. The ledger is bounded
(``--deliveries-size`` N): two generation tables of at most N rows each, the older emptied whole
when the newer is full, so the newest N deliveries are always kept and never more than 2N;
:func:`trimmed` tells whether a publish lost rows that way.

This module knows no vendor by name.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable
from operator import attrgetter

import orjson

from . import storage as store
from .jsoncodec import dumps_bytes

#: statuses a delivery can have
STATUSES = ("delivered", "failed")
#: default bound of the ledger (rows); 0 keeps no deliveries at all
DEFAULT_SIZE = 100_000

#: the core's ledger tables (migration component ``core``; the SQL lives in emulator/storage.py)
MIGRATIONS = store.LEDGER_MIGRATIONS

_SIZE_KEY = "deliveries_size"
_TRIMMED_KEY = "deliveries_trimmed_upto"  # every delivery id up to this one was dropped
_SEQ_KEY = "deliveries_seq"               # the last delivery id given out
_CURRENT_KEY = "deliveries_current"       # the generation table new rows go to (0 or 1)
_START_KEY = "deliveries_gen_start"       # the first id given out in the current generation
_META_KEYS = (_TRIMMED_KEY, _SEQ_KEY, _CURRENT_KEY, _START_KEY)


@dataclass(frozen=True)
class Delivery:
    """One attempt to reach one device, as a vendor resolved it."""

    device_id: str
    platform: str | None            # "apns" | "fcm" | "web" | "android" | "ios" | ... (vendor's own word)
    status: str                     # "delivered" | "failed"
    reason: str                     # a short sentence for people
    matched_by: dict[str, Any] | None   # e.g. {"interest": "news"}, {"user": "alice"}
    payload: Any                    # what this device would receive (its platform's section only)


# -- configuration ---------------------------------------------------------------------------
_meta_int = store.ledger_meta_int
_set_meta = store.ledger_set_meta


def configure(conn: sqlite3.Connection, size: int) -> None:
    """Set the ledger's bound (at start-up); a smaller one than the database holds trims it
    to the newest ``size`` rows at once."""
    _set_meta(conn, _SIZE_KEY, size)
    seq = _meta_int(conn, _SEQ_KEY, 0)
    if seq - size > _meta_int(conn, _TRIMMED_KEY, 0):
        _drop_upto(conn, seq - size)


def size(conn: sqlite3.Connection) -> int:
    return _meta_int(conn, _SIZE_KEY, DEFAULT_SIZE)


def _drop_upto(conn: sqlite3.Connection, cut: int, *, empty: tuple[int, ...] = ()) -> None:
    """Forget every delivery with an id up to ``cut``. The generation tables in ``empty`` hold
    nothing newer: they are emptied whole (a DELETE without WHERE frees their pages without
    visiting rows); the others row by row."""
    store.ledger_drop(conn, cut, empty)
    _set_meta(conn, _TRIMMED_KEY, cut)


# -- writing ---------------------------------------------------------------------------------
_DEVICE_KEY = attrgetter("device_id")
_MISSING: Any = object()


def _encode(value: Any) -> str:
    return dumps_bytes(value).decode()


def _matched_text(value: dict[str, Any] | None, memo: dict[Any, str | None]) -> str | None:
    """matched_by as JSON, memoised by content. A string value is its own key; any other value
    brings its type, since {"n": 1}, {"n": 1.0} and {"n": True} are equal keys but different JSON."""
    if value is None:
        return None
    items = tuple(value.items())
    try:
        if len(items) == 1 and items[0][1].__class__ is str:  # {"interest": "news"}: the usual case
            key: Any = items
        else:
            key = tuple((k, v, v.__class__) for k, v in items)
        text = memo.get(key)
        if text is None:
            text = memo[key] = _encode(value)
        return text
    except TypeError:  # an unhashable value (a list): no memo
        return _encode(value)


def record(conn: sqlite3.Connection, *, vendor: str, tenant: str, publish_id: str,
           deliveries: Iterable[Delivery], now: str) -> None:
    """Insert inside the caller's write transaction (ctx.store.write fn); trims the ledger to its bound.

    The publish itself is noted even when it reached no device, so that ``explain`` can
    answer for it."""
    bound = size(conn)
    if bound == 0:
        return
    texts: dict[str, int] = {}

    def payload_id(value: Any) -> int | None:
        if value is None:
            return None
        text = _encode(value)
        if text not in texts:  # equal payloads built per device are stored once too
            texts[text] = store.ledger_payload(conn, text, top)
        return texts[text]

    # Within a publish, ids follow the device ids: the device index is then written in key
    # order, not at random places (100,000 random ids in arrival order cost ~40% more).
    items = sorted(deliveries, key=_DEVICE_KEY)
    seq = _meta_int(conn, _SEQ_KEY, 0)  # ids only grow, even past rows a reset deleted
    # The ledger is two generation tables of at most ``bound`` rows each. New rows go to the
    # current one; when it would overflow, the older one is emptied whole and becomes the current
    # one. So the newest ``bound`` deliveries are always kept, never more than twice as many, and
    # dropping costs no per-row work. A publish reaching more than ``bound`` devices keeps its
    # newest ``bound`` rows only: the others get ids (so the drop mark covers them) but are never
    # written, and everything older goes.
    kept = items[-bound:]
    start = seq + len(items) - len(kept) + 1
    top = seq + len(items)
    current, gen_start = _meta_int(conn, _CURRENT_KEY, 0), _meta_int(conn, _START_KEY, 1)
    if len(kept) < len(items):
        _drop_upto(conn, start - 1, empty=(0, 1))
        gen_start = start
    elif top - gen_start + 1 > bound:  # the older generation (ids before gen_start) goes
        current = 1 - current
        _drop_upto(conn, gen_start - 1, empty=(current,))
        gen_start = start
    # One audience shares a few payloads and matched_by values: each is encoded once, memoised by
    # object id (``items`` keeps every object alive until record() returns, so ids stay unique)
    # and, for matched_by, by content too.
    payloads: dict[int, int | None] = {}
    matches: dict[Any, str | None] = {}
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for n, d in enumerate(kept, start):
        if d.status not in STATUSES:
            raise ValueError(f"delivery status must be one of {STATUSES}, got {d.status!r}")
        value = d.payload
        ref = id(value)
        pid = payloads.get(ref, _MISSING)
        if pid is _MISSING:
            pid = payloads[ref] = payload_id(value)
        value = d.matched_by
        ref = id(value)
        matched = matches.get(ref, _MISSING)
        if matched is _MISSING:
            matched = matches[ref] = _matched_text(value, matches)
        append((n, vendor, tenant, publish_id, d.device_id, d.platform, d.status, d.reason, matched, pid, now))
    first = seq + 1 if items else None
    store.ledger_insert(conn, current, rows)
    for key, value in ((_SEQ_KEY, top), (_CURRENT_KEY, current), (_START_KEY, gen_start)):
        _set_meta(conn, key, value)
    store.ledger_note_publish(conn, vendor, tenant, publish_id, first, now, keep=bound)


def clear(conn: sqlite3.Connection, vendor: str | None = None) -> None:
    """Forget deliveries, publishes and dead tokens (one vendor's, or all: then ids restart)."""
    store.ledger_clear(conn, vendor, meta_keys=_META_KEYS)


# -- dead tokens -------------------------------------------------------------------------------
def dead_tokens(conn: sqlite3.Connection, *, vendor: str, tenant: str) -> dict[str, str]:
    """device_id -> reason for every device whose token was invalidated (POST /_emulator/tokens/invalidate)."""
    return store.ledger_dead_tokens(conn, vendor, tenant)


def forget_dead_token(conn: sqlite3.Connection, *, vendor: str, tenant: str, device_id: str) -> None:
    """e.g. when a device re-registers with a fresh token."""
    store.ledger_forget_dead_token(conn, vendor, tenant, device_id)


def mark_dead_token(conn: sqlite3.Connection, *, vendor: str, tenant: str, device_id: str,
                    reason: str, now: str) -> None:
    store.ledger_mark_dead_token(conn, vendor, tenant, device_id, reason, now)


# -- reading ----------------------------------------------------------------------------------
def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": r[0], "vendor": r[1], "tenant": r[2], "publish_id": r[3], "device_id": r[4],
        "platform": r[5], "status": r[6], "reason": r[7],
        "matched_by": None if r[8] is None else orjson.loads(r[8]),
        "payload": None if r[9] is None else orjson.loads(r[9]),
        "time": r[10],
    }


def query(conn: sqlite3.Connection, *, vendor: str | None = None, tenant: str | None = None,
          publish_id: str | None = None, device_id: str | None = None, status: str | None = None,
          limit: int = 100) -> list[dict[str, Any]]:
    """Deliveries matching every given filter, newest first."""
    filters = {"vendor": vendor, "tenant": tenant, "publish_id": publish_id, "device_id": device_id,
               "status": status}
    out: list[dict[str, Any]] = []
    for gen in _generations(conn):  # the current one holds every newer id
        if len(out) < limit:
            out += [_row(r) for r in store.ledger_select(conn, gen, filters, limit - len(out))]
    return out


def _generations(conn: sqlite3.Connection) -> tuple[int, int]:
    current = _meta_int(conn, _CURRENT_KEY, 0)
    return current, 1 - current


def publish_tenant(conn: sqlite3.Connection, vendor: str, publish_id: str,
                   tenant: str | None = None) -> str | None:
    """The tenant a recorded publish belongs to (the newest, if several share the id)."""
    return store.ledger_publish_tenant(conn, vendor, publish_id, tenant)


def find(conn: sqlite3.Connection, vendor: str, tenant: str, publish_id: str,
         device_id: str) -> dict[str, Any] | None:
    """The newest delivery of that publish to that device, if the ledger holds one."""
    rows = query(conn, vendor=vendor, tenant=tenant, publish_id=publish_id, device_id=device_id, limit=1)
    return rows[0] if rows else None


def trimmed(conn: sqlite3.Connection, vendor: str, tenant: str, publish_id: str) -> bool:
    """Whether the bound dropped some of this publish's deliveries."""
    first = store.ledger_first_delivery(conn, vendor, tenant, publish_id)
    return first is not None and first <= _meta_int(conn, _TRIMMED_KEY, 0)
