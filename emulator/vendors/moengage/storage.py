"""MoEngage tables, the SQL the routes and fixtures run through the Store, and the write
functions that apply a validated Data API body inside one transaction.

A workspace owns customers; a device belongs to one customer (key: workspace, customer,
device); events and dropped requests are append-only logs with an emulator-made ``id``.
Free-form attributes are stored as JSON text.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ...jsoncodec import canonical
from ...storage import Browse
from .errors import FAMILIES, Invalid, unknown_customer_message
from .rules import (CustomerUpdate, DeviceUpdate, EventBatch, Rules, merged_customer_attributes, parse_customer,
                    parse_device, parse_event)

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


def create_workspace(conn: sqlite3.Connection, app_id: str, *, api_key: str) -> tuple[str | None, str] | None:
    """Open auth mode: the first request of an unknown workspace creates it with the
    request's password as its key; returns what :func:`get_workspace` returns."""
    conn.execute("INSERT OR IGNORE INTO moengage_workspaces(app_id, api_key) VALUES (?, ?)",
                 (app_id, api_key))
    return get_workspace(conn, app_id)


# -- customers and devices ---------------------------------------------------------------------

def customer_attributes(conn: sqlite3.Connection, app_id: str, customer_id: str) -> dict | None:
    row = conn.execute(
        "SELECT attributes FROM moengage_customers WHERE app_id = ? AND customer_id = ?",
        (app_id, customer_id),
    ).fetchone()
    return None if row is None else json.loads(row[0])


def customer_exists(conn: sqlite3.Connection, app_id: str, customer_id: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM moengage_customers WHERE app_id = ? AND customer_id = ?", (app_id, customer_id)
    ).fetchone() is not None


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


# -- write functions (run inside Store.write) ---------------------------------------------------

@dataclass
class Receipt:
    """Identity and time of one accepted request, for the ids of what it records."""

    request_id: str
    received_at: str
    _counter: int = field(default=0)

    def next_id(self) -> str:
        self._counter += 1
        return f"{self.request_id}-{self._counter}"


def record_drop(conn: sqlite3.Connection, app_id: str, receipt: Receipt, endpoint: str, reason: str,
                payload: Any) -> None:
    upsert_dropped(conn, app_id, {"id": receipt.next_id(), "endpoint": endpoint, "reason": reason,
                                          "payload": payload, "received_at": receipt.received_at})


def apply_customer(conn: sqlite3.Connection, app_id: str, update: CustomerUpdate, receipt: Receipt,
                   endpoint: str = "customer") -> None:
    current = customer_attributes(conn, app_id, update.customer_id)
    if current is None and update.update_existing_only:
        record_drop(conn, app_id, receipt, endpoint,
                    f"update_existing_only: {unknown_customer_message(update.customer_id)}", update.payload)
        return
    put_customer(conn, app_id, update.customer_id, merged_customer_attributes(current or {}, update))


def apply_device(conn: sqlite3.Connection, app_id: str, update: DeviceUpdate, receipt: Receipt,
                 strict_customer: bool, endpoint: str = "device") -> None:
    """Store the device under its customer; an unknown customer drops it (or, strict, 400)."""
    if not customer_exists(conn, app_id, update.customer_id):
        message = unknown_customer_message(update.customer_id)
        if strict_customer:
            raise Invalid("customer_id", message, "Not Found").api_error()
        record_drop(conn, app_id, receipt, endpoint, message, update.payload)
        return
    merge_device(conn, app_id, update.customer_id, update.device_id, update.attributes)


def apply_events(conn: sqlite3.Connection, app_id: str, batch: EventBatch, receipt: Receipt) -> None:
    for action in batch.actions:
        properties = {k: v for k, v in action.items() if k not in ("action", "attributes")}
        for key in ("device_id", "user_identifiers"):
            if key in batch.payload:
                properties.setdefault(key, batch.payload[key])
        upsert_event(conn, app_id, {
            "id": receipt.next_id(), "customer_id": batch.customer_id, "action": action["action"],
            "attributes": action.get("attributes") or {}, "properties": properties,
            "received_at": receipt.received_at,
        })


def apply_bulk(conn: sqlite3.Connection, app_id: str, elements: list[dict[str, Any]], rules: Rules,
               receipt: Receipt) -> None:
    """Each element as if sent alone, in order; an element the single endpoint would refuse,
    or a device of an unknown customer, is dropped and recorded (the bulk API answers 200)."""
    for element in elements:
        kind = element["type"]
        family = FAMILIES[kind]
        try:
            if kind == "customer":
                apply_customer(conn, app_id, parse_customer(element, family, check_body_type=False),
                               receipt, "transition")
            elif kind == "device":
                apply_device(conn, app_id, parse_device(element, family, rules, check_body_type=False),
                             receipt, strict_customer=False, endpoint="transition")
            else:
                apply_events(conn, app_id, parse_event(element, family), receipt)
        except Invalid as problem:
            record_drop(conn, app_id, receipt, "transition", problem.message, element)


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="moengage_workspaces", tenant_key="app_id", device_table="moengage_devices",
                device_tenant="app_id", device_id="device_id", columns=("device_id", "customer_id", "attributes"))
