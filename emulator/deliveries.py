"""The delivery ledger: one row per attempt to reach one device, kept in SQLite.

Vendors that target devices (a push to interests, users, tags, aliases; an update offered to
a device) resolve their audience and call :func:`record` inside the write transaction that
accepts the publish. The control plane answers "did my push reach this device, with which
payload, and if not, why not?" from these rows and, for devices the audience did not select,
from the vendor's :meth:`emulator.vendor.Vendor.explain_miss`.

Tables are the core's (``core_*``): a vendor reset does not empty them by name, so
:func:`clear` is called by every reset and state replacement. The ledger is bounded: it keeps
at most the newest ``deliveries_size`` rows (``--deliveries-size``); older rows are dropped as
new ones arrive, and :func:`trimmed` tells whether a publish lost rows that way.

This module knows no vendor by name.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable

import orjson

from .jsoncodec import dumps_bytes

#: statuses a delivery can have
STATUSES = ("delivered", "failed")
#: default bound of the ledger (rows); 0 keeps no deliveries at all
DEFAULT_SIZE = 100_000

#: the core's ledger tables (migration component ``core``)
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS core_deliveries (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        vendor      TEXT NOT NULL,
        tenant      TEXT NOT NULL,
        publish_id  TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        platform    TEXT,
        status      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        matched_by  TEXT,
        payload     TEXT,
        time        TEXT NOT NULL
    );
    -- every index ends in the rowid (id): each serves its filter newest first without a sort
    CREATE INDEX IF NOT EXISTS core_deliveries_publish ON core_deliveries(vendor, publish_id);
    CREATE INDEX IF NOT EXISTS core_deliveries_device ON core_deliveries(device_id);
    CREATE TABLE IF NOT EXISTS core_publishes (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        vendor          TEXT NOT NULL,
        tenant          TEXT NOT NULL,
        publish_id      TEXT NOT NULL,
        first_delivery  INTEGER,
        time            TEXT NOT NULL,
        UNIQUE (vendor, publish_id, tenant)
    );
    CREATE TABLE IF NOT EXISTS core_dead_tokens (
        vendor     TEXT NOT NULL,
        tenant     TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        reason     TEXT NOT NULL,
        time       TEXT NOT NULL,
        PRIMARY KEY (vendor, tenant, device_id)
    );
    """,
)

_SIZE_KEY = "deliveries_size"
_TRIMMED_KEY = "deliveries_trimmed_upto"
_COLUMNS = "id, vendor, tenant, publish_id, device_id, platform, status, reason, matched_by, payload, time"


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
def _meta_int(conn: sqlite3.Connection, key: str, default: int) -> int:
    row = conn.execute("SELECT value FROM core_meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row is not None else default


def _set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute("INSERT INTO core_meta(key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, str(value)))


def configure(conn: sqlite3.Connection, size: int) -> None:
    """Set the ledger's bound (at start-up) and trim to it at once."""
    _set_meta(conn, _SIZE_KEY, size)
    _trim(conn, size)


def size(conn: sqlite3.Connection) -> int:
    return _meta_int(conn, _SIZE_KEY, DEFAULT_SIZE)


def _trim(conn: sqlite3.Connection, bound: int) -> None:
    top = conn.execute("SELECT max(id) FROM core_deliveries").fetchone()[0]
    if top is None:
        return
    cut = top - bound  # ids only grow, so the newest ``bound`` ids are above ``cut``
    if cut > _meta_int(conn, _TRIMMED_KEY, 0):
        conn.execute("DELETE FROM core_deliveries WHERE id <= ?", (cut,))
        _set_meta(conn, _TRIMMED_KEY, cut)
    ptop = conn.execute("SELECT max(id) FROM core_publishes").fetchone()[0]
    if ptop is not None and ptop > bound:
        conn.execute("DELETE FROM core_publishes WHERE id <= ?", (ptop - bound,))


# -- writing ---------------------------------------------------------------------------------
def record(conn: sqlite3.Connection, *, vendor: str, tenant: str, publish_id: str,
           deliveries: Iterable[Delivery], now: str) -> None:
    """Insert inside the caller's write transaction (ctx.store.write fn); trims the ledger to its bound.

    The publish itself is noted even when it reached no device, so that ``explain`` can
    answer for it."""
    bound = size(conn)
    if bound == 0:
        return
    # One audience shares a few payload objects and a few matched_by values: encode each once.
    payloads: dict[int, str | None] = {}
    matches: dict[Any, str | None] = {}

    def enc(value: Any) -> str | None:
        return None if value is None else dumps_bytes(value).decode()

    def payload(value: Any) -> str | None:
        key = id(value)  # ``items`` keeps every payload alive until record() returns: ids stay unique
        if key not in payloads:
            payloads[key] = enc(value)
        return payloads[key]

    def matched(value: dict[str, Any] | None) -> str | None:
        try:
            # the type too: {"a": 1}, {"a": 1.0} and {"a": True} are equal keys but different JSON
            key = None if value is None else tuple((k, v.__class__, v) for k, v in value.items())
            if key not in matches:
                matches[key] = enc(value)
            return matches[key]
        except TypeError:  # an unhashable value
            return enc(value)

    items = list(deliveries)
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'core_deliveries'").fetchone()
    seq = 0 if row is None else row[0]  # ids only grow, even past rows a reset deleted
    for d in items:
        if d.status not in STATUSES:
            raise ValueError(f"delivery status must be one of {STATUSES}, got {d.status!r}")
    # Only the newest ``bound`` would survive the trim: the others get ids (so the trim mark,
    # set by the trim below, shows this publish lost rows) but are never written.
    kept = items[-bound:]
    start = seq + len(items) - len(kept) + 1
    rows = [
        (start + n, vendor, tenant, publish_id, d.device_id, d.platform, d.status, d.reason,
         matched(d.matched_by), payload(d.payload), now)
        for n, d in enumerate(kept)
    ]
    first = seq + 1 if items else None
    conn.executemany(
        "INSERT INTO core_deliveries(id, vendor, tenant, publish_id, device_id, platform, status, "
        "reason, matched_by, payload, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute(
        "INSERT INTO core_publishes(vendor, tenant, publish_id, first_delivery, time) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(vendor, publish_id, tenant) DO UPDATE SET "
        "first_delivery = coalesce(first_delivery, excluded.first_delivery), time = excluded.time",
        (vendor, tenant, publish_id, first, now))
    _trim(conn, bound)


def clear(conn: sqlite3.Connection, vendor: str | None = None) -> None:
    """Forget deliveries, publishes and dead tokens (one vendor's, or all: then ids restart)."""
    for table in ("core_deliveries", "core_publishes", "core_dead_tokens"):
        if vendor is None:
            conn.execute(f"DELETE FROM {table}")
        else:
            conn.execute(f"DELETE FROM {table} WHERE vendor = ?", (vendor,))
    if vendor is None:
        conn.execute("DELETE FROM sqlite_sequence WHERE name IN ('core_deliveries', 'core_publishes')")
        conn.execute("DELETE FROM core_meta WHERE key = ?", (_TRIMMED_KEY,))


# -- dead tokens -------------------------------------------------------------------------------
def dead_tokens(conn: sqlite3.Connection, *, vendor: str, tenant: str) -> dict[str, str]:
    """device_id -> reason for every device whose token was invalidated (POST /_emulator/tokens/invalidate)."""
    return dict(conn.execute(
        "SELECT device_id, reason FROM core_dead_tokens WHERE vendor = ? AND tenant = ?", (vendor, tenant)))


def forget_dead_token(conn: sqlite3.Connection, *, vendor: str, tenant: str, device_id: str) -> None:
    """e.g. when a device re-registers with a fresh token."""
    conn.execute("DELETE FROM core_dead_tokens WHERE vendor = ? AND tenant = ? AND device_id = ?",
                 (vendor, tenant, device_id))


def mark_dead_token(conn: sqlite3.Connection, *, vendor: str, tenant: str, device_id: str,
                    reason: str, now: str) -> None:
    conn.execute(
        "INSERT INTO core_dead_tokens(vendor, tenant, device_id, reason, time) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(vendor, tenant, device_id) DO UPDATE SET reason = excluded.reason, time = excluded.time",
        (vendor, tenant, device_id, reason, now))


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
    where, args = [], []
    for column, value in (("vendor", vendor), ("tenant", tenant), ("publish_id", publish_id),
                          ("device_id", device_id), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = f"SELECT {_COLUMNS} FROM core_deliveries"
    if device_id is not None:  # a device's rows are few; a publish's or a tenant's may be the whole ledger
        sql += " INDEXED BY core_deliveries_device"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    return [_row(r) for r in conn.execute(sql, (*args, limit))]


def publish_tenant(conn: sqlite3.Connection, vendor: str, publish_id: str,
                   tenant: str | None = None) -> str | None:
    """The tenant a recorded publish belongs to (the newest, if several share the id)."""
    sql = "SELECT tenant FROM core_publishes WHERE vendor = ? AND publish_id = ?"
    args: tuple[Any, ...] = (vendor, publish_id)
    if tenant is not None:
        sql += " AND tenant = ?"
        args += (tenant,)
    row = conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
    return None if row is None else row[0]


def find(conn: sqlite3.Connection, vendor: str, tenant: str, publish_id: str,
         device_id: str) -> dict[str, Any] | None:
    """The newest delivery of that publish to that device, if the ledger holds one."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM core_deliveries INDEXED BY core_deliveries_device "
        "WHERE vendor = ? AND publish_id = ? AND device_id = ? "
        "AND tenant = ? ORDER BY id DESC LIMIT 1", (vendor, publish_id, device_id, tenant)).fetchone()
    return None if row is None else _row(row)


def trimmed(conn: sqlite3.Connection, vendor: str, tenant: str, publish_id: str) -> bool:
    """Whether the bound dropped some of this publish's deliveries."""
    row = conn.execute("SELECT first_delivery FROM core_publishes WHERE vendor = ? AND tenant = ? "
                       "AND publish_id = ?", (vendor, tenant, publish_id)).fetchone()
    return row is not None and row[0] is not None and row[0] <= _meta_int(conn, _TRIMMED_KEY, 0)
