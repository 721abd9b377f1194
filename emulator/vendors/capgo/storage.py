"""Capgo's tables and the SQL the routes run.

One app owns versions (bundles), channels, devices and two kinds of per-device override:
a channel link (``channel_devices`` in the real service, one per device and app) and a
version pin (the pre-2025 ``devices_override``, documented profile only). Overrides are kept
apart from device records because the live service accepts a link for a device that has
never checked in.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from ...storage import Browse

SCHEMA_V1 = """
CREATE TABLE capgo_api_keys (
    key     TEXT PRIMARY KEY,
    mode    TEXT NOT NULL,
    app_ids TEXT            -- JSON array of app ids; NULL = every app
);
CREATE TABLE capgo_apps (
    app_id TEXT PRIMARY KEY
);
CREATE TABLE capgo_versions (
    id          INTEGER PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES capgo_apps(app_id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    url         TEXT,
    checksum    TEXT,
    session_key TEXT,
    UNIQUE (app_id, name)
);
CREATE TABLE capgo_channels (
    id                    INTEGER PRIMARY KEY,
    app_id                TEXT NOT NULL REFERENCES capgo_apps(app_id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    public                INTEGER NOT NULL,
    ios                   INTEGER NOT NULL,
    android               INTEGER NOT NULL,
    electron              INTEGER NOT NULL,
    allow_device_self_set INTEGER NOT NULL,
    allow_emulator        INTEGER NOT NULL,
    allow_dev             INTEGER NOT NULL,
    allow_prod            INTEGER NOT NULL,
    version_id            INTEGER REFERENCES capgo_versions(id) ON DELETE SET NULL ON UPDATE CASCADE,
    UNIQUE (app_id, name)
);
CREATE TABLE capgo_devices (
    app_id          TEXT NOT NULL REFERENCES capgo_apps(app_id) ON DELETE CASCADE,
    device_id       TEXT NOT NULL,
    custom_id       TEXT NOT NULL DEFAULT '',
    version_name    TEXT NOT NULL DEFAULT 'unknown',
    platform        TEXT,
    plugin_version  TEXT NOT NULL DEFAULT '2.3.3',
    os_version      TEXT,
    version_build   TEXT NOT NULL DEFAULT 'builtin',
    is_prod         INTEGER NOT NULL DEFAULT 1,
    is_emulator     INTEGER NOT NULL DEFAULT 0,
    install_source  TEXT,
    key_id          TEXT,
    country_code    TEXT,
    default_channel TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (app_id, device_id)
);
CREATE INDEX capgo_devices_by_time ON capgo_devices (app_id, updated_at, device_id);
CREATE TABLE capgo_channel_devices (
    app_id     TEXT NOT NULL REFERENCES capgo_apps(app_id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL,
    channel_id INTEGER NOT NULL REFERENCES capgo_channels(id) ON DELETE CASCADE,
    PRIMARY KEY (app_id, device_id)
);
CREATE TABLE capgo_version_pins (
    app_id     TEXT NOT NULL REFERENCES capgo_apps(app_id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL,
    version_id INTEGER NOT NULL REFERENCES capgo_versions(id) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (app_id, device_id)
);
"""

#: the fields the update decision and /channel_self read (Cap-go/capgo@4bc7d83f
#: supabase/migrations/20260708000000_prod_baseline.sql ``channels`` / ``app_versions`` defaults),
#: and the log of what the plugin endpoints record (the real ``stats`` table, reduced)
SCHEMA_V2 = """
ALTER TABLE capgo_apps ADD COLUMN plan_valid INTEGER NOT NULL DEFAULT 1;
ALTER TABLE capgo_apps ADD COLUMN allow_device_custom_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE capgo_api_keys ADD COLUMN id INTEGER;
ALTER TABLE capgo_api_keys ADD COLUMN user_id TEXT NOT NULL DEFAULT 'default';
UPDATE capgo_api_keys SET id = rowid WHERE id IS NULL;
CREATE UNIQUE INDEX capgo_api_keys_by_id ON capgo_api_keys (id);
ALTER TABLE capgo_channels ADD COLUMN allow_device INTEGER NOT NULL DEFAULT 1;
ALTER TABLE capgo_channels ADD COLUMN disable_auto_update TEXT NOT NULL DEFAULT 'major';
ALTER TABLE capgo_channels ADD COLUMN disable_auto_update_under_native INTEGER NOT NULL DEFAULT 1;
ALTER TABLE capgo_versions ADD COLUMN min_update_version TEXT;
ALTER TABLE capgo_versions ADD COLUMN key_id TEXT;
CREATE TABLE capgo_stats (
    id           INTEGER PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES capgo_apps(app_id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    version_name TEXT,
    metadata     TEXT,          -- JSON object of strings, or NULL
    created_at   TEXT NOT NULL
);
CREATE INDEX capgo_stats_by_app ON capgo_stats (app_id, id);
"""

MIGRATIONS = (SCHEMA_V1, SCHEMA_V2)

#: device fields as stored (and as named in fixtures), in fixture order
DEVICE_FIELDS = (
    "custom_id", "version_name", "platform", "plugin_version", "os_version", "version_build",
    "is_prod", "is_emulator", "install_source", "key_id", "country_code", "default_channel",
    "created_at", "updated_at",
)
BOOL_DEVICE_FIELDS = ("is_prod", "is_emulator")
#: ``makeDevice`` sends these as ``null`` when the request has none, so a check-in clears them
CLEARED_BY_CHECK_IN = ("default_channel", "key_id")

#: a device with its bundle (v), the channel it is linked to (c) and the bundle pinned to it (pv)
DEVICE_JOINS = """capgo_devices d
LEFT JOIN capgo_versions v ON v.app_id = d.app_id AND v.name = d.version_name
LEFT JOIN capgo_channel_devices cd ON cd.app_id = d.app_id AND cd.device_id = d.device_id
LEFT JOIN capgo_channels c ON c.id = cd.channel_id
LEFT JOIN capgo_version_pins vp ON vp.app_id = d.app_id AND vp.device_id = d.device_id
LEFT JOIN capgo_versions pv ON pv.id = vp.version_id
"""
DEVICE_SELECT = f"SELECT d.*, v.id AS bundle_id, c.name AS channel_name, pv.name AS pinned_name FROM {DEVICE_JOINS}"


def _device_json(members: str, overrides: dict[str, str]) -> str:
    """A device as one JSON text that SQLite builds (JSON1, in C): a 50-device page costs one
    Python string per device instead of a dict and ~20 objects per device. ``overrides`` are keys
    present only when not NULL, appended after ``members`` (``json_patch`` adds new keys at the
    end) and only for the devices that have one."""
    base = f"json_object({members})"
    absent = " AND ".join(f"{column} IS NULL" for column in overrides.values())
    extra = ", ".join(f"'{key}', {column}" for key, column in overrides.items())
    return f"CASE WHEN {absent} THEN {base} ELSE json_patch({base}, json_object({extra})) END"


def _json_bool(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


#: the documented ``Device`` (key order of the seed's example); ``channel`` / ``version_override``
#: when overridden
DOCUMENTED_DEVICE_JSON = _device_json(
    "'device_id', d.device_id, 'custom_id', d.custom_id, 'version', json_object('id', v.id, 'name', d.version_name), "
    "'app_id', d.app_id, 'platform', d.platform, 'plugin_version', d.plugin_version, 'os_version', d.os_version, "
    f"'version_build', d.version_build, 'is_prod', {_json_bool('d.is_prod')}, "
    f"'is_emulator', {_json_bool('d.is_emulator')}, 'created_at', d.created_at, 'updated_at', d.updated_at",
    {"channel": "c.name", "version_override": "pv.name"})


def _live_device_json(in_list: bool) -> str:
    """``get.ts filterDeviceKeys`` key order; list rows carry no ``install_source`` /
    ``country_code`` (the Cloudflare list query does not read them); ``channel`` when overridden."""
    return _device_json(
        f"'updated_at', d.updated_at, 'device_id', d.device_id, 'custom_id', d.custom_id, "
        f"'is_prod', {_json_bool('d.is_prod')}, 'is_emulator', {_json_bool('d.is_emulator')}, "
        f"'install_source', {'NULL' if in_list else 'd.install_source'}, 'version_name', d.version_name, "
        "'version', v.id, 'app_id', d.app_id, 'platform', d.platform, 'plugin_version', d.plugin_version, "
        "'os_version', d.os_version, 'version_build', d.version_build, 'key_id', d.key_id, "
        f"'country_code', {'NULL' if in_list else 'd.country_code'}",
        {"channel": "c.name"})


LIVE_DEVICE_JSON = _live_device_json(in_list=False)
LIVE_LIST_DEVICE_JSON = _live_device_json(in_list=True)


def dict_rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def one(cur: sqlite3.Cursor) -> dict[str, Any] | None:
    rows = dict_rows(cur)
    return rows[0] if rows else None


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    """INSERT of validated column names (from our constants or checked fixture keys)."""
    conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                 tuple(values.values()))


def _update(conn: sqlite3.Connection, table: str, values: dict[str, Any], where: dict[str, Any]) -> None:
    """UPDATE ... SET values WHERE all ``where`` columns match; nothing to set is a no-op."""
    if not values:
        return
    conn.execute(f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in values)} "
                 f"WHERE {' AND '.join(f'{k} = ?' for k in where)}",
                 (*values.values(), *where.values()))


# -- keys and apps ----------------------------------------------------------------------------

def _key_row(row: tuple | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"key": row[0], "mode": row[1], "app_ids": None if row[2] is None else json.loads(row[2]),
            "id": row[3], "user": row[4]}


def find_key(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    return _key_row(conn.execute("SELECT key, mode, app_ids, id, user_id FROM capgo_api_keys WHERE key = ?",
                                 (key,)).fetchone())


def find_key_by_id(conn: sqlite3.Connection, key_id: int) -> dict[str, Any] | None:
    """A key by its numeric id (what ``x-limited-key-id`` names)."""
    return _key_row(conn.execute("SELECT key, mode, app_ids, id, user_id FROM capgo_api_keys WHERE id = ?",
                                 (key_id,)).fetchone())


def _next_key_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM capgo_api_keys").fetchone()[0]


def create_open_key(conn: sqlite3.Connection, key: str) -> dict[str, Any]:
    """``--auth open``: an unknown key becomes a key of mode ``all`` with no app limit."""
    conn.execute("INSERT OR IGNORE INTO capgo_api_keys (key, mode, id) VALUES (?, 'all', ?)",
                 (key, _next_key_id(conn)))
    found = find_key(conn, key)
    assert found is not None
    return found


def app_exists(conn: sqlite3.Connection, app_id: str) -> bool:
    return conn.execute("SELECT 1 FROM capgo_apps WHERE app_id = ?", (app_id,)).fetchone() is not None


def create_app(conn: sqlite3.Connection, app_id: str) -> dict[str, Any]:
    conn.execute("INSERT OR IGNORE INTO capgo_apps (app_id) VALUES (?)", (app_id,))
    found = find_app(conn, app_id)
    assert found is not None
    return found


def find_app(conn: sqlite3.Connection, app_id: str) -> dict[str, Any] | None:
    """The app and its settings (the tenant lookup of the plugin endpoints)."""
    row = conn.execute("SELECT plan_valid, allow_device_custom_id FROM capgo_apps WHERE app_id = ?",
                       (app_id,)).fetchone()
    if row is None:
        return None
    return {"app_id": app_id, "plan_valid": bool(row[0]), "allow_device_custom_id": bool(row[1])}


def update_app(conn: sqlite3.Connection, app_id: str, fields: dict[str, Any]) -> None:
    """``fields``: validated setting columns (fixtures.py's APP_SETTINGS)."""
    _update(conn, "capgo_apps", fields, {"app_id": app_id})


# -- devices ----------------------------------------------------------------------------------

def get_device(conn: sqlite3.Connection, app_id: str, device_id: str) -> dict[str, Any] | None:
    return one(conn.execute(DEVICE_SELECT + " WHERE d.app_id = ? AND d.device_id = ?", (app_id, device_id)))


def device_exists(conn: sqlite3.Connection, app_id: str, device_id: str) -> bool:
    return conn.execute("SELECT 1 FROM capgo_devices WHERE app_id = ? AND device_id = ?",
                        (app_id, device_id)).fetchone() is not None


def _one_device_json(conn: sqlite3.Connection, shape: str, where: str, args: tuple) -> str | None:
    row = conn.execute(f"SELECT {shape} FROM {DEVICE_JOINS} WHERE {where}", args).fetchone()
    return None if row is None else row[0]


def documented_device_json(conn: sqlite3.Connection, app_id: str, device_id: str) -> str | None:
    """The documented ``Device`` as JSON text; None when there is no such device."""
    return _one_device_json(conn, DOCUMENTED_DEVICE_JSON, "d.app_id = ? AND d.device_id = ?", (app_id, device_id))


def documented_page_json(conn: sqlite3.Connection, app_id: str, limit: int, offset: int) -> list[str]:
    """Documented profile: ``device_id`` order, ``page`` * 50 offset; each device as JSON text."""
    return [row[0] for row in conn.execute(
        f"SELECT {DOCUMENTED_DEVICE_JSON} FROM {DEVICE_JOINS} WHERE d.app_id = ? ORDER BY d.device_id LIMIT ? OFFSET ?",
        (app_id, limit, offset))]


def live_device_json(conn: sqlite3.Connection, app_id: str, device_id: str, custom_id_only: bool) -> str | None:
    """Live profile: one device as JSON text; None when there is none (or, with ``custom_id_only``,
    when it has no custom id)."""
    where = "d.app_id = ? AND d.device_id = ?" + (" AND d.custom_id <> ''" if custom_id_only else "")
    return _one_device_json(conn, LIVE_DEVICE_JSON, where, (app_id, device_id))


def list_devices_by_cursor(
    conn: sqlite3.Connection,
    app_id: str,
    *,
    limit: int,
    order: str | None,
    cursor: tuple[str, str] | None,
    updated_after: str | None,
    custom_id_only: bool,
) -> list[tuple[str, str, str]]:
    """Live profile (``readDevicesSB``): ``limit + 1`` rows so the caller can tell ``hasMore``, each
    (the device as JSON text, ``updated_at``, ``device_id``): the last two make the next cursor.

    Without ``order`` the sort is ``device_id`` and the cursor's time part is ignored; with
    ``asc``/``desc`` the sort is ``updated_at`` then ``device_id``.
    """
    where = ["d.app_id = ?"]
    args: list[Any] = [app_id]
    if updated_after is not None:
        where.append("d.updated_at > ?")
        args.append(updated_after)
    if custom_id_only:
        where.append("d.custom_id <> ''")
    if order is None:
        if cursor is not None:
            where.append("d.device_id > ?")
            args.append(cursor[1])
        sort = "d.device_id"
    else:
        if cursor is not None:
            cmp = ">" if order == "asc" else "<"
            where.append(f"(d.updated_at {cmp} ? OR (d.updated_at = ? AND d.device_id > ?))")
            args += [cursor[0], cursor[0], cursor[1]]
        sort = f"d.updated_at {order.upper()}, d.device_id"
    sql = f"SELECT {LIVE_LIST_DEVICE_JSON}, d.updated_at, d.device_id FROM {DEVICE_JOINS} " \
          f"WHERE {' AND '.join(where)} ORDER BY {sort} LIMIT ?"
    args.append(limit + 1)
    return conn.execute(sql, args).fetchall()


def upsert_device(conn: sqlite3.Connection, app_id: str, device_id: str, report: dict[str, Any], now: str) -> None:
    """A plugin check-in: create the device, or update it. As in ``trackDevicesSB``,
    ``updated_at`` moves only when a reported field changes; an empty ``custom_id`` keeps
    the stored one."""
    existing = one(conn.execute("SELECT * FROM capgo_devices WHERE app_id = ? AND device_id = ?",
                                (app_id, device_id)))
    fields = {k: v for k, v in report.items()
              if k in DEVICE_FIELDS and (v is not None or k in CLEARED_BY_CHECK_IN)}
    if fields.get("custom_id") == "":
        fields.pop("custom_id")
    for key in BOOL_DEVICE_FIELDS:
        if key in fields:
            fields[key] = int(bool(fields[key]))
    if existing is None:
        _insert(conn, "capgo_devices", {"app_id": app_id, "device_id": device_id, **fields,
                                           "created_at": now, "updated_at": now})
        return
    changed = {k: v for k, v in fields.items() if existing.get(k) != v}
    if changed:
        _update(conn, "capgo_devices", {**changed, "updated_at": now}, {"app_id": app_id, "device_id": device_id})


# -- versions, channels, overrides --------------------------------------------------------------

def version_by_name(conn: sqlite3.Connection, app_id: str, name: str) -> dict[str, Any] | None:
    return one(conn.execute("SELECT * FROM capgo_versions WHERE app_id = ? AND name = ?", (app_id, name)))


def version_by_id(conn: sqlite3.Connection, version_id: int) -> dict[str, Any] | None:
    return one(conn.execute("SELECT * FROM capgo_versions WHERE id = ?", (version_id,)))


def channel_by_name(conn: sqlite3.Connection, app_id: str, name: str) -> dict[str, Any] | None:
    return one(conn.execute("SELECT * FROM capgo_channels WHERE app_id = ? AND name = ?", (app_id, name)))


def _set_override(conn: sqlite3.Connection, table: str, column: str, app_id: str, device_id: str,
                  target_id: int) -> None:
    """One override of each kind per (app, device): a new target replaces the old one."""
    conn.execute(
        f"INSERT INTO {table} (app_id, device_id, {column}) VALUES (?, ?, ?) "
        f"ON CONFLICT (app_id, device_id) DO UPDATE SET {column} = excluded.{column}",
        (app_id, device_id, target_id))


def set_channel_link(conn: sqlite3.Connection, app_id: str, device_id: str, channel_id: int) -> None:
    _set_override(conn, "capgo_channel_devices", "channel_id", app_id, device_id, channel_id)


def set_version_pin(conn: sqlite3.Connection, app_id: str, device_id: str, version_id: int) -> None:
    _set_override(conn, "capgo_version_pins", "version_id", app_id, device_id, version_id)


def clear_overrides(conn: sqlite3.Connection, app_id: str, device_id: str) -> None:
    clear_channel_link(conn, app_id, device_id)
    clear_version_pin(conn, app_id, device_id)


def overrides_of(conn: sqlite3.Connection, app_id: str, device_id: str) -> dict[str, Any]:
    """The device's linked channel row and pinned version row (either may be None)."""
    channel = one(conn.execute(
        "SELECT c.* FROM capgo_channel_devices cd JOIN capgo_channels c ON c.id = cd.channel_id "
        "WHERE cd.app_id = ? AND cd.device_id = ?", (app_id, device_id)))
    pin = one(conn.execute(
        "SELECT v.* FROM capgo_version_pins vp JOIN capgo_versions v ON v.id = vp.version_id "
        "WHERE vp.app_id = ? AND vp.device_id = ?", (app_id, device_id)))
    return {"channel": channel, "pin": pin}


def default_channel_for(conn: sqlite3.Connection, app_id: str, platform: str,
                        default_channel: str | None) -> dict[str, Any] | None:
    """``pg.ts requestInfosChannelPostgres``: the channel named ``defaultChannel`` if it is enabled
    for the platform and public or self-assignable (no fallback), else the first public channel
    for the platform by name then id."""
    if platform not in ("ios", "android", "electron"):
        return None
    if default_channel:
        return one(conn.execute(
            f"SELECT * FROM capgo_channels WHERE app_id = ? AND name = ? AND {platform} = 1 "
            "AND (public = 1 OR allow_device_self_set = 1)", (app_id, default_channel)))
    return one(conn.execute(
        f"SELECT * FROM capgo_channels WHERE app_id = ? AND public = 1 AND {platform} = 1 "
        "ORDER BY name, id LIMIT 1", (app_id,)))


def public_channels(conn: sqlite3.Connection, app_id: str) -> list[dict[str, Any]]:
    return dict_rows(conn.execute("SELECT * FROM capgo_channels WHERE app_id = ? AND public = 1 ORDER BY id",
                                  (app_id,)))


def compatible_channels(conn: sqlite3.Connection, app_id: str, platform: str, is_emulator: bool,
                        is_prod: bool) -> list[dict[str, Any]]:
    """``pg.ts getCompatibleChannelsPg``: what GET /channel_self lists."""
    if platform not in ("ios", "android", "electron"):
        return []
    device = "allow_emulator" if is_emulator else "allow_device"
    build = "allow_prod" if is_prod else "allow_dev"
    return dict_rows(conn.execute(
        f"SELECT id, name, public, allow_device_self_set FROM capgo_channels WHERE app_id = ? "
        f"AND (allow_device_self_set = 1 OR public = 1) AND {platform} = 1 AND {device} = 1 AND {build} = 1 "
        "ORDER BY id", (app_id,)))


def record_stat(conn: sqlite3.Connection, app_id: str, device_id: str, action: str, version_name: str | None,
                metadata: dict[str, str] | None, now: str) -> None:
    conn.execute("INSERT INTO capgo_stats (app_id, device_id, action, version_name, metadata, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 (app_id, device_id, action, version_name, None if metadata is None else json.dumps(metadata), now))


def stats_of(conn: sqlite3.Connection, app_id: str) -> list[dict[str, Any]]:
    rows = dict_rows(conn.execute(
        "SELECT device_id, action, version_name, metadata, created_at FROM capgo_stats WHERE app_id = ? "
        "ORDER BY id", (app_id,)))
    for row in rows:
        row["metadata"] = None if row["metadata"] is None else json.loads(row["metadata"])
    return rows


def stat_exists(conn: sqlite3.Connection, app_id: str, stat: dict[str, Any]) -> bool:
    return conn.execute(
        "SELECT 1 FROM capgo_stats WHERE app_id = ? AND device_id = ? AND action = ? AND version_name IS ? "
        "AND metadata IS ? AND created_at = ?",
        (app_id, stat["device_id"], stat["action"], stat.get("version_name"),
         None if stat.get("metadata") is None else json.dumps(stat["metadata"]), stat["created_at"])).fetchone() \
        is not None


def clear_channel_link(conn: sqlite3.Connection, app_id: str, device_id: str) -> None:
    conn.execute("DELETE FROM capgo_channel_devices WHERE app_id = ? AND device_id = ?", (app_id, device_id))


def clear_version_pin(conn: sqlite3.Connection, app_id: str, device_id: str) -> None:
    conn.execute("DELETE FROM capgo_version_pins WHERE app_id = ? AND device_id = ?", (app_id, device_id))


# -- fixtures: merge and export ----------------------------------------------------------------

def upsert_key(conn: sqlite3.Connection, key: str, mode: str, app_ids: list[str] | None, key_id: int | None,
               user: str | None) -> None:
    """Insert or update a key; a new key without an id gets the next free one."""
    existing = find_key(conn, key)
    if existing is None:
        conn.execute("INSERT INTO capgo_api_keys (key, mode, app_ids, id, user_id) VALUES (?, ?, ?, ?, ?)",
                     (key, mode, None if app_ids is None else json.dumps(app_ids),
                      key_id if key_id is not None else _next_key_id(conn), user or "default"))
        return
    fields: dict[str, Any] = {"mode": mode, "app_ids": None if app_ids is None else json.dumps(app_ids)}
    if key_id is not None:
        fields["id"] = key_id
    if user is not None:
        fields["user_id"] = user
    _update(conn, "capgo_api_keys", fields, {"key": key})


def insert_version(conn: sqlite3.Connection, app_id: str, name: str, fields: dict[str, Any]) -> None:
    """``fields``: validated column names (fixtures.py's VERSION_EXTRAS and ``id``)."""
    _insert(conn, "capgo_versions", {"app_id": app_id, "name": name, **fields})


def update_version(conn: sqlite3.Connection, version_id: int, fields: dict[str, Any]) -> None:
    _update(conn, "capgo_versions", fields, {"id": version_id})


def insert_channel(conn: sqlite3.Connection, app_id: str, name: str, fields: dict[str, Any]) -> None:
    """``fields``: every flag column (validated names) and ``version_id``."""
    _insert(conn, "capgo_channels", {"app_id": app_id, "name": name, **fields})


def update_channel(conn: sqlite3.Connection, channel_id: int, fields: dict[str, Any]) -> None:
    _update(conn, "capgo_channels", fields, {"id": channel_id})


def insert_device(conn: sqlite3.Connection, app_id: str, device_id: str, fields: dict[str, Any]) -> None:
    """``fields``: columns of DEVICE_FIELDS."""
    _insert(conn, "capgo_devices", {"app_id": app_id, "device_id": device_id, **fields})


def update_device(conn: sqlite3.Connection, app_id: str, device_id: str, fields: dict[str, Any]) -> None:
    _update(conn, "capgo_devices", fields, {"app_id": app_id, "device_id": device_id})


def all_keys(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = dict_rows(conn.execute("SELECT key, mode, app_ids, id, user_id AS user FROM capgo_api_keys ORDER BY rowid"))
    for row in rows:
        row["app_ids"] = None if row["app_ids"] is None else json.loads(row["app_ids"])
    return rows


def all_app_ids(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT app_id FROM capgo_apps ORDER BY rowid")]


def versions_of(conn: sqlite3.Connection, app_id: str) -> list[dict[str, Any]]:
    return dict_rows(conn.execute("SELECT * FROM capgo_versions WHERE app_id = ? ORDER BY id", (app_id,)))


def channels_of(conn: sqlite3.Connection, app_id: str) -> list[dict[str, Any]]:
    """Each channel with its bundle's name as ``version_name``, in id order."""
    return dict_rows(conn.execute(
        "SELECT c.*, v.name AS version_name FROM capgo_channels c "
        "LEFT JOIN capgo_versions v ON v.id = c.version_id WHERE c.app_id = ? ORDER BY c.id", (app_id,)))


def devices_of(conn: sqlite3.Connection, app_id: str) -> list[dict[str, Any]]:
    return dict_rows(conn.execute("SELECT * FROM capgo_devices WHERE app_id = ? ORDER BY device_id", (app_id,)))


def channel_links_of(conn: sqlite3.Connection, app_id: str) -> list[tuple[str, str]]:
    """(device_id, channel name) of every channel link of the app."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT cd.device_id, c.name FROM capgo_channel_devices cd "
        "JOIN capgo_channels c ON c.id = cd.channel_id WHERE cd.app_id = ? ORDER BY cd.device_id", (app_id,))]


def version_pins_of(conn: sqlite3.Connection, app_id: str) -> list[tuple[str, str]]:
    """(device_id, version name) of every version pin of the app."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT vp.device_id, v.name FROM capgo_version_pins vp "
        "JOIN capgo_versions v ON v.id = vp.version_id WHERE vp.app_id = ? ORDER BY vp.device_id", (app_id,))]


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="capgo_apps", tenant_key="app_id", device_table="capgo_devices", device_tenant="app_id",
                device_id="device_id", columns=("device_id", "custom_id", "platform", "version_name", "version_build",
                                                "plugin_version", "os_version"))
