"""The ``beams`` part of the fixture document: validate (JSON paths), merge, export.

Shape (what GET /_emulator/state returns)::

    {"instances": [{"instance_id": "<uuid>", "secret_key": "...", "vapid_private_key": "<b64url>",
                    "devices": [{"id", "platform", "token", "user_id", "interests", "metadata",
                                 "bundle_identifier"}],
                    "publishes": [{"publish_id", "interests"|"users", "request", "device_ids", "time"}],
                    "events": [{"body", "time"}],
                    "deleted_users": [{"user_id", "device_ids", "time"}]}]}
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from ...fixtures import (FixtureError, expect_keys, expect_list, expect_number, expect_object,
                         expect_str, expect_unique)
from . import errors, storage
from .jwtcheck import MAX_USER_ID
from .routes import DEVICE_ID_RE, INTEREST_RE, PLATFORMS, UUID_RE

INSTANCE_KEYS = ("vapid_private_key", "devices", "publishes", "events", "deleted_users")
DEVICE_OPTIONAL = ("user_id", "interests", "metadata", "bundle_identifier")


def _str_list(value: Any, path: str, *, pattern: str | None = None, max_items: int | None = None) -> list[str]:
    items = expect_list(value, path)
    if max_items is not None and len(items) > max_items:
        raise FixtureError(path, f"at most {max_items} items")
    for i, item in enumerate(items):
        expect_str(item, f"{path}[{i}]", pattern=pattern)
    return items


def _validate_device(device: Any, path: str) -> None:
    expect_object(device, path)
    expect_keys(device, path, required=("id", "platform", "token"), optional=DEVICE_OPTIONAL)
    expect_str(device["id"], f"{path}.id", pattern=DEVICE_ID_RE.pattern)
    expect_str(device["platform"], f"{path}.platform", choices=PLATFORMS)
    expect_str(device["token"], f"{path}.token", pattern=r".+")
    if device.get("user_id") is not None:
        expect_str(device["user_id"], f"{path}.user_id", pattern=r".+", max_len=MAX_USER_ID)
    if "interests" in device:
        _str_list(device["interests"], f"{path}.interests", pattern=INTEREST_RE.pattern,
                  max_items=errors.MAX_INTERESTS)
    if "metadata" in device:
        metadata = expect_object(device["metadata"], f"{path}.metadata")
        for key, value in metadata.items():
            expect_str(value, f"{path}.metadata.{key}")
    expect_str(device.get("bundle_identifier"), f"{path}.bundle_identifier", nullable=True)


def _validate_publish(publish: Any, path: str) -> None:
    expect_object(publish, path)
    targets = [k for k in ("interests", "users") if k in publish]
    if len(targets) != 1:
        raise FixtureError(path, "needs exactly one of interests, users")
    expect_keys(publish, path, required=("publish_id", targets[0], "request", "device_ids", "time"))
    expect_str(publish["publish_id"], f"{path}.publish_id", pattern=r".+")
    _str_list(publish[targets[0]], f"{path}.{targets[0]}")
    expect_object(publish["request"], f"{path}.request")
    _str_list(publish["device_ids"], f"{path}.device_ids")
    expect_number(publish["time"], f"{path}.time")


def _validate_event(event: Any, path: str) -> None:
    expect_object(event, path)
    expect_keys(event, path, required=("body", "time"))
    expect_object(event["body"], f"{path}.body")
    expect_number(event["time"], f"{path}.time")


def _validate_deleted_user(entry: Any, path: str) -> None:
    expect_object(entry, path)
    expect_keys(entry, path, required=("user_id", "device_ids", "time"))
    expect_str(entry["user_id"], f"{path}.user_id")
    _str_list(entry["device_ids"], f"{path}.device_ids")
    expect_number(entry["time"], f"{path}.time")


ITEM_VALIDATORS = {
    "devices": _validate_device,
    "publishes": _validate_publish,
    "events": _validate_event,
    "deleted_users": _validate_deleted_user,
}
ITEM_IDENTITY = {"devices": "id", "publishes": "publish_id"}


def validate(doc: dict[str, Any], path: str) -> None:
    expect_keys(doc, path, optional=("instances",))
    instances = expect_list(doc.get("instances", []), f"{path}.instances")
    for i, inst in enumerate(instances):
        ipath = f"{path}.instances[{i}]"
        expect_object(inst, ipath)
        expect_keys(inst, ipath, required=("instance_id", "secret_key"), optional=INSTANCE_KEYS)
        expect_str(inst["instance_id"], f"{ipath}.instance_id", pattern=UUID_RE.pattern)
        expect_str(inst["secret_key"], f"{ipath}.secret_key", pattern=r"\S+")
        if "vapid_private_key" in inst:
            key = expect_str(inst["vapid_private_key"], f"{ipath}.vapid_private_key")
            try:
                storage.vapid_public_key(key)
            except ValueError:
                raise FixtureError(f"{ipath}.vapid_private_key",
                                   "expected base64url of a 32-byte P-256 private key") from None
        for key, check in ITEM_VALIDATORS.items():
            items = expect_list(inst.get(key, []), f"{ipath}.{key}")
            for j, item in enumerate(items):
                check(item, f"{ipath}.{key}[{j}]")
            if key in ITEM_IDENTITY:
                ident = ITEM_IDENTITY[key]
                expect_unique(((f"{ipath}.{key}[{j}].{ident}", item[ident]) for j, item in enumerate(items)),
                              ident)
    expect_unique(((f"{path}.instances[{i}].instance_id", inst["instance_id"]) for i, inst in enumerate(instances)),
                  "instance_id")


def _merge_device(conn: sqlite3.Connection, instance_id: str, device: dict[str, Any]) -> None:
    """Add the device or update the fields the fixture gives (interests replace the set)."""
    exists = conn.execute("SELECT 1 FROM beams_devices WHERE instance_id = ? AND device_id = ?",
                          (instance_id, device["id"])).fetchone()
    if not exists:
        conn.execute("INSERT INTO beams_devices(instance_id, device_id, platform, token, created_at) "
                     "VALUES (?, ?, ?, ?, 0)", (instance_id, device["id"], device["platform"], device["token"]))
    columns = {"platform": device["platform"], "token": device["token"]}
    for key in ("user_id", "bundle_identifier"):
        if key in device:
            columns[key] = device[key]
    if "metadata" in device:
        columns["metadata"] = storage.canonical(device["metadata"])
    assignments = ", ".join(f"{col} = ?" for col in columns)
    conn.execute(f"UPDATE beams_devices SET {assignments} WHERE instance_id = ? AND device_id = ?",
                 (*columns.values(), instance_id, device["id"]))
    if "interests" in device:
        storage.replace_interests(conn, instance_id, device["id"], device["interests"])


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    for inst in doc.get("instances", []):
        instance_id = inst["instance_id"]
        storage.upsert_instance(conn, instance_id, inst["secret_key"], inst.get("vapid_private_key"))
        for device in inst.get("devices", []):
            _merge_device(conn, instance_id, device)
        for publish in inst.get("publishes", []):
            storage.insert_publish(conn, instance_id, publish)
        for key, table in storage.RECORD_TABLES.items():
            for entry in inst.get(key, []):
                storage.insert_record(conn, table, instance_id, entry, unless_present=True)


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    instances = []
    for instance_id, secret_key, vapid in conn.execute(
            "SELECT instance_id, secret_key, vapid_private_key FROM beams_instances ORDER BY instance_id"):
        interests: dict[str, list[str]] = {}
        for device_id, name in conn.execute("SELECT device_id, interest FROM beams_interests WHERE instance_id = ? "
                                            "ORDER BY device_id, interest", (instance_id,)):
            interests.setdefault(device_id, []).append(name)
        devices = [
            {"id": device_id, "platform": platform, "token": token, "user_id": user_id,
             "interests": interests.get(device_id, []),
             "metadata": json.loads(metadata), "bundle_identifier": bundle}
            for device_id, platform, token, bundle, user_id, metadata in conn.execute(
                f"SELECT {storage.DEVICE_COLUMNS} FROM beams_devices WHERE instance_id = ? "
                "ORDER BY device_id", (instance_id,))
        ]
        entry = {"instance_id": instance_id, "secret_key": secret_key, "vapid_private_key": vapid,
                 "devices": devices,
                 "publishes": _docs(conn, "beams_publishes", instance_id)}
        for key, table in storage.RECORD_TABLES.items():
            entry[key] = _docs(conn, table, instance_id)
        instances.append(entry)
    return {"instances": instances}


def _docs(conn: sqlite3.Connection, table: str, instance_id: str) -> list[dict[str, Any]]:
    return [json.loads(doc) for (doc,) in conn.execute(
        f"SELECT doc FROM {table} WHERE instance_id = ? ORDER BY seq", (instance_id,))]
