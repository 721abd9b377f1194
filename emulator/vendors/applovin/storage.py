"""SQL for AppLovin: accounts (one per api_key), their device lists (soft-deleted, so a
deleted id stays 404 and its name is free again) and the device models on each list.

Every function takes the sqlite3 connection first and is run by the core Store, either as a
snapshot read or inside a write transaction; check-then-write happens in one function."""
from __future__ import annotations

import sqlite3
from typing import Any
from collections.abc import Iterable

from . import errors
from .rules import new_list_id
from ...storage import Browse

MIGRATIONS = (
    """
    CREATE TABLE applovin_accounts (
        id      INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL UNIQUE
    );
    CREATE TABLE applovin_device_lists (
        id             INTEGER PRIMARY KEY,
        account_id     INTEGER NOT NULL REFERENCES applovin_accounts(id),
        device_list_id TEXT NOT NULL UNIQUE,
        name           TEXT NOT NULL,
        description    TEXT NOT NULL DEFAULT '',
        deleted        INTEGER NOT NULL DEFAULT 0,
        device_count   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX applovin_device_lists_by_account ON applovin_device_lists(account_id, id);
    CREATE UNIQUE INDEX applovin_device_lists_active_name
        ON applovin_device_lists(account_id, name) WHERE deleted = 0;
    CREATE TABLE applovin_devices (
        id      INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL REFERENCES applovin_device_lists(id),
        device  TEXT NOT NULL,
        UNIQUE (list_id, device)
    );
    CREATE INDEX applovin_devices_in_order ON applovin_devices(list_id, id);
    """,
)


# -- accounts --------------------------------------------------------------------------------

def account_id(conn: sqlite3.Connection, api_key: str) -> int | None:
    row = conn.execute("SELECT id FROM applovin_accounts WHERE api_key = ?", (api_key,)).fetchone()
    return row[0] if row else None


def ensure_account(conn: sqlite3.Connection, api_key: str) -> int:
    conn.execute("INSERT INTO applovin_accounts(api_key) VALUES (?) ON CONFLICT(api_key) DO NOTHING",
                 (api_key,))
    found = account_id(conn, api_key)
    assert found is not None
    return found


# -- lists -----------------------------------------------------------------------------------

def active_list_pk(conn: sqlite3.Connection, account: int, device_list_id: str) -> int | None:
    """The row id of an active list of this account, or None (unknown, deleted, foreign)."""
    row = conn.execute(
        "SELECT id FROM applovin_device_lists WHERE device_list_id = ? AND account_id = ? AND deleted = 0",
        (device_list_id, account),
    ).fetchone()
    return row[0] if row else None


def require_active_list(conn: sqlite3.Connection, account: int, device_list_id: str) -> int:
    pk = active_list_pk(conn, account, device_list_id)
    if pk is None:
        raise errors.list_not_found()
    return pk


def active_name_owner(conn: sqlite3.Connection, account: int, name: str) -> str | None:
    """The id of the active list of this account with this exact name, if any."""
    row = conn.execute(
        "SELECT device_list_id FROM applovin_device_lists WHERE account_id = ? AND name = ? AND deleted = 0",
        (account, name),
    ).fetchone()
    return row[0] if row else None


def create_list(conn: sqlite3.Connection, account: int, name: str, description: str) -> str:
    if active_name_owner(conn, account, name) is not None:
        raise errors.name_taken()
    list_id = new_list_id()
    while conn.execute("SELECT 1 FROM applovin_device_lists WHERE device_list_id = ?", (list_id,)).fetchone():
        list_id = new_list_id()  # pragma: no cover - a uuid4 collision
    conn.execute(
        "INSERT INTO applovin_device_lists(account_id, device_list_id, name, description) VALUES (?, ?, ?, ?)",
        (account, list_id, name, description),
    )
    return list_id


def active_lists(conn: sqlite3.Connection, account: int) -> list[dict]:
    """The account's active lists in creation order, in ``list``'s shape."""
    rows = conn.execute(
        "SELECT device_list_id, name, description, device_count FROM applovin_device_lists "
        "WHERE account_id = ? AND deleted = 0 ORDER BY id",
        (account,),
    )
    return [{"device_list_id": r[0], "name": r[1], "description": r[2], "device_count": r[3]} for r in rows]


def list_devices(conn: sqlite3.Connection, account: int, device_list_id: str) -> list[str]:
    pk = require_active_list(conn, account, device_list_id)
    return devices_of(conn, pk)


def devices_of(conn: sqlite3.Connection, list_pk: int) -> list[str]:
    """A list's device models in insertion order."""
    return [r[0] for r in conn.execute(
        "SELECT device FROM applovin_devices WHERE list_id = ? ORDER BY id", (list_pk,))]


def fixture_list(conn: sqlite3.Connection, device_list_id: str) -> tuple[int, int, bool] | None:
    """(row id, owning account row id, deleted) of a list by its id, deleted or not."""
    row = conn.execute("SELECT id, account_id, deleted FROM applovin_device_lists WHERE device_list_id = ?",
                       (device_list_id,)).fetchone()
    return None if row is None else (row[0], row[1], bool(row[2]))


def insert_list(conn: sqlite3.Connection, account: int, device_list_id: str, name: str, description: str,
                deleted: bool) -> int:
    """A fixture's list, with its given id; returns its row id."""
    cur = conn.execute(
        "INSERT INTO applovin_device_lists(account_id, device_list_id, name, description, deleted) "
        "VALUES (?, ?, ?, ?, ?)",
        (account, device_list_id, name, description, int(deleted)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def update_list(conn: sqlite3.Connection, list_pk: int, name: str, deleted: bool,
                description: str | None = None) -> None:
    """A fixture's fields over a stored list (``description`` None: kept)."""
    conn.execute("UPDATE applovin_device_lists SET name = ?, deleted = ? WHERE id = ?", (name, int(deleted), list_pk))
    if description is not None:
        conn.execute("UPDATE applovin_device_lists SET description = ? WHERE id = ?", (description, list_pk))


def delete_list(conn: sqlite3.Connection, account: int, device_list_id: str) -> None:
    pk = require_active_list(conn, account, device_list_id)
    conn.execute("UPDATE applovin_device_lists SET deleted = 1 WHERE id = ?", (pk,))


# -- devices ---------------------------------------------------------------------------------

def add_devices(conn: sqlite3.Connection, list_pk: int, devices: Iterable[str]) -> None:
    """Add models not yet on the list (insertion order kept; existing ones untouched)."""
    cur = conn.executemany(
        "INSERT INTO applovin_devices(list_id, device) VALUES (?, ?) ON CONFLICT(list_id, device) DO NOTHING",
        ((list_pk, d) for d in devices),
    )
    _adjust_count(conn, list_pk, cur.rowcount)


def remove_devices(conn: sqlite3.Connection, list_pk: int, devices: Iterable[str]) -> set[str]:
    """Remove the given models; return those that were on the list."""
    removed: set[str] = set()
    for device in dict.fromkeys(devices):
        cur = conn.execute("DELETE FROM applovin_devices WHERE list_id = ? AND device = ?", (list_pk, device))
        if cur.rowcount:
            removed.add(device)
    _adjust_count(conn, list_pk, -len(removed))
    return removed


def replace_devices(conn: sqlite3.Connection, list_pk: int, devices: list[str]) -> None:
    conn.execute("DELETE FROM applovin_devices WHERE list_id = ?", (list_pk,))
    conn.execute("UPDATE applovin_device_lists SET device_count = 0 WHERE id = ?", (list_pk,))
    add_devices(conn, list_pk, devices)


def _adjust_count(conn: sqlite3.Connection, list_pk: int, delta: int) -> None:
    if delta:
        conn.execute("UPDATE applovin_device_lists SET device_count = device_count + ? WHERE id = ?",
                     (delta, list_pk))


def append_devices(conn: sqlite3.Connection, account: int, device_list_id: str, valid: list[str]) -> None:
    """``append``: every valid model ends up on the list once (already there: no change)."""
    add_devices(conn, require_active_list(conn, account, device_list_id), valid)


def delete_devices(conn: sqlite3.Connection, account: int, device_list_id: str, valid: list[str]) -> int:
    """``deleteDevices``: remove the models; return how many lines named a model that was on
    the list when the request started (a repeated line of a removed model counts too)."""
    removed = remove_devices(conn, require_active_list(conn, account, device_list_id), valid)
    return sum(1 for device in valid if device in removed)


# -- export ----------------------------------------------------------------------------------

def export_accounts(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every account with all its lists (deleted ones marked), in creation order: the fixture shape."""
    lists_by_account: dict[int, list[dict[str, Any]]] = {}
    for pk, account_pk, list_id, name, description, deleted in conn.execute(
        "SELECT id, account_id, device_list_id, name, description, deleted FROM applovin_device_lists ORDER BY id"
    ):
        entry: dict[str, Any] = {"device_list_id": list_id, "name": name, "description": description,
                                 "devices": devices_of(conn, pk)}
        if deleted:
            entry["deleted"] = True
        lists_by_account.setdefault(account_pk, []).append(entry)
    return [{"api_key": api_key, "device_lists": lists_by_account.get(account_pk, [])}
            for account_pk, api_key in conn.execute("SELECT id, api_key FROM applovin_accounts ORDER BY id")]


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="applovin_accounts", tenant_key="id", tenant_name="api_key",
                device_table="applovin_device_lists", device_tenant="account_id", device_id="device_list_id",
                columns=("device_list_id", "name", "description", "device_count", "deleted"),
                device_label="device lists")
