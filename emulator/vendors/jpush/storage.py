"""JPush tables and the SQL run by the Store (reads on a snapshot, writes in a transaction).

Write functions raise :class:`ApiError` for refusals *before or after* changing rows: the
Store runs each in its own savepoint, so a refused request leaves nothing behind.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable, Sequence

from . import errors
from .rules import MAX_ALIAS_IDS, MAX_DEVICES_PER_ALIAS, MAX_TAGS_PER_DEVICE, MAX_TAGS_PER_PLATFORM, PLATFORMS
from ...storage import Browse

MIGRATIONS = (
    """
    CREATE TABLE jpush_apps (
        app_key       TEXT PRIMARY KEY,
        master_secret TEXT NOT NULL
    );
    -- alias: NULL = never set, '' = deleted (rendered per the deleted_alias option)
    CREATE TABLE jpush_devices (
        app_key          TEXT NOT NULL REFERENCES jpush_apps(app_key),
        registration_id  TEXT NOT NULL,
        platform         TEXT NOT NULL,
        alias            TEXT,
        mobile           TEXT,
        online           INTEGER NOT NULL DEFAULT 0,
        last_online_time TEXT,
        PRIMARY KEY (app_key, registration_id)
    ) WITHOUT ROWID;
    CREATE INDEX jpush_devices_by_alias ON jpush_devices(app_key, alias, platform);
    -- platform is copied from the device so tag queries by platform need no join
    CREATE TABLE jpush_device_tags (
        app_key         TEXT NOT NULL,
        registration_id TEXT NOT NULL,
        tag             TEXT NOT NULL,
        platform        TEXT NOT NULL,
        PRIMARY KEY (app_key, registration_id, tag),
        FOREIGN KEY (app_key, registration_id) REFERENCES jpush_devices(app_key, registration_id)
    ) WITHOUT ROWID;
    CREATE INDEX jpush_device_tags_by_tag ON jpush_device_tags(app_key, tag, platform);
    CREATE INDEX jpush_device_tags_by_platform ON jpush_device_tags(app_key, platform, tag);
    """,
)


@dataclass
class DeviceChange:
    """A validated device update (POST /v3/devices/{rid}). ``None`` means "leave as is"."""

    clear_tags: bool = False
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    alias: str | None = None       # "" deletes
    mobile: str | None = None      # "" clears


# -- helpers ------------------------------------------------------------------------------

def _platform_clause(platforms: Sequence[str] | None, column: str = "platform") -> tuple[str, list[str]]:
    """SQL fragment restricting to the given platforms (None = all)."""
    if platforms is None:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(platforms))})", list(platforms)


def _known_rids(conn: sqlite3.Connection, app_key: str, rids: Iterable[str]) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT registration_id FROM jpush_devices WHERE app_key = ? AND registration_id IN "
            "(SELECT value FROM json_each(?))",
            (app_key, json.dumps(list(rids))),
        )
    }


def require_rids(conn: sqlite3.Connection, app_key: str, rids: Sequence[str]) -> None:
    """Refuse the whole request if any id is unknown or belongs to another app key."""
    if len(_known_rids(conn, app_key, rids)) != len(set(rids)):
        raise errors.rid_not_in_app()


def _check_tag_counts(conn: sqlite3.Connection, app_key: str, rids: Sequence[str]) -> None:
    over = conn.execute(
        "SELECT registration_id FROM jpush_device_tags WHERE app_key = ? AND registration_id IN "
        "(SELECT value FROM json_each(?)) GROUP BY registration_id HAVING COUNT(*) > ? LIMIT 1",
        (app_key, json.dumps(list(rids)), MAX_TAGS_PER_DEVICE),
    ).fetchone()
    if over is not None:
        raise errors.illegal(f"registration_id {over[0]} would have more than {MAX_TAGS_PER_DEVICE} tags")


# -- apps ---------------------------------------------------------------------------------

def app_secret(conn: sqlite3.Connection, app_key: str) -> str | None:
    row = conn.execute("SELECT master_secret FROM jpush_apps WHERE app_key = ?", (app_key,)).fetchone()
    return None if row is None else row[0]


def create_app_if_missing(conn: sqlite3.Connection, app_key: str, master_secret: str) -> str:
    """Open auth mode: the first call with an unknown app key creates it. Returns the secret."""
    conn.execute("INSERT OR IGNORE INTO jpush_apps(app_key, master_secret) VALUES (?, ?)",
                 (app_key, master_secret))
    return app_secret(conn, app_key) or master_secret


# -- devices ------------------------------------------------------------------------------

def device_info(conn: sqlite3.Connection, app_key: str, rid: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT alias, mobile FROM jpush_devices WHERE app_key = ? AND registration_id = ?",
        (app_key, rid),
    ).fetchone()
    if row is None:
        return None
    tags = [r[0] for r in conn.execute(
        "SELECT tag FROM jpush_device_tags WHERE app_key = ? AND registration_id = ? ORDER BY tag",
        (app_key, rid))]
    return {"tags": tags, "alias": row[0], "mobile": row[1]}


def _add_tags(conn: sqlite3.Connection, app_key: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Insert (rid, tag) pairs, copying each device's platform."""
    conn.executemany(
        "INSERT OR IGNORE INTO jpush_device_tags(app_key, registration_id, tag, platform) "
        "SELECT app_key, registration_id, ?, platform FROM jpush_devices "
        "WHERE app_key = ? AND registration_id = ?",
        [(t, app_key, rid) for rid, t in pairs],
    )


def update_device(conn: sqlite3.Connection, app_key: str, rid: str, change: DeviceChange) -> None:
    row = conn.execute(
        "SELECT alias FROM jpush_devices WHERE app_key = ? AND registration_id = ?", (app_key, rid)
    ).fetchone()
    if row is None:
        raise errors.rid_not_in_app()
    current_alias = row[0]
    if change.clear_tags:
        conn.execute("DELETE FROM jpush_device_tags WHERE app_key = ? AND registration_id = ?", (app_key, rid))
    if change.remove_tags:
        conn.executemany(
            "DELETE FROM jpush_device_tags WHERE app_key = ? AND registration_id = ? AND tag = ?",
            [(app_key, rid, t) for t in change.remove_tags],
        )
    if change.add_tags:
        _add_tags(conn, app_key, [(rid, t) for t in change.add_tags])
        _check_tag_counts(conn, app_key, [rid])
    if change.alias is not None and change.alias != current_alias:
        if change.alias == "":
            new_alias = None if current_alias is None else ""
        else:
            bound = conn.execute(
                "SELECT COUNT(*) FROM jpush_devices WHERE app_key = ? AND alias = ?",
                (app_key, change.alias),
            ).fetchone()[0]
            if bound >= MAX_DEVICES_PER_ALIAS:
                raise errors.jpush_error(errors.ALIAS_FULL)
            new_alias = change.alias
        conn.execute("UPDATE jpush_devices SET alias = ? WHERE app_key = ? AND registration_id = ?",
                     (new_alias, app_key, rid))
    if change.mobile is not None:
        conn.execute("UPDATE jpush_devices SET mobile = ? WHERE app_key = ? AND registration_id = ?",
                     (change.mobile or None, app_key, rid))


def device_status(conn: sqlite3.Connection, app_key: str, rids: Sequence[str]) -> dict[str, tuple[bool, str | None]]:
    return {
        r[0]: (bool(r[1]), r[2])
        for r in conn.execute(
            "SELECT registration_id, online, last_online_time FROM jpush_devices "
            "WHERE app_key = ? AND registration_id IN (SELECT value FROM json_each(?))",
            (app_key, json.dumps(list(rids))),
        )
    }


# -- aliases ------------------------------------------------------------------------------

def alias_devices(conn: sqlite3.Connection, app_key: str, alias: str,
                  platforms: Sequence[str] | None) -> list[tuple[str, str, bool, str | None]]:
    """(rid, platform, online, last_online_time) of the devices bound to ``alias``."""
    clause, params = _platform_clause(platforms)
    # without statistics SQLite prefers the primary key (a scan of the whole app): name the index
    rows = sorted(conn.execute(
        "SELECT registration_id, platform, online, last_online_time FROM jpush_devices "
        f"INDEXED BY jpush_devices_by_alias WHERE app_key = ? AND alias = ?{clause}",
        (app_key, alias, *params),
    ))
    return [(r[0], r[1], bool(r[2]), r[3]) for r in rows[:MAX_ALIAS_IDS]]


def delete_alias(conn: sqlite3.Connection, app_key: str, alias: str, platforms: Sequence[str] | None) -> None:
    clause, params = _platform_clause(platforms)
    conn.execute(f"UPDATE jpush_devices INDEXED BY jpush_devices_by_alias SET alias = '' "
                 f"WHERE app_key = ? AND alias = ?{clause}",
                 (app_key, alias, *params))


def unbind_alias(conn: sqlite3.Connection, app_key: str, alias: str, rids: Sequence[str]) -> None:
    require_rids(conn, app_key, rids)
    conn.execute(
        "UPDATE jpush_devices INDEXED BY jpush_devices_by_alias SET alias = '' "
        "WHERE app_key = ? AND alias = ? AND registration_id IN "
        "(SELECT value FROM json_each(?))",
        (app_key, alias, json.dumps(list(rids))),
    )


# -- tags ---------------------------------------------------------------------------------

def tag_list(conn: sqlite3.Connection, app_key: str) -> list[str]:
    """Tags some device holds: at most 100 per platform, merged and sorted.

    Each next distinct tag is one index seek (``MIN(tag) > previous``), so the cost does not
    grow with the number of devices sharing a tag."""
    found: set[str] = set()
    for platform in PLATFORMS:
        previous = ""
        for _ in range(MAX_TAGS_PER_PLATFORM):
            row = conn.execute(
                "SELECT MIN(tag) FROM jpush_device_tags WHERE app_key = ? AND platform = ? AND tag > ?",
                (app_key, platform, previous)).fetchone()
            if row[0] is None:
                break
            previous = row[0]
            found.add(previous)
    return sorted(found)


def device_exists(conn: sqlite3.Connection, app_key: str, rid: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM jpush_devices WHERE app_key = ? AND registration_id = ?", (app_key, rid)
    ).fetchone() is not None


def device_has_tag(conn: sqlite3.Connection, app_key: str, tag: str, rid: str) -> bool | None:
    """None when the device is unknown to the app."""
    if not device_exists(conn, app_key, rid):
        return None
    return conn.execute(
        "SELECT 1 FROM jpush_device_tags WHERE app_key = ? AND registration_id = ? AND tag = ?",
        (app_key, rid, tag),
    ).fetchone() is not None


def update_tag(conn: sqlite3.Connection, app_key: str, tag: str, add: Sequence[str], remove: Sequence[str]) -> None:
    """Removes first, then adds (a rid in both ends up tagged, like device updates)."""
    require_rids(conn, app_key, [*add, *remove])
    conn.executemany(
        "DELETE FROM jpush_device_tags WHERE app_key = ? AND registration_id = ? AND tag = ?",
        [(app_key, rid, tag) for rid in remove],
    )
    if add:
        _add_tags(conn, app_key, [(rid, tag) for rid in add])
        _check_tag_counts(conn, app_key, add)


def delete_tag(conn: sqlite3.Connection, app_key: str, tag: str, platforms: Sequence[str] | None) -> None:
    clause, params = _platform_clause(platforms)
    conn.execute(f"DELETE FROM jpush_device_tags WHERE app_key = ? AND tag = ?{clause}",
                 (app_key, tag, *params))


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="jpush_apps", tenant_key="app_key", device_table="jpush_devices", device_tenant="app_key",
                device_id="registration_id",
                columns=("registration_id", "platform", "alias", "mobile", "online", "last_online_time"))
