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

import sqlite3
from typing import Any

from ...fixtures import (FixtureError, each_object, expect_keys, expect_list, expect_number, expect_object,
                         expect_str, expect_unique)
from . import rules, storage

INSTANCE_KEYS = ("vapid_private_key", "devices", "publishes", "events", "deleted_users")
DEVICE_OPTIONAL = ("user_id", "interests", "metadata", "bundle_identifier")


def _str_list(value: Any, path: str, *, pattern: str | None = None, max_items: int | None = None) -> list[str]:
    items = expect_list(value, path)
    if max_items is not None and len(items) > max_items:
        raise FixtureError(path, f"at most {max_items} items")
    for i, item in enumerate(items):
        expect_str(item, f"{path}[{i}]", pattern=pattern)
    return items


def _validate_device(device: dict[str, Any], path: str) -> None:
    expect_keys(device, path, required=("id", "platform", "token"), optional=DEVICE_OPTIONAL)
    expect_str(device["id"], f"{path}.id", pattern=rules.DEVICE_ID_RE.pattern)
    expect_str(device["platform"], f"{path}.platform", choices=rules.PLATFORMS)
    expect_str(device["token"], f"{path}.token", pattern=r".+")
    if device.get("user_id") is not None:
        expect_str(device["user_id"], f"{path}.user_id", pattern=r".+", max_len=rules.MAX_USER_ID)
    if "interests" in device:
        _str_list(device["interests"], f"{path}.interests", pattern=rules.INTEREST_RE.pattern,
                  max_items=rules.MAX_INTERESTS)
    if "metadata" in device:
        metadata = expect_object(device["metadata"], f"{path}.metadata")
        for key, value in metadata.items():
            expect_str(value, f"{path}.metadata.{key}")
    expect_str(device.get("bundle_identifier"), f"{path}.bundle_identifier", nullable=True)


def _validate_publish(publish: dict[str, Any], path: str) -> None:
    targets = [k for k in ("interests", "users") if k in publish]
    if len(targets) != 1:
        raise FixtureError(path, "needs exactly one of interests, users")
    expect_keys(publish, path, required=("publish_id", targets[0], "request", "device_ids", "time"))
    expect_str(publish["publish_id"], f"{path}.publish_id", pattern=r".+")
    _str_list(publish[targets[0]], f"{path}.{targets[0]}")
    expect_object(publish["request"], f"{path}.request")
    _str_list(publish["device_ids"], f"{path}.device_ids")
    expect_number(publish["time"], f"{path}.time")


def _validate_event(event: dict[str, Any], path: str) -> None:
    expect_keys(event, path, required=("body", "time"))
    expect_object(event["body"], f"{path}.body")
    expect_number(event["time"], f"{path}.time")


def _validate_deleted_user(entry: dict[str, Any], path: str) -> None:
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
    seen = []
    for inst, ipath in each_object(doc, "instances", path):
        expect_keys(inst, ipath, required=("instance_id", "secret_key"), optional=INSTANCE_KEYS)
        expect_str(inst["instance_id"], f"{ipath}.instance_id", pattern=rules.UUID_RE.pattern)
        expect_str(inst["secret_key"], f"{ipath}.secret_key", pattern=r"\S+")
        if "vapid_private_key" in inst:
            key = expect_str(inst["vapid_private_key"], f"{ipath}.vapid_private_key")
            try:
                rules.vapid_public_key(key)
            except ValueError:
                raise FixtureError(f"{ipath}.vapid_private_key",
                                   "expected base64url of a 32-byte P-256 private key") from None
        for key, check in ITEM_VALIDATORS.items():
            items = []
            for item, item_path in each_object(inst, key, ipath):
                check(item, item_path)
                items.append((item, item_path))
            if key in ITEM_IDENTITY:
                ident = ITEM_IDENTITY[key]
                expect_unique(((f"{item_path}.{ident}", item[ident]) for item, item_path in items), ident)
        seen.append((f"{ipath}.instance_id", inst["instance_id"]))
    expect_unique(seen, "instance_id")


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    for inst in doc.get("instances", []):
        instance_id = inst["instance_id"]
        storage.upsert_instance(conn, instance_id, inst["secret_key"], inst.get("vapid_private_key"))
        for device in inst.get("devices", []):
            storage.merge_device(conn, instance_id, device)
        for publish in inst.get("publishes", []):
            storage.insert_publish(conn, instance_id, publish)
        for key, table in storage.RECORD_TABLES.items():
            for entry in inst.get(key, []):
                storage.insert_record(conn, table, instance_id, entry, unless_present=True)


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    return {"instances": storage.export_instances(conn)}
