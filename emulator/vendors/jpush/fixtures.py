"""The ``jpush`` part of the fixture document:
``{"apps": [{"app_key", "master_secret", "devices": [{"registration_id", "platform", "tags",
"alias", "mobile", "online", "last_online_time"}]}]}``.

Device ``alias``: null = never set, "" = deleted (how GET shows it is the ``deleted_alias``
option), else the bound alias.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from ...fixtures import (FixtureError, expect_bool, expect_keys, expect_list, expect_object,
                         expect_str, expect_unique)
from . import rules

APP_FIELDS = ("app_key", "master_secret")
DEVICE_FIELDS = ("platform", "tags", "alias", "mobile", "online", "last_online_time")
CREDENTIAL = "[A-Za-z0-9]{24}"


def _check(problem: str | None, path: str) -> None:
    if problem is not None:
        raise FixtureError(path, problem)


def _validate_device(dev: Any, path: str) -> None:
    expect_object(dev, path)
    expect_keys(dev, path, required=("registration_id", "platform"),
                optional=("tags", "alias", "mobile", "online", "last_online_time"))
    expect_str(dev["registration_id"], f"{path}.registration_id", pattern=rules.RID_RE.pattern)
    expect_str(dev["platform"], f"{path}.platform", choices=rules.PLATFORMS)
    tags = expect_list(dev.get("tags", []), f"{path}.tags")
    if len(tags) > rules.MAX_TAGS_PER_DEVICE:
        raise FixtureError(f"{path}.tags", f"more than {rules.MAX_TAGS_PER_DEVICE} tags")
    for i, tag in enumerate(tags):
        expect_str(tag, f"{path}.tags[{i}]")
        _check(rules.name_problem(tag, "tag"), f"{path}.tags[{i}]")
    expect_unique(((f"{path}.tags[{i}]", t) for i, t in enumerate(tags)), "tag")
    alias = expect_str(dev.get("alias"), f"{path}.alias", nullable=True)
    if alias:
        _check(rules.name_problem(alias, "alias"), f"{path}.alias")
    mobile = expect_str(dev.get("mobile"), f"{path}.mobile", nullable=True)
    if mobile is not None:
        _check(rules.mobile_problem(mobile), f"{path}.mobile")
    expect_bool(dev.get("online", False), f"{path}.online")
    last = expect_str(dev.get("last_online_time"), f"{path}.last_online_time", nullable=True)
    if last is not None and rules.parse_last_online(last) is None:
        raise FixtureError(f"{path}.last_online_time", f"{last!r} is not 'yyyy-MM-dd HH:mm:ss'")


def validate(doc: dict[str, Any], path: str) -> None:
    expect_keys(doc, path, optional=("apps",))
    apps = expect_list(doc.get("apps", []), f"{path}.apps")
    for a, app in enumerate(apps):
        apath = f"{path}.apps[{a}]"
        expect_object(app, apath)
        expect_keys(app, apath, required=APP_FIELDS, optional=("devices",))
        for key in APP_FIELDS:
            expect_str(app[key], f"{apath}.{key}", pattern=CREDENTIAL)
        devices = expect_list(app.get("devices", []), f"{apath}.devices")
        for d, dev in enumerate(devices):
            _validate_device(dev, f"{apath}.devices[{d}]")
        expect_unique(((f"{apath}.devices[{d}].registration_id", dev["registration_id"])
                       for d, dev in enumerate(devices)), "registration_id")
        bound = Counter(dev["alias"] for dev in devices if dev.get("alias"))
        for d, dev in enumerate(devices):
            if dev.get("alias") and bound[dev["alias"]] > rules.MAX_DEVICES_PER_ALIAS:
                raise FixtureError(f"{apath}.devices[{d}].alias",
                                   f"alias {dev['alias']!r} is bound to more than "
                                   f"{rules.MAX_DEVICES_PER_ALIAS} devices")
    expect_unique(((f"{path}.apps[{a}].app_key", app["app_key"]) for a, app in enumerate(apps)), "app_key")


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    """Merge: apps by app_key, devices by registration_id, only the fields given."""
    for app in doc.get("apps", []):
        key = app["app_key"]
        conn.execute(
            "INSERT INTO jpush_apps(app_key, master_secret) VALUES (?, ?) "
            "ON CONFLICT(app_key) DO UPDATE SET master_secret = excluded.master_secret",
            (key, app["master_secret"]),
        )
        for dev in app.get("devices", []):
            _merge_device(conn, key, dev)


def _merge_device(conn: sqlite3.Connection, app_key: str, dev: dict[str, Any]) -> None:
    rid = dev["registration_id"]
    conn.execute(
        "INSERT INTO jpush_devices(app_key, registration_id, platform) VALUES (?, ?, ?) "
        "ON CONFLICT(app_key, registration_id) DO UPDATE SET platform = excluded.platform",
        (app_key, rid, dev["platform"]),
    )
    conn.execute("UPDATE jpush_device_tags SET platform = ? WHERE app_key = ? AND registration_id = ?",
                 (dev["platform"], app_key, rid))
    for column in ("alias", "mobile", "online", "last_online_time"):
        if column in dev:
            value = int(dev[column]) if column == "online" else dev[column]
            conn.execute(f"UPDATE jpush_devices SET {column} = ? WHERE app_key = ? AND registration_id = ?",
                         (value, app_key, rid))
    if "tags" in dev:
        conn.execute("DELETE FROM jpush_device_tags WHERE app_key = ? AND registration_id = ?", (app_key, rid))
        conn.executemany(
            "INSERT INTO jpush_device_tags(app_key, registration_id, tag, platform) VALUES (?, ?, ?, ?)",
            [(app_key, rid, tag, dev["platform"]) for tag in dev["tags"]],
        )


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    tags: dict[tuple[str, str], list[str]] = {}
    for app_key, rid, tag in conn.execute(
            "SELECT app_key, registration_id, tag FROM jpush_device_tags ORDER BY app_key, registration_id, tag"):
        tags.setdefault((app_key, rid), []).append(tag)
    apps: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for app_key, secret in conn.execute("SELECT app_key, master_secret FROM jpush_apps ORDER BY app_key"):
        app = {"app_key": app_key, "master_secret": secret, "devices": []}
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
    return {"apps": apps}
