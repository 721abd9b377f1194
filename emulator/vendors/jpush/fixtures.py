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

from ...fixtures import (FixtureError, each_object, expect_bool, expect_keys, expect_list,
                         expect_str, expect_unique)
from . import rules, storage

APP_FIELDS = ("app_key", "master_secret")
DEVICE_FIELDS = ("platform", "tags", "alias", "mobile", "online", "last_online_time")
CREDENTIAL = "[A-Za-z0-9]{24}"


def _check(problem: str | None, path: str) -> None:
    if problem is not None:
        raise FixtureError(path, problem)


def _validate_device(dev: Any, path: str) -> None:
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
    for app, apath in each_object(doc, "apps", path):
        expect_keys(app, apath, required=APP_FIELDS, optional=("devices",))
        for key in APP_FIELDS:
            expect_str(app[key], f"{apath}.{key}", pattern=CREDENTIAL)
        devices = list(each_object(app, "devices", apath))
        for dev, dpath in devices:
            _validate_device(dev, dpath)
        expect_unique(((f"{dpath}.registration_id", dev["registration_id"]) for dev, dpath in devices),
                      "registration_id")
        bound = Counter(dev["alias"] for dev, _ in devices if dev.get("alias"))
        for dev, dpath in devices:
            if dev.get("alias") and bound[dev["alias"]] > rules.MAX_DEVICES_PER_ALIAS:
                raise FixtureError(f"{dpath}.alias",
                                   f"alias {dev['alias']!r} is bound to more than "
                                   f"{rules.MAX_DEVICES_PER_ALIAS} devices")
    expect_unique(((f"{path}.apps[{a}].app_key", app["app_key"]) for a, app in enumerate(doc.get("apps", []))),
                  "app_key")


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    """Merge: apps by app_key, devices by registration_id, only the fields given."""
    for app in doc.get("apps", []):
        key = app["app_key"]
        storage.merge_app(conn, key, app["master_secret"])
        for dev in app.get("devices", []):
            storage.merge_device(conn, key, dev["registration_id"], dev["platform"],
                                 {c: dev[c] for c in storage.DEVICE_COLUMNS if c in dev}, dev.get("tags"))


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    return {"apps": storage.export_apps(conn)}
