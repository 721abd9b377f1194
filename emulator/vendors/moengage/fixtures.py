"""The ``moengage`` part of the fixture document: validate (with JSON paths), merge, export.

``{"workspaces": [{"app_id", "api_key", "status"?, "customers": [...], "devices": [...],
"events": [...], "dropped": [...]}]}`` -- the same shape ``GET /_emulator/state`` returns.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from ...fixtures import FixtureError, each_object, expect_keys, expect_object, expect_str, expect_unique
from ...httputil import unstorable
from . import storage
from .errors import ACCOUNT_STATES, request_id

ENDPOINTS = ("device", "customer", "event", "transition")


def _optional_object(obj: dict, key: str, path: str) -> None:
    if key in obj:
        expect_object(obj[key], f"{path}.{key}")


def validate(doc: Any, path: str) -> None:
    expect_keys(doc, path, optional=("workspaces",))
    problem = unstorable(doc, path)
    if problem is not None:
        raise FixtureError(*problem)
    seen_apps = []
    for ws, wp in each_object(doc, "workspaces", path):
        expect_keys(ws, wp, required=("app_id", "api_key"),
                    optional=("status", "customers", "devices", "events", "dropped"))
        seen_apps.append((f"{wp}.app_id", expect_str(ws["app_id"], f"{wp}.app_id", pattern=r"[^/]+")))
        expect_str(ws["api_key"], f"{wp}.api_key", nullable=True)
        if "status" in ws:
            expect_str(ws["status"], f"{wp}.status", choices=ACCOUNT_STATES)
        customers = []
        for customer, cp in each_object(ws, "customers", wp):
            expect_keys(customer, cp, required=("customer_id",), optional=("attributes",))
            customers.append((f"{cp}.customer_id", expect_str(customer["customer_id"], f"{cp}.customer_id",
                                                              pattern=r".+")))
            _optional_object(customer, "attributes", cp)
        expect_unique(customers, "customer_id")
        devices = []
        for device, dp in each_object(ws, "devices", wp):
            expect_keys(device, dp, required=("customer_id", "device_id"), optional=("attributes",))
            cid = expect_str(device["customer_id"], f"{dp}.customer_id", pattern=r".+")
            did = expect_str(device["device_id"], f"{dp}.device_id", pattern=r".+")
            devices.append((f"{dp}.device_id", (cid, did)))
            _optional_object(device, "attributes", dp)
        expect_unique(devices, "device (customer_id, device_id)")
        events = []
        for event, ep in each_object(ws, "events", wp):
            expect_keys(event, ep, required=("customer_id", "action"),
                        optional=("id", "attributes", "properties", "received_at"))
            expect_str(event["customer_id"], f"{ep}.customer_id", pattern=r".+")
            expect_str(event["action"], f"{ep}.action", pattern=r".+")
            _optional_object(event, "attributes", ep)
            _optional_object(event, "properties", ep)
            expect_str(event.get("received_at"), f"{ep}.received_at", nullable=True)
            if "id" in event:
                events.append((f"{ep}.id", expect_str(event["id"], f"{ep}.id", pattern=r".+")))
        expect_unique(events, "event id")
        drops = []
        for drop, rp in each_object(ws, "dropped", wp):
            expect_keys(drop, rp, required=("endpoint", "reason"), optional=("id", "payload", "received_at"))
            expect_str(drop["endpoint"], f"{rp}.endpoint", choices=ENDPOINTS)
            expect_str(drop["reason"], f"{rp}.reason")
            expect_str(drop.get("received_at"), f"{rp}.received_at", nullable=True)
            if "id" in drop:
                drops.append((f"{rp}.id", expect_str(drop["id"], f"{rp}.id", pattern=r".+")))
        expect_unique(drops, "dropped id")
    expect_unique(seen_apps, "app_id")


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    """Merge: workspaces by app_id, customers by customer_id (attributes key by key),
    devices by (customer_id, device_id), events and drops by id; nothing removed."""
    for i, ws in enumerate(doc.get("workspaces", [])):
        wp = f"{path}.workspaces[{i}]"
        app_id = ws["app_id"]
        storage.upsert_workspace(conn, app_id, {k: ws[k] for k in ("api_key", "status") if k in ws})
        for customer in ws.get("customers", []):
            current = storage.customer_attributes(conn, app_id, customer["customer_id"]) or {}
            storage.put_customer(conn, app_id, customer["customer_id"],
                                 {**current, **customer.get("attributes", {})})
        for j, device in enumerate(ws.get("devices", [])):
            if not storage.customer_exists(conn, app_id, device["customer_id"]):
                raise FixtureError(f"{wp}.devices[{j}].customer_id",
                                   f"customer {device['customer_id']!r} does not exist in workspace {app_id!r}")
            storage.merge_device(conn, app_id, device["customer_id"], device["device_id"],
                                 device.get("attributes", {}))
        for event in ws.get("events", []):
            storage.upsert_event(conn, app_id, {**event, "id": event.get("id") or f"fixture-{request_id()}"})
        for drop in ws.get("dropped", []):
            storage.upsert_dropped(conn, app_id, {**drop, "id": drop.get("id") or f"fixture-{request_id()}"})


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    return {"workspaces": storage.export_workspaces(conn)}
