"""JPush tables and the SQL run by the Store (reads on a snapshot, writes in a transaction).

Write functions raise :class:`ApiError` for refusals *before or after* changing rows: the
Store runs each in its own savepoint, so a refused request leaves nothing behind.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable, Sequence

from ... import deliveries
from ...clock import iso_utc
from . import errors, rules
from .rules import MAX_ALIAS_IDS, MAX_DEVICES_PER_ALIAS, MAX_TAGS_PER_DEVICE, MAX_TAGS_PER_PLATFORM, PLATFORMS
from ...storage import Browse, single_statement

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
    # Push API v3: one row per accepted POST /v3/push (validate and refused pushes leave none).
    # msg_id is global (the real service's ids are), sent_at is the emulator clock's epoch.
    """
    CREATE TABLE jpush_pushes (
        msg_id       INTEGER PRIMARY KEY,
        app_key      TEXT NOT NULL REFERENCES jpush_apps(app_key),
        sendno       TEXT NOT NULL,
        cid          TEXT,
        audience     TEXT NOT NULL,
        platform     TEXT NOT NULL,
        notification TEXT,
        message      TEXT,
        sms_message  TEXT,
        options      TEXT,
        sent_at      REAL NOT NULL
    );
    CREATE INDEX jpush_pushes_by_app ON jpush_pushes(app_key, msg_id);
    CREATE UNIQUE INDEX jpush_pushes_by_cid ON jpush_pushes(app_key, cid) WHERE cid IS NOT NULL;
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
    """Refuse the whole request if any id is unknown or belongs to another app key: 7002 when
    none is this app's, 7013 ("some request parameters are illegal") when only some are."""
    wanted = set(rids)
    known = _known_rids(conn, app_key, wanted)
    if len(known) != len(wanted):
        raise errors.rid_not_in_app() if not known else errors.some_rids_not_in_app(sorted(wanted - known))


def _check_tag_counts(conn: sqlite3.Connection, app_key: str, rids: Sequence[str]) -> None:
    over = conn.execute(
        "SELECT registration_id FROM jpush_device_tags WHERE app_key = ? AND registration_id IN "
        "(SELECT value FROM json_each(?)) GROUP BY registration_id HAVING COUNT(*) > ? LIMIT 1",
        (app_key, json.dumps(list(rids)), MAX_TAGS_PER_DEVICE),
    ).fetchone()
    if over is not None:
        raise errors.illegal(f"registration_id {over[0]} would have more than {MAX_TAGS_PER_DEVICE} tags")


# -- apps ---------------------------------------------------------------------------------

def app_secret(conn: sqlite3.Connection, app_key: str, master_secret: str | None = None) -> str | None:
    """The stored master secret of ``app_key`` (``master_secret`` is the caller's, unused here:
    lookup and create take the same arguments)."""
    row = conn.execute("SELECT master_secret FROM jpush_apps WHERE app_key = ?", (app_key,)).fetchone()
    return None if row is None else row[0]


def create_app(conn: sqlite3.Connection, app_key: str, master_secret: str) -> str:
    """Open auth mode: the first call with an unknown app key creates it. Returns the secret."""
    conn.execute("INSERT OR IGNORE INTO jpush_apps(app_key, master_secret) VALUES (?, ?)",
                 (app_key, master_secret))
    return app_secret(conn, app_key) or master_secret


def merge_app(conn: sqlite3.Connection, app_key: str, master_secret: str) -> None:
    """Fixture load: insert the app or replace its secret."""
    conn.execute(
        "INSERT INTO jpush_apps(app_key, master_secret) VALUES (?, ?) "
        "ON CONFLICT(app_key) DO UPDATE SET master_secret = excluded.master_secret",
        (app_key, master_secret),
    )


# -- devices ------------------------------------------------------------------------------

def _device_json_sql(deleted_alias_null: bool, mobile_number: bool) -> str:
    """GET /v3/devices/{registration_id} as the JSON text SQLite builds (JSON1, in C: one statement
    and no Python objects per tag). Each option is its own statement text, so the default one does
    no per-row test: a deleted alias ("") as null (``deleted_alias_null``), an all-digit mobile as
    a JSON number (``mobile_number``: leading zeros dropped as ``int()`` does, any length as
    Python's integers). ``?1`` app key, ``?2`` registration id: the tags' subquery is run once."""
    alias = "nullif(alias, '')" if deleted_alias_null else "alias"
    mobile = ("CASE WHEN mobile <> '' AND mobile NOT GLOB '*[^0-9]*' "
              "THEN json(coalesce(nullif(ltrim(mobile, '0'), ''), '0')) ELSE mobile END") if mobile_number else "mobile"
    return f"""
        SELECT json_object(
            'tags', (SELECT json_group_array(tag) FROM (
                        SELECT tag FROM jpush_device_tags WHERE app_key = ?1 AND registration_id = ?2 ORDER BY tag)),
            'alias', {alias}, 'mobile', {mobile})
        FROM jpush_devices WHERE app_key = ?1 AND registration_id = ?2"""


DEVICE_JSON = {(null, number): _device_json_sql(null, number) for null in (False, True) for number in (False, True)}


@single_statement
def device_json(conn: sqlite3.Connection, app_key: str, rid: str, deleted_alias_null: bool,
                mobile_number: bool) -> str | None:
    """The device's answer as JSON text; None when the app has no such device."""
    row = conn.execute(DEVICE_JSON[deleted_alias_null, mobile_number], (app_key, rid)).fetchone()
    return None if row is None else row[0]


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


# -- fixtures -----------------------------------------------------------------------------

DEVICE_COLUMNS = ("alias", "mobile", "online", "last_online_time")


def merge_device(conn: sqlite3.Connection, app_key: str, rid: str, platform: str,
                 fields: dict[str, Any], tags: Sequence[str] | None) -> None:
    """Fixture load: insert or update one device; only the given ``fields`` change, ``tags``
    (when not None) replace the device's tags."""
    conn.execute(
        "INSERT INTO jpush_devices(app_key, registration_id, platform) VALUES (?, ?, ?) "
        "ON CONFLICT(app_key, registration_id) DO UPDATE SET platform = excluded.platform",
        (app_key, rid, platform),
    )
    conn.execute("UPDATE jpush_device_tags SET platform = ? WHERE app_key = ? AND registration_id = ?",
                 (platform, app_key, rid))
    for column in DEVICE_COLUMNS:
        if column in fields:
            value = int(fields[column]) if column == "online" else fields[column]
            conn.execute(f"UPDATE jpush_devices SET {column} = ? WHERE app_key = ? AND registration_id = ?",
                         (value, app_key, rid))
    if tags is not None:
        conn.execute("DELETE FROM jpush_device_tags WHERE app_key = ? AND registration_id = ?", (app_key, rid))
        conn.executemany(
            "INSERT INTO jpush_device_tags(app_key, registration_id, tag, platform) VALUES (?, ?, ?, ?)",
            [(app_key, rid, tag, platform) for tag in tags],
        )


def export_apps(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every app with its devices (the fixture shape)."""
    tags: dict[tuple[str, str], list[str]] = {}
    for app_key, rid, tag in conn.execute(
            "SELECT app_key, registration_id, tag FROM jpush_device_tags ORDER BY app_key, registration_id, tag"):
        tags.setdefault((app_key, rid), []).append(tag)
    apps: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for app_key, secret in conn.execute("SELECT app_key, master_secret FROM jpush_apps ORDER BY app_key"):
        app: dict[str, Any] = {"app_key": app_key, "master_secret": secret, "devices": []}
        apps.append(app)
        by_key[app_key] = app
    for row in conn.execute(
            "SELECT app_key, registration_id, platform, alias, mobile, online, last_online_time "
            "FROM jpush_devices ORDER BY app_key, registration_id"):
        app_key, rid, platform, alias, mobile, online, last = row
        by_key[app_key]["devices"].append({
            "registration_id": rid, "platform": platform, "tags": tags.get((app_key, rid), []),
            "alias": alias, "mobile": mobile, "online": bool(online), "last_online_time": last,
        })
    return apps


# -- pushes -------------------------------------------------------------------------------

#: the first msg_id handed out (ten digits like the documented example "1828256757"; an integer
#: every client can hold: the Java client reads msg_id as a long, JavaScript as a double)
MSG_ID_BASE = 1_000_000_000
PUSH_JSON_FIELDS = ("audience", "platform", "notification", "message", "sms_message", "options")
VENDOR = "jpush"


@dataclass
class Push:
    """A validated push (the body of POST /v3/push)."""

    audience: Any
    platform: Any
    notification: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    sms_message: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    cid: str | None = None

    @property
    def sendno(self) -> str:
        return str((self.options or {}).get("sendno") or 0)

    @property
    def platforms(self) -> list[str] | None:
        """None = every platform."""
        return None if self.platform == "all" else sorted(set(self.platform))


def next_msg_id(conn: sqlite3.Connection) -> int:
    top = conn.execute("SELECT max(msg_id) FROM jpush_pushes").fetchone()[0]
    return MSG_ID_BASE if top is None or top < MSG_ID_BASE else top + 1


def _audience_sql(app_key: str, audience: Any, platforms: Sequence[str] | None) -> tuple[str, list[Any]]:
    """One set-based SELECT of (rid, platform, alias) for the whole audience: every selector is
    an IN (subquery) on an index, combined with AND (the Push API's intersection)."""
    where = ["d.app_key = ?"]
    args: list[Any] = [app_key]
    if platforms is not None:
        where.append("d.platform IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(list(platforms)))
    if audience != "all":
        def values(key: str) -> list[str]:
            return list(dict.fromkeys(audience.get(key) or []))
        if values("tag"):
            where.append("d.registration_id IN (SELECT registration_id FROM jpush_device_tags "
                         "WHERE app_key = ? AND tag IN (SELECT value FROM json_each(?)))")
            args += [app_key, json.dumps(values("tag"))]
        if values("registration_id"):
            where.append("d.registration_id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(values("registration_id")))
        if values("alias"):
            where.append("d.alias IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(values("alias")))
        if values("tag_and"):
            where.append("d.registration_id IN (SELECT registration_id FROM jpush_device_tags "
                         "WHERE app_key = ? AND tag IN (SELECT value FROM json_each(?)) "
                         "GROUP BY registration_id HAVING count(*) = ?)")
            args += [app_key, json.dumps(values("tag_and")), len(values("tag_and"))]
        if values("tag_not"):
            where.append("d.registration_id NOT IN (SELECT registration_id FROM jpush_device_tags "
                         "WHERE app_key = ? AND tag IN (SELECT value FROM json_each(?)))")
            args += [app_key, json.dumps(values("tag_not"))]
        if values("segment") or values("abtest"):
            where.append("0")  # the emulator keeps no segments or A/B tests: nobody is in one
    sql = (f"SELECT d.registration_id, d.platform, d.alias FROM jpush_devices d "
           f"WHERE {' AND '.join(where)} ORDER BY d.registration_id")
    return sql, args


def resolve_audience(conn: sqlite3.Connection, app_key: str, audience: Any,
                     platforms: Sequence[str] | None) -> list[tuple[str, str, str | None, str | None]]:
    """(rid, platform, alias, first matching ``tag``) of every device the audience selects."""
    sql, args = _audience_sql(app_key, audience, platforms)
    rows = conn.execute(sql, args).fetchall()
    tags = list(dict.fromkeys(audience.get("tag") or [])) if audience != "all" else []
    if len(tags) <= 1:
        only = tags[0] if tags else None
        return [(rid, platform, alias, only) for rid, platform, alias in rows]
    first: dict[str, str] = {}   # a device's alphabetically first tag of the list (index order)
    for rid, tag in conn.execute(
            "SELECT registration_id, tag FROM jpush_device_tags WHERE app_key = ? AND tag IN "
            "(SELECT value FROM json_each(?)) ORDER BY tag", (app_key, json.dumps(tags))):
        first.setdefault(rid, tag)
    return [(rid, platform, alias, first[rid]) for rid, platform, alias in rows]


def _matched_by(audience: Any) -> Callable[[str, str | None, str | None], dict[str, Any]]:
    """How a device (rid, alias, tag) was reached: its registration_id, alias or tag when the
    audience names one, else the tag_and / tag_not condition, else {"audience": "all"}. The
    constant answers are one shared object."""
    if audience == "all":
        everyone = {"audience": "all"}
        return lambda rid, alias, tag: everyone
    if audience.get("registration_id"):
        return lambda rid, alias, tag: {"registration_id": rid}
    if audience.get("alias"):
        return lambda rid, alias, tag: {"alias": alias}
    if audience.get("tag"):
        per_tag = {t: {"tag": t} for t in audience["tag"]}
        return lambda rid, alias, tag: per_tag[tag or ""]
    key = "tag_and" if audience.get("tag_and") else "tag_not"
    condition = {key: list(dict.fromkeys(audience[key]))}
    return lambda rid, alias, tag: condition


def _override_target(conn: sqlite3.Connection, app_key: str, msg_id: int, now: float) -> bool:
    row = conn.execute("SELECT sent_at FROM jpush_pushes WHERE app_key = ? AND msg_id = ?",
                       (app_key, msg_id)).fetchone()
    return row is not None and now - row[0] <= 24 * 3600


def send_push(conn: sqlite3.Connection, app_key: str, push: Push, validate_only: bool,
              now: float) -> dict[str, str]:
    """Check, resolve and (unless ``validate_only``) record a push and its deliveries.

    Returns the answer body. Refusals raise: 1003 for a foreign cid or an unknown
    override_msg_id, 1011 when no device matches (with the msg_id the push was given)."""
    if push.cid is not None:
        if not push.cid.startswith(f"{app_key}-"):
            raise errors.push_error(rules.INVALID, f"cid {push.cid!r} is not a cid of this appkey")
        if not validate_only:
            row = conn.execute("SELECT msg_id, sendno FROM jpush_pushes WHERE app_key = ? AND cid = ?",
                               (app_key, push.cid)).fetchone()
            if row is not None:   # a repeated cid answers the first push's result, pushing nothing
                return {"sendno": row[1], "msg_id": str(row[0])}
    override = (push.options or {}).get("override_msg_id")
    if override is not None and not _override_target(conn, app_key, override, now):
        raise errors.push_error(rules.INVALID, f"override_msg_id {override} is not a valid override: "
                                "no push of this appkey with that msg_id in the last day")
    matched = resolve_audience(conn, app_key, push.audience, push.platforms)
    msg_id = next_msg_id(conn)
    if not matched:
        raise errors.no_audience(None if validate_only else str(msg_id))
    if validate_only:
        return {"sendno": push.sendno, "msg_id": "0"}
    conn.execute(
        "INSERT INTO jpush_pushes(msg_id, app_key, sendno, cid, audience, platform, notification, message, "
        "sms_message, options, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (msg_id, app_key, push.sendno, push.cid,
         *(None if getattr(push, f) is None else json.dumps(getattr(push, f), ensure_ascii=False)
           for f in PUSH_JSON_FIELDS), now))
    dead = deliveries.dead_tokens(conn, vendor=VENDOR, tenant=app_key)
    payloads = {p: rules.platform_payload(push.notification, push.message, p) for p in PLATFORMS}
    rows = []
    matched_by_of = _matched_by(push.audience)
    for rid, platform, alias, tag in matched:
        payload = payloads.get(platform)
        if payload is None:
            continue  # nothing in this push for the device's platform (explain_miss says so)
        matched_by = matched_by_of(rid, alias, tag)
        if rid in dead:
            rows.append(deliveries.Delivery(rid, platform, "failed", f"token invalidated: {dead[rid]}",
                                            matched_by, payload))
        else:
            rows.append(deliveries.Delivery(rid, platform, "delivered", "matched the audience",
                                            matched_by, payload))
    deliveries.record(conn, vendor=VENDOR, tenant=app_key, publish_id=str(msg_id), deliveries=rows,
                      now=iso_utc(now))
    return {"sendno": push.sendno, "msg_id": str(msg_id)}


def push_row(conn: sqlite3.Connection, app_key: str, msg_id: str) -> Push | None:
    if not msg_id.isdigit() or len(msg_id) > 18:
        return None
    row = conn.execute(
        "SELECT audience, platform, notification, message, sms_message, options, cid FROM jpush_pushes "
        "WHERE app_key = ? AND msg_id = ?", (app_key, int(msg_id))).fetchone()
    if row is None:
        return None
    audience, platform, notification, message, sms, options = (None if v is None else json.loads(v)
                                                                for v in row[:6])
    return Push(audience, platform, notification, message, sms, options, row[6])


def device_row(conn: sqlite3.Connection, app_key: str, rid: str) -> tuple[str, str | None, set[str]] | None:
    """(platform, alias, tags) of a device, or None."""
    row = conn.execute("SELECT platform, alias FROM jpush_devices WHERE app_key = ? AND registration_id = ?",
                       (app_key, rid)).fetchone()
    if row is None:
        return None
    tags = {r[0] for r in conn.execute(
        "SELECT tag FROM jpush_device_tags WHERE app_key = ? AND registration_id = ?", (app_key, rid))}
    return row[0], row[1], tags


def new_cids(app_key: str, count: int) -> list[str]:
    return [f"{app_key}-{uuid.uuid4()}" for _ in range(count)]


def merge_push(conn: sqlite3.Connection, app_key: str, msg_id: int, sendno: str, push: Push,
               sent_at: float) -> str | None:
    """Fixture load: insert or replace a push by msg_id. Returns a problem when the msg_id or
    the cid belongs to another app's push."""
    owner = conn.execute("SELECT app_key FROM jpush_pushes WHERE msg_id = ?", (msg_id,)).fetchone()
    if owner is not None and owner[0] != app_key:
        return f"msg_id {msg_id} is a push of app {owner[0]}"
    if push.cid is not None:
        other = conn.execute("SELECT msg_id FROM jpush_pushes WHERE app_key = ? AND cid = ? AND msg_id != ?",
                             (app_key, push.cid, msg_id)).fetchone()
        if other is not None:
            return f"cid {push.cid!r} is already the cid of push {other[0]}"
    conn.execute(
        "INSERT OR REPLACE INTO jpush_pushes(msg_id, app_key, sendno, cid, audience, platform, notification, "
        "message, sms_message, options, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (msg_id, app_key, sendno, push.cid,
         *(None if getattr(push, f) is None else json.dumps(getattr(push, f), ensure_ascii=False)
           for f in PUSH_JSON_FIELDS), sent_at))
    return None


def export_pushes(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """app_key -> its pushes, oldest first (the fixture shape)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(
            "SELECT app_key, msg_id, sendno, cid, audience, platform, notification, message, sms_message, "
            "options, sent_at FROM jpush_pushes ORDER BY app_key, msg_id"):
        app_key, msg_id, sendno, cid = row[:4]
        push: dict[str, Any] = {"msg_id": str(msg_id), "sendno": sendno, "cid": cid}
        for name, value in zip(PUSH_JSON_FIELDS, row[4:10], strict=True):
            push[name] = None if value is None else json.loads(value)
        push["time"] = iso_utc(row[10])
        out.setdefault(app_key, []).append(push)
    return out


# -- the delivery ledger's questions ------------------------------------------------------

def explain_miss(conn: sqlite3.Connection, app_key: str, msg_id: str, rid: str) -> str | None:
    """Why a device got no delivery from a push; None for an unknown push or device."""
    push = push_row(conn, app_key, msg_id)
    device = device_row(conn, app_key, rid)
    if push is None or device is None:
        return None
    platform, alias, tags = device
    payload = rules.platform_payload(push.notification, push.message, platform)
    return rules.miss_reason(push.audience, push.platforms, payload, rid, platform, alias, tags)


#: where the dashboard pages through tenants and devices
BROWSE = Browse(tenant_table="jpush_apps", tenant_key="app_key", device_table="jpush_devices", device_tenant="app_key",
                device_id="registration_id",
                columns=("registration_id", "platform", "alias", "mobile", "online", "last_online_time"))
