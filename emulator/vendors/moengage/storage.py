"""MoEngage tables and the SQL the routes and fixtures run through the Store.

A workspace owns customers; a device belongs to one customer (key: workspace, customer,
device); events and dropped requests are append-only logs with an emulator-made ``id``.
Free-form attributes are stored as JSON text.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from ...jsoncodec import canonical
from ...storage import Browse

MIGRATIONS = (
    """
    CREATE TABLE moengage_workspaces (
        app_id  TEXT PRIMARY KEY,
        api_key TEXT,
        status  TEXT NOT NULL DEFAULT 'active'
    );
    CREATE TABLE moengage_customers (
        app_id      TEXT NOT NULL REFERENCES moengage_workspaces(app_id),
        customer_id TEXT NOT NULL,
        attributes  TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (app_id, customer_id)
    );
    CREATE TABLE moengage_devices (
        app_id      TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        attributes  TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (app_id, customer_id, device_id),
        FOREIGN KEY (app_id, customer_id) REFERENCES moengage_customers(app_id, customer_id)
    );
    CREATE INDEX moengage_devices_by_device ON moengage_devices(app_id, device_id);
    CREATE TABLE moengage_events (
        seq         INTEGER PRIMARY KEY,
        app_id      TEXT NOT NULL REFERENCES moengage_workspaces(app_id),
        id          TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        action      TEXT NOT NULL,
        attributes  TEXT NOT NULL DEFAULT '{}',
        properties  TEXT NOT NULL DEFAULT '{}',
        received_at TEXT,
        UNIQUE (app_id, id)
    );
    CREATE INDEX moengage_events_by_customer ON moengage_events(app_id, customer_id);
    CREATE TABLE moengage_dropped (
        seq         INTEGER PRIMARY KEY,
        app_id      TEXT NOT NULL REFERENCES moengage_workspaces(app_id),
        id          TEXT NOT NULL,
        endpoint    TEXT NOT NULL,
        reason      TEXT NOT NULL,
        payload     TEXT NOT NULL DEFAULT 'null',
        received_at TEXT,
        UNIQUE (app_id, id)
    );
    """,
)




# -- workspaces -------------------------------------------------------------------------------

def get_workspace(conn: sqlite3.Connection, app_id: str) -> tuple[str | None, str] | None:
    """(api_key, status) of a workspace, or None."""
    row = conn.execute(
        "SELECT api_key, status FROM moengage_workspaces WHERE app_id = ?", (app_id,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def upsert_workspace(conn: sqlite3.Connection, app_id: str, fields: dict[str, Any]) -> None:
    """Create a workspace or update the given fields (``api_key``, ``status``)."""
    conn.execute("INSERT OR IGNORE INTO moengage_workspaces(app_id) VALUES (?)", (app_id,))
    for column in ("api_key", "status"):
        if column in fields:
            conn.execute(f"UPDATE moengage_workspaces SET {column} = ? WHERE app_id = ?",
                         (fields[column], app_id))


def ensure_workspace(conn: sqlite3.Connection, app_id: str, api_key: str) -> None:
    """Open auth mode: the first request of an unknown workspace creates it."""
    conn.execute("INSERT OR IGNORE INTO moengage_workspaces(app_id, api_key) VALUES (?, ?)",
                 (app_id, api_key))


# -- customers and devices ---------------------------------------------------------------------

def customer_attributes(conn: sqlite3.Connection, app_id: str, customer_id: str) -> dict | None:
    row = conn.execute(
        "SELECT attributes FROM moengage_customers WHERE app_id = ? AND customer_id = ?",
        (app_id, customer_id),
    ).fetchone()
    return None if row is None else json.loads(row[0])


def put_customer(conn: sqlite3.Connection, app_id: str, customer_id: str, attributes: dict) -> None:
    """Store a customer's whole attribute object (callers merge first)."""
    conn.execute(
        "INSERT INTO moengage_customers(app_id, customer_id, attributes) VALUES (?, ?, ?) "
        "ON CONFLICT(app_id, customer_id) DO UPDATE SET attributes = excluded.attributes",
        (app_id, customer_id, canonical(attributes)),
    )


def merge_device(conn: sqlite3.Connection, app_id: str, customer_id: str, device_id: str,
                 attributes: dict) -> None:
    """Create the device or merge ``attributes`` into the stored ones (new keys win)."""
    row = conn.execute(
        "SELECT attributes FROM moengage_devices WHERE app_id = ? AND customer_id = ? AND device_id = ?",
        (app_id, customer_id, device_id),
    ).fetchone()
    merged = {**json.loads(row[0]), **attributes} if row else dict(attributes)
    conn.execute(
        "INSERT INTO moengage_devices(app_id, customer_id, device_id, attributes) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(app_id, customer_id, device_id) DO UPDATE SET attributes = excluded.attributes",
        (app_id, customer_id, device_id, canonical(merged)),
    )


# -- logs ------------------------------------------------------------------------------------

def upsert_event(conn: sqlite3.Connection, app_id: str, event: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO moengage_events(app_id, id, customer_id, action, attributes, properties, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(app_id, id) DO UPDATE SET "
        "customer_id = excluded.customer_id, action = excluded.action, attributes = excluded.attributes, "
        "properties = excluded.properties, received_at = excluded.received_at",
        (app_id, event["id"], event["customer_id"], event["action"], canonical(event.get("attributes", {})),
         canonical(event.get("properties", {})), event.get("received_at")),
    )


def upsert_dropped(conn: sqlite3.Connection, app_id: str, drop: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO moengage_dropped(app_id, id, endpoint, reason, payload, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(app_id, id) DO UPDATE SET endpoint = excluded.endpoint, "
        "reason = excluded.reason, payload = excluded.payload, received_at = excluded.received_at",
        (app_id, drop["id"], drop["endpoint"], drop["reason"], canonical(drop.get("payload")),
         drop.get("received_at")),
    )


# -- export ----------------------------------------------------------------------------------

def export_workspaces(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every workspace with its customers, devices, events and drops, in a stable order."""
    out = []
    for app_id, api_key, status in conn.execute(
            "SELECT app_id, api_key, status FROM moengage_workspaces ORDER BY app_id").fetchall():
        ws: dict[str, Any] = {"app_id": app_id, "api_key": api_key}
        if status != "active":
            ws["status"] = status
        ws["customers"] = [
            {"customer_id": cid, "attributes": json.loads(attrs)}
            for cid, attrs in conn.execute(
                "SELECT customer_id, attributes FROM moengage_customers WHERE app_id = ? ORDER BY customer_id",
                (app_id,))
        ]
        ws["devices"] = [
            {"customer_id": cid, "device_id": did, "attributes": json.loads(attrs)}
            for cid, did, attrs in conn.execute(
                "SELECT customer_id, device_id, attributes FROM moengage_devices WHERE app_id = ? "
                "ORDER BY customer_id, device_id", (app_id,))
        ]
        ws["events"] = [
            {"id": eid, "customer_id": cid, "action": action, "attributes": json.loads(attrs),
             "properties": json.loads(props), "received_at": received}
            for eid, cid, action, attrs, props, received in conn.execute(
                "SELECT id, customer_id, action, attributes, properties, received_at FROM moengage_events "
                "WHERE app_id = ? ORDER BY seq", (app_id,))
        ]
        ws["dropped"] = [
            {"id": did, "endpoint": endpoint, "reason": reason, "payload": json.loads(payload),
             "received_at": received}
            for did, endpoint, reason, payload, received in conn.execute(
                "SELECT id, endpoint, reason, payload, received_at FROM moengage_dropped "
                "WHERE app_id = ? ORDER BY seq", (app_id,))
        ]
        out.append(ws)
    return out


def customer_exists(conn: sqlite3.Connection, app_id: str, customer_id: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM moengage_customers WHERE app_id = ? AND customer_id = ?", (app_id, customer_id)
    ).fetchone() is not None


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="moengage_workspaces", tenant_key="app_id", device_table="moengage_devices",
                device_tenant="app_id", device_id="device_id", columns=("device_id", "customer_id", "attributes"))
