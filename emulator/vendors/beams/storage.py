"""SQL for Pusher Beams: instances, devices, interests, and the recorded server-side calls.

Every function takes the sqlite3 connection first so the Store can run it on a snapshot
(reads) or inside the request's transaction (writes). Refusals that depend on stored state
are raised here, inside the write, so check-then-write cannot race.
"""
from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import uuid
from typing import Any
from collections.abc import Iterable


from ...jsoncodec import canonical
from . import errors
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
)

#: recorded-call tables and the key of their export list
RECORD_TABLES = {"events": "beams_events", "deleted_users": "beams_deleted_users"}

MAX_DEVICES_PER_USER = 100


# -- VAPID ------------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_vapid_private_key() -> str:
    """A fresh P-256 private key as base64url of its 32-byte scalar (how VAPID keys are shared)."""
    from cryptography.hazmat.primitives.asymmetric import ec  # imported on use: ~20 ms of start-up

    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_public_key(private_b64: str) -> str:
    """base64url of the 65-byte uncompressed public point, what ``pushManager.subscribe`` takes.
    Raises ValueError for a key that is not a P-256 scalar."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = b64url_decode(private_b64)
    if len(raw) != 32:
        raise ValueError("a P-256 private key is 32 bytes")
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint))


# -- instances --------------------------------------------------------------------------------
def get_instance(conn: sqlite3.Connection, instance_id: str) -> tuple[str, str] | None:
    """(secret_key, vapid_private_key) or None."""
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


def require_device(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str,
                   missing=errors.device_not_found):
    row = _device_row(conn, instance_id, platform, device_id)
    if row is None:
        raise missing()
    return row


def get_device(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str) -> dict[str, Any]:
    row = require_device(conn, instance_id, platform, device_id)
    return {"id": row[0], "userId": row[4], "metadata": json.loads(row[5])}


def register_device(conn: sqlite3.Connection, instance_id: str, platform: str, token: str,
                    bundle_identifier: str | None, metadata: dict[str, Any], now: float) -> str:
    """A new device id; an earlier device holding the same token is replaced (the token now
    belongs to this registration, so a publish never reaches one phone twice)."""
    conn.execute("DELETE FROM beams_devices WHERE instance_id = ? AND platform = ? AND token = ?",
                 (instance_id, platform, token))
    device_id = f"{platform}-{uuid.uuid4()}"
    conn.execute(
        "INSERT INTO beams_devices(instance_id, device_id, platform, token, bundle_identifier, user_id, "
        "metadata, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
        (instance_id, device_id, platform, token, bundle_identifier, canonical(metadata), now))
    return device_id


def delete_device(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str) -> None:
    conn.execute("DELETE FROM beams_devices WHERE instance_id = ? AND device_id = ? AND platform = ?",
                 (instance_id, device_id, platform))


def update_device_field(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str,
                        column: str, value: str) -> None:
    """Metadata or token of an existing device (404 when it does not exist)."""
    assert column in ("metadata", "token")
    require_device(conn, instance_id, platform, device_id)
    if column == "token":  # a token belongs to one device at a time (see register_device)
        conn.execute("DELETE FROM beams_devices WHERE instance_id = ? AND platform = ? AND token = ? "
                     "AND device_id <> ?", (instance_id, platform, value, device_id))
    conn.execute(f"UPDATE beams_devices SET {column} = ? WHERE instance_id = ? AND device_id = ?",
                 (value, instance_id, device_id))


def set_user(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, user_id: str) -> None:
    row = require_device(conn, instance_id, platform, device_id)
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
    require_device(conn, instance_id, platform, device_id,
                   missing=lambda: errors.device_id_not_valid("Bad Request"))
    if conn.execute("SELECT 1 FROM beams_interests WHERE instance_id = ? AND device_id = ? AND interest = ?",
                    (instance_id, device_id, interest)).fetchone():
        return
    (count,) = conn.execute("SELECT COUNT(*) FROM beams_interests WHERE instance_id = ? AND device_id = ?",
                            (instance_id, device_id)).fetchone()
    if count >= errors.MAX_INTERESTS:
        raise errors.interest_set_too_large()
    conn.execute("INSERT INTO beams_interests(instance_id, device_id, interest) VALUES (?, ?, ?)",
                 (instance_id, device_id, interest))


def remove_interest(conn: sqlite3.Connection, instance_id: str, platform: str, device_id: str, interest: str) -> None:
    require_device(conn, instance_id, platform, device_id,
                   missing=lambda: errors.device_id_not_valid("Incomplete Request"))
    conn.execute("DELETE FROM beams_interests WHERE instance_id = ? AND device_id = ? AND interest = ?",
                 (instance_id, device_id, interest))


# -- recorded server-side calls ---------------------------------------------------------------
def _in_clause(values: list[str]) -> str:
    return ",".join("?" * len(values))


def reached_devices(conn: sqlite3.Connection, instance_id: str, target: str, names: list[str],
                    platforms: list[str]) -> list[str]:
    """Device ids a publish would reach: subscribed to one of the interests (or owned by one
    of the users) and on a platform the publish carries a payload for."""
    if not platforms:
        return []
    if target == "interests":
        # INDEXED BY + CROSS JOIN pin the plan to "interests by name, then each device": without
        # statistics the planner would otherwise walk every device of the instance
        sql = (f"SELECT DISTINCT d.device_id FROM beams_interests i INDEXED BY beams_interests_by_name "
               f"CROSS JOIN beams_devices d ON d.instance_id = i.instance_id AND d.device_id = i.device_id "
               f"WHERE i.instance_id = ? AND i.interest IN ({_in_clause(names)}) "
               f"AND d.platform IN ({_in_clause(platforms)})")
    else:
        sql = (f"SELECT device_id FROM beams_devices INDEXED BY beams_devices_by_user "
               f"WHERE instance_id = ? AND user_id IN ({_in_clause(names)}) AND platform IN ({_in_clause(platforms)})")
    return sorted(r[0] for r in conn.execute(sql, (instance_id, *names, *platforms)))


def insert_publish(conn: sqlite3.Connection, instance_id: str, doc: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO beams_publishes(instance_id, publish_id, doc) VALUES (?, ?, ?) "
        "ON CONFLICT(instance_id, publish_id) DO UPDATE SET doc = excluded.doc",
        (instance_id, doc["publish_id"], canonical(doc)))


def record_publish(conn: sqlite3.Connection, instance_id: str, target: str, names: list[str],
                   request_body: dict[str, Any], platforms: list[str], now: float) -> str:
    publish_id = f"pubid-{uuid.uuid4()}"
    insert_publish(conn, instance_id, {
        "publish_id": publish_id,
        target: names,
        "request": request_body,
        "device_ids": reached_devices(conn, instance_id, target, names, platforms),
        "time": now,
    })
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
    conn.execute("DELETE FROM beams_devices WHERE instance_id = ? AND user_id = ?", (instance_id, user_id))
    insert_record(conn, "beams_deleted_users", instance_id, {"user_id": user_id, "device_ids": ids, "time": now})
    return ids


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="beams_instances", tenant_key="instance_id", device_table="beams_devices",
                device_tenant="instance_id", device_id="device_id",
                columns=("device_id", "platform", "user_id", "token", "bundle_identifier", "metadata"))
