"""SQL for Pusher Beams: instances, devices, interests, and the recorded server-side calls.

Every function takes the sqlite3 connection first so the Store can run it on a snapshot
(reads) or inside the request's transaction (writes). Refusals that depend on stored state
are raised here, inside the write, so check-then-write cannot race.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import uuid
from typing import Any
from collections.abc import Iterable

from ... import deliveries
from ...deliveries import Delivery
from ...jsoncodec import canonical
from . import errors
from .rules import MAX_DEVICES_PER_USER, MAX_INTERESTS, new_vapid_private_key
from ...storage import Browse

MIGRATIONS = (
    """
    CREATE TABLE beams_instances (
        instance_id       TEXT PRIMARY KEY,
        secret_key        TEXT NOT NULL,
        vapid_private_key TEXT NOT NULL
    );
    CREATE TABLE beams_devices (
        instance_id       TEXT NOT NULL REFERENCES beams_instances(instance_id) ON DELETE CASCADE,
        device_id         TEXT NOT NULL,
        platform          TEXT NOT NULL,
        token             TEXT NOT NULL,
        bundle_identifier TEXT,
        user_id           TEXT,
        metadata          TEXT NOT NULL DEFAULT '{}',
        created_at        REAL NOT NULL,
        PRIMARY KEY (instance_id, device_id)
    );
    CREATE INDEX beams_devices_by_token ON beams_devices(instance_id, platform, token);
    CREATE INDEX beams_devices_by_user ON beams_devices(instance_id, user_id, platform);
    CREATE TABLE beams_interests (
        instance_id TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        interest    TEXT NOT NULL,
        PRIMARY KEY (instance_id, device_id, interest),
        FOREIGN KEY (instance_id, device_id) REFERENCES beams_devices(instance_id, device_id) ON DELETE CASCADE
    );
    CREATE INDEX beams_interests_by_name ON beams_interests(instance_id, interest);
    -- recorded server-side calls, kept as the exported JSON document of each one
    CREATE TABLE beams_publishes (
        seq         INTEGER PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES beams_instances(instance_id) ON DELETE CASCADE,
        publish_id  TEXT NOT NULL,
        doc         TEXT NOT NULL,
        UNIQUE (instance_id, publish_id)
    );
    CREATE TABLE beams_events (
        seq         INTEGER PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES beams_instances(instance_id) ON DELETE CASCADE,
        doc         TEXT NOT NULL
    );
    CREATE INDEX beams_events_by_instance ON beams_events(instance_id, doc);
    CREATE TABLE beams_deleted_users (
        seq         INTEGER PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES beams_instances(instance_id) ON DELETE CASCADE,
        doc         TEXT NOT NULL
    );
    CREATE INDEX beams_deleted_users_by_instance ON beams_deleted_users(instance_id, doc);
    """,
    # devices that were deleted, kept to explain why a later publish did not reach them
    """
    CREATE TABLE beams_deleted_devices (
        instance_id TEXT NOT NULL REFERENCES beams_instances(instance_id) ON DELETE CASCADE,
        device_id   TEXT NOT NULL,
        user_id     TEXT,
        interests   TEXT NOT NULL,
        created_at  REAL NOT NULL,
        deleted_at  REAL NOT NULL,
        why         TEXT,
        PRIMARY KEY (instance_id, device_id)
    );
    """,
)

#: the vendor's name in the delivery ledger
LEDGER_VENDOR = "beams"

#: recorded-call tables and the key of their export list
RECORD_TABLES = {"events": "beams_events", "deleted_users": "beams_deleted_users"}


# -- instances --------------------------------------------------------------------------------
def get_instance(conn: sqlite3.Connection, instance_id: str, secret_key: str | None = None) -> tuple[str, str] | None:
    """(secret_key, vapid_private_key) or None. ``secret_key`` is not looked at: it is the
    key ``ensure_instance`` would create the instance with (the two share their arguments)."""
    return conn.execute("SELECT secret_key, vapid_private_key FROM beams_instances WHERE instance_id = ?",
                        (instance_id,)).fetchone()


def upsert_instance(conn: sqlite3.Connection, instance_id: str, secret_key: str | None,
                    vapid_private_key: str | None) -> None:
    """Create the instance (a fresh VAPID key unless one is given) or update the given fields."""
    if get_instance(conn, instance_id) is None:
        conn.execute("INSERT INTO beams_instances(instance_id, secret_key, vapid_private_key) VALUES (?, ?, ?)",
                     (instance_id, secret_key or secrets.token_hex(32).upper(),
                      vapid_private_key or new_vapid_private_key()))
        return
    if secret_key is not None:
        conn.execute("UPDATE beams_instances SET secret_key = ? WHERE instance_id = ?", (secret_key, instance_id))
    if vapid_private_key is not None:
        conn.execute("UPDATE beams_instances SET vapid_private_key = ? WHERE instance_id = ?",
                     (vapid_private_key, instance_id))


def ensure_instance(conn: sqlite3.Connection, instance_id: str, secret_key: str | None) -> tuple[str, str]:
    """Open auth mode: the instance is created on first use."""
    row = get_instance(conn, instance_id)
    if row is None:
        upsert_instance(conn, instance_id, secret_key, None)
        row = get_instance(conn, instance_id)
        assert row is not None
    return row


# -- devices ----------------------------------------------------------------------------------
DEVICE_COLUMNS = "device_id, platform, token, bundle_identifier, user_id, metadata"


def _device_row(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str):
    return conn.execute(
        f"SELECT {DEVICE_COLUMNS} FROM beams_devices WHERE instance_id = ? AND device_id = ? AND platform = ?",
        (instance_id, device_id, platform)).fetchone()


def require_device(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str):
    """The device's row, or 404 Device not found: the Android and iOS SDKs read a 404 on any
    device-scoped call as "device gone" and register again, then replay the call."""
    row = _device_row(conn, instance_id, platform, device_id)
    if row is None:
        raise errors.device_not_found()
    return row


def get_device(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str) -> dict[str, Any]:
    row = require_device(conn, instance_id, platform, device_id)
    return {"id": row[0], "userId": row[4], "metadata": json.loads(row[5])}


def register_device(conn: sqlite3.Connection, instance_id: str, platform: str, token: str,
                    bundle_identifier: str | None, metadata: dict[str, Any] | None,
                    now: float) -> tuple[str, list[str]]:
    """(device id, its current interests) for a registration. A token already held by a device
    of this instance and platform gets that device back with its interests and user, its
    bundle id and metadata replaced by the ones given; otherwise a new device is made.

    Pusher's Swift integration test run against production
    (push-notifications-swift Tests/Integration/DeviceInterestsTest.swift,
    testLocalInterestsSetShouldBeMergedAfterDeviceRegistration) registers the same APNs token
    twice without a delete in between and expects the same device id, and its server-side
    interests in ``initialInterestSet``."""
    row = conn.execute(
        "SELECT device_id FROM beams_devices WHERE instance_id = ? AND platform = ? AND token = ? "
        "ORDER BY created_at, device_id LIMIT 1", (instance_id, platform, token)).fetchone()
    if row is not None:
        device_id = row[0]
        if bundle_identifier is not None:
            conn.execute("UPDATE beams_devices SET bundle_identifier = ? WHERE instance_id = ? AND device_id = ?",
                         (bundle_identifier, instance_id, device_id))
        if metadata is not None:
            conn.execute("UPDATE beams_devices SET metadata = ? WHERE instance_id = ? AND device_id = ?",
                         (canonical(metadata), instance_id, device_id))
        interests = [r[0] for r in conn.execute(
            "SELECT interest FROM beams_interests WHERE instance_id = ? AND device_id = ? ORDER BY interest",
            (instance_id, device_id))]
        return device_id, interests
    device_id = f"{platform}-{uuid.uuid4()}"
    conn.execute(
        "INSERT INTO beams_devices(instance_id, device_id, platform, token, bundle_identifier, user_id, "
        "metadata, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
        (instance_id, device_id, platform, token, bundle_identifier, canonical(metadata or {}), now))
    return device_id, []


def _bury(conn: sqlite3.Connection, instance_id: str, device_ids: list[str], now: float,
          why: str | None = None) -> None:
    """Delete the devices (their interests go with them) and keep a note of each, so a later
    publish can say why it did not reach them; their dead-token marks go too."""
    for device_id in device_ids:
        row = conn.execute("SELECT user_id, created_at FROM beams_devices WHERE instance_id = ? AND device_id = ?",
                           (instance_id, device_id)).fetchone()
        if row is None:
            continue
        names = [r[0] for r in conn.execute(
            "SELECT interest FROM beams_interests WHERE instance_id = ? AND device_id = ? ORDER BY interest",
            (instance_id, device_id))]
        conn.execute(
            "INSERT INTO beams_deleted_devices(instance_id, device_id, user_id, interests, created_at, deleted_at, "
            "why) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(instance_id, device_id) DO UPDATE SET "
            "user_id = excluded.user_id, interests = excluded.interests, created_at = excluded.created_at, "
            "deleted_at = excluded.deleted_at, why = excluded.why",
            (instance_id, device_id, row[0], canonical(names), row[1], now, why))
        conn.execute("DELETE FROM beams_devices WHERE instance_id = ? AND device_id = ?", (instance_id, device_id))
        deliveries.forget_dead_token(conn, vendor=LEDGER_VENDOR, tenant=instance_id, device_id=device_id)


def delete_device(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, now: float) -> None:
    if _device_row(conn, instance_id, platform, device_id) is not None:
        _bury(conn, instance_id, [device_id], now)


def set_metadata(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str,
                 metadata: dict[str, str]) -> None:
    """Replace an existing device's metadata (404 when it does not exist)."""
    require_device(conn, instance_id, platform, device_id)
    conn.execute("UPDATE beams_devices SET metadata = ? WHERE instance_id = ? AND device_id = ?",
                 (canonical(metadata), instance_id, device_id))


def set_token(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, token: str,
              now: float) -> None:
    """Replace an existing device's token (404 when it does not exist); a token belongs to one
    device at a time, so another device holding it is removed. A new token is a live one: an
    invalidation of the old token no longer applies."""
    row = require_device(conn, instance_id, platform, device_id)
    holders = [r[0] for r in conn.execute(
        "SELECT device_id FROM beams_devices WHERE instance_id = ? AND platform = ? AND token = ? AND device_id <> ?",
        (instance_id, platform, token, device_id))]
    _bury(conn, instance_id, holders, now, why=f"its token was given to device {device_id}")
    if row[2] != token:
        deliveries.forget_dead_token(conn, vendor=LEDGER_VENDOR, tenant=instance_id, device_id=device_id)
    conn.execute("UPDATE beams_devices SET token = ? WHERE instance_id = ? AND device_id = ?",
                 (token, instance_id, device_id))


def set_user(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, user_id: str) -> None:
    """Associate the JWT's user with the device. The same user again is a no-op 200: the iOS SDK
    re-sends PUT user on every ``setUserId`` call and the web SDK on every ``setUserId`` with the
    stored id, and Pusher's docs tell apps to call it on every launch; only a different user is
    refused."""
    row = require_device(conn, instance_id, platform, device_id)
    if row[4] == user_id:
        return
    if row[4] is not None:
        raise errors.user_already_set()
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM beams_devices WHERE instance_id = ? AND user_id = ? AND platform = ?",
        (instance_id, user_id, platform)).fetchone()
    if count >= MAX_DEVICES_PER_USER:
        raise errors.too_many_user_devices(MAX_DEVICES_PER_USER)
    conn.execute("UPDATE beams_devices SET user_id = ? WHERE instance_id = ? AND device_id = ?",
                 (user_id, instance_id, device_id))


# -- interests --------------------------------------------------------------------------------
def interests_page(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str,
                   after: str | None, limit: int) -> tuple[list[str], bool]:
    """Interests in name order after ``after``; the flag says whether more follow."""
    require_device(conn, instance_id, platform, device_id)
    rows = conn.execute(
        "SELECT interest FROM beams_interests WHERE instance_id = ? AND device_id = ? AND interest > ? "
        "ORDER BY interest LIMIT ?", (instance_id, device_id, after or "", limit + 1)).fetchall()
    names = [r[0] for r in rows]
    return names[:limit], len(names) > limit


def replace_interests(conn: sqlite3.Connection, instance_id: str, device_id: str, interests: Iterable[str]) -> None:
    conn.execute("DELETE FROM beams_interests WHERE instance_id = ? AND device_id = ?", (instance_id, device_id))
    conn.executemany("INSERT OR IGNORE INTO beams_interests(instance_id, device_id, interest) VALUES (?, ?, ?)",
                     [(instance_id, device_id, name) for name in interests])


def set_interests(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str,
                  interests: list[str]) -> None:
    require_device(conn, instance_id, platform, device_id)
    replace_interests(conn, instance_id, device_id, interests)


def add_interest(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, interest: str) -> None:
    """Idempotent; the 5001st distinct interest is refused like an oversized PUT."""
    require_device(conn, instance_id, platform, device_id)
    if conn.execute("SELECT 1 FROM beams_interests WHERE instance_id = ? AND device_id = ? AND interest = ?",
                    (instance_id, device_id, interest)).fetchone():
        return
    (count,) = conn.execute("SELECT COUNT(*) FROM beams_interests WHERE instance_id = ? AND device_id = ?",
                            (instance_id, device_id)).fetchone()
    if count >= MAX_INTERESTS:
        raise errors.interest_set_too_large(MAX_INTERESTS)
    conn.execute("INSERT INTO beams_interests(instance_id, device_id, interest) VALUES (?, ?, ?)",
                 (instance_id, device_id, interest))


def remove_interest(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, interest: str) -> None:
    require_device(conn, instance_id, platform, device_id)
    conn.execute("DELETE FROM beams_interests WHERE instance_id = ? AND device_id = ? AND interest = ?",
                 (instance_id, device_id, interest))


# -- recorded server-side calls ---------------------------------------------------------------
def _in_clause(values: list[str]) -> str:
    return ",".join("?" * len(values))


def _audience(conn: sqlite3.Connection, instance_id: str, target: str,
              names: list[str]) -> dict[str, tuple[str, str]]:
    """device id -> (platform, the first of the publish's interests or users that selected it):
    devices subscribed to any of the interests, or every device of each user, on any platform."""
    if target == "interests":
        # INDEXED BY + CROSS JOIN pin the plan to "interests by name, then each device": without
        # statistics the planner would otherwise walk every device of the instance
        sql = (f"SELECT d.device_id, d.platform, i.interest FROM beams_interests i INDEXED BY beams_interests_by_name "
               f"CROSS JOIN beams_devices d ON d.instance_id = i.instance_id AND d.device_id = i.device_id "
               f"WHERE i.instance_id = ? AND i.interest IN ({_in_clause(names)})")
    else:
        sql = (f"SELECT device_id, platform, user_id FROM beams_devices INDEXED BY beams_devices_by_user "
               f"WHERE instance_id = ? AND user_id IN ({_in_clause(names)})")
    order = {name: n for n, name in enumerate(names)}
    found: dict[str, tuple[str, str]] = {}
    for device_id, platform, name in conn.execute(sql, (instance_id, *names)):
        if device_id not in found or order[name] < order[found[device_id][1]]:
            found[device_id] = (platform, name)
    return found


def _deliver(conn: sqlite3.Connection, instance_id: str, target: str, names: list[str],
             body: dict[str, Any], now: float) -> list[Delivery]:
    """Each selected device's delivery, in device id order. A device on a platform the publish
    has no payload for gets a failed one; so does a device whose token the push service reported
    invalid, and that device is then removed, as Pusher does: "Subscribers are also removed when
    you publish to them and the gateway reports their token as invalid" (pusher/docs
    docs/beams/concepts/subscribers.md)."""
    kind = "interest" if target == "interests" else "user"
    dead = deliveries.dead_tokens(conn, vendor=LEDGER_VENDOR, tenant=instance_id)
    out, removed = [], []
    for device_id, (platform, name) in sorted(_audience(conn, instance_id, target, names).items()):
        payload = body.get(platform)
        why = f"subscribed to {name}" if kind == "interest" else f"device of user {name}"
        if payload is None:
            out.append(Delivery(device_id, platform, "failed", f"the publish has no {platform} payload",
                                {kind: name}, None))
        elif device_id in dead:
            out.append(Delivery(device_id, platform, "failed", f"token invalidated: {dead[device_id]}",
                                {kind: name}, payload))
            removed.append((device_id, dead[device_id]))
        else:
            out.append(Delivery(device_id, platform, "delivered", why, {kind: name}, payload))
    for device_id, reason in removed:
        _bury(conn, instance_id, [device_id], now, why=f"its token was reported invalid: {reason}")
    return out


def insert_publish(conn: sqlite3.Connection, instance_id: str, doc: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO beams_publishes(instance_id, publish_id, doc) VALUES (?, ?, ?) "
        "ON CONFLICT(instance_id, publish_id) DO UPDATE SET doc = excluded.doc",
        (instance_id, doc["publish_id"], canonical(doc)))


def record_publish(conn: sqlite3.Connection, instance_id: str, target: str, names: list[str],
                   request_body: dict[str, Any], now: float, now_iso: str) -> str:
    """Record the publish, resolve it to devices now and write each device's delivery to the
    ledger. ``device_ids`` lists the devices it was delivered to."""
    publish_id = f"pubid-{uuid.uuid4()}"
    attempts = _deliver(conn, instance_id, target, names, request_body, now)
    insert_publish(conn, instance_id, {
        "publish_id": publish_id,
        target: names,
        "request": request_body,
        "device_ids": [d.device_id for d in attempts if d.status == "delivered"],
        "time": now,
    })
    deliveries.record(conn, vendor=LEDGER_VENDOR, tenant=instance_id, publish_id=publish_id,
                      deliveries=attempts, now=now_iso)
    return publish_id


def insert_record(conn: sqlite3.Connection, table: str, instance_id: str, doc: dict[str, Any],
                  *, unless_present: bool = False) -> None:
    text = canonical(doc)
    if unless_present and conn.execute(f"SELECT 1 FROM {table} WHERE instance_id = ? AND doc = ?",
                                       (instance_id, text)).fetchone():
        return
    conn.execute(f"INSERT INTO {table}(instance_id, doc) VALUES (?, ?)", (instance_id, text))


def delete_user(conn: sqlite3.Connection, instance_id: str, user_id: str, now: float) -> list[str]:
    """Delete the user's devices (with their interests) and record the deletion."""
    ids = sorted(r[0] for r in conn.execute(
        "SELECT device_id FROM beams_devices INDEXED BY beams_devices_by_user WHERE instance_id = ? AND user_id = ?",
        (instance_id, user_id)))
    _bury(conn, instance_id, ids, now)
    insert_record(conn, "beams_deleted_users", instance_id, {"user_id": user_id, "device_ids": ids, "time": now})
    return ids


# -- the delivery ledger's questions ------------------------------------------------------------
def device_exists(conn: sqlite3.Connection, instance_id: str, device_id: str) -> bool:
    return conn.execute("SELECT 1 FROM beams_devices WHERE instance_id = ? AND device_id = ?",
                        (instance_id, device_id)).fetchone() is not None


def explain_miss(conn: sqlite3.Connection, instance_id: str, publish_id: str, device_id: str) -> str | None:
    """Why a device the publish did not select got nothing (None: no such publish or device)."""
    row = conn.execute("SELECT doc FROM beams_publishes WHERE instance_id = ? AND publish_id = ?",
                       (instance_id, publish_id)).fetchone()
    if row is None:
        return None
    publish = json.loads(row[0])
    device = conn.execute("SELECT user_id, created_at, NULL, NULL FROM beams_devices "
                          "WHERE instance_id = ? AND device_id = ?", (instance_id, device_id)).fetchone()
    if device is None:
        device = conn.execute("SELECT user_id, created_at, deleted_at, why FROM beams_deleted_devices "
                              "WHERE instance_id = ? AND device_id = ?", (instance_id, device_id)).fetchone()
        if device is None:
            return None
    user_id, created_at, deleted_at, why = device
    if deleted_at is not None and deleted_at <= publish["time"]:
        whose = f"device of user {user_id}" if user_id is not None else "device"
        return f"{whose}, deleted before the publish" + (f" ({why})" if why else "")
    if created_at > publish["time"]:
        return "registered after the publish"
    if "interests" in publish:
        return f"not subscribed to any of {', '.join(publish['interests'])}"
    if user_id is None:
        return f"device has no user; the publish targets {', '.join(publish['users'])}"
    return f"device of user {user_id}, not one of {', '.join(publish['users'])}"


# -- fixtures ---------------------------------------------------------------------------------
def merge_device(conn: sqlite3.Connection, instance_id: str, device: dict[str, Any]) -> None:
    """Add the fixture's device or update the fields it gives (interests replace the set)."""
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
        columns["metadata"] = canonical(device["metadata"])
    assignments = ", ".join(f"{col} = ?" for col in columns)
    conn.execute(f"UPDATE beams_devices SET {assignments} WHERE instance_id = ? AND device_id = ?",
                 (*columns.values(), instance_id, device["id"]))
    if "interests" in device:
        replace_interests(conn, instance_id, device["id"], device["interests"])


def _docs(conn: sqlite3.Connection, table: str, instance_id: str) -> list[dict[str, Any]]:
    return [json.loads(doc) for (doc,) in conn.execute(
        f"SELECT doc FROM {table} WHERE instance_id = ? ORDER BY seq", (instance_id,))]


def export_instances(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every instance in the fixture shape (see fixtures.py)."""
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
                f"SELECT {DEVICE_COLUMNS} FROM beams_devices WHERE instance_id = ? "
                "ORDER BY device_id", (instance_id,))
        ]
        entry = {"instance_id": instance_id, "secret_key": secret_key, "vapid_private_key": vapid,
                 "devices": devices, "publishes": _docs(conn, "beams_publishes", instance_id)}
        for key, table in RECORD_TABLES.items():
            entry[key] = _docs(conn, table, instance_id)
        instances.append(entry)
    return instances


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="beams_instances", tenant_key="instance_id", device_table="beams_devices",
                device_tenant="instance_id", device_id="device_id",
                columns=("device_id", "platform", "user_id", "token", "bundle_identifier", "metadata"))
