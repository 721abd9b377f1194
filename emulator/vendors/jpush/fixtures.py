"""The ``jpush`` part of the fixture document:
``{"apps": [{"app_key", "master_secret", "devices": [{"registration_id", "platform", "tags",
"alias", "mobile", "online", "last_online_time"}], "pushes": [{"msg_id", "sendno", "cid",
"audience", "platform", "notification", "message", "sms_message", "options", "time"}]}]}``.

``pushes`` (optional) are the pushes the app has sent, as ``GET /_emulator/state`` exports them:
a loaded push can be overridden (``options.override_msg_id``) and its cid answers again.

Device ``alias``: null = never set, "" = deleted (how GET shows it is the ``deleted_alias``
option), else the bound alias.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime
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


def _validate_push(push: dict[str, Any], path: str) -> None:
    expect_keys(push, path, required=("msg_id", "audience", "platform"),
                optional=("sendno", "cid", "notification", "message", "sms_message", "options", "time"))
    expect_str(push["msg_id"], f"{path}.msg_id", pattern=r"[1-9][0-9]{0,17}")
    expect_str(push.get("sendno", "0"), f"{path}.sendno", pattern=r"[0-9]{1,19}")
    expect_str(push.get("cid"), f"{path}.cid", nullable=True, max_len=200)
    when = expect_str(push.get("time"), f"{path}.time", nullable=True)
    if when is not None and _epoch(when) is None:
        raise FixtureError(f"{path}.time", f"{when!r} is not an ISO 8601 time such as 2026-01-01T00:00:00Z")
    body = {k: push[k] for k in ("platform", "audience", "notification", "message", "sms_message", "options",
                                 "cid") if push.get(k) is not None}
    problem = rules.push_problem(body, rules.ANY_CHARS)
    if problem is not None:
        raise FixtureError(path, problem[1])


def _epoch(when: str) -> float | None:
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def validate(doc: dict[str, Any], path: str) -> None:
    expect_keys(doc, path, optional=("apps",))
    for app, apath in each_object(doc, "apps", path):
        expect_keys(app, apath, required=APP_FIELDS, optional=("devices", "pushes"))
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
        pushes = list(each_object(app, "pushes", apath))
        for push, ppath in pushes:
            _validate_push(push, ppath)
        expect_unique(((f"{ppath}.msg_id", push["msg_id"]) for push, ppath in pushes), "msg_id")
        expect_unique(((f"{ppath}.cid", push["cid"]) for push, ppath in pushes if push.get("cid")), "cid")
    expect_unique(((f"{path}.apps[{a}].app_key", app["app_key"]) for a, app in enumerate(doc.get("apps", []))),
                  "app_key")


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    """Merge: apps by app_key, devices by registration_id (only the fields given), pushes by
    msg_id (a push without ``time`` was sent now)."""
    for a, app in enumerate(doc.get("apps", [])):
        key = app["app_key"]
        storage.merge_app(conn, key, app["master_secret"])
        for dev in app.get("devices", []):
            storage.merge_device(conn, key, dev["registration_id"], dev["platform"],
                                 {c: dev[c] for c in storage.DEVICE_COLUMNS if c in dev}, dev.get("tags"))
        for p, push in enumerate(app.get("pushes", [])):
            fields = {k: push.get(k) for k in (*storage.PUSH_JSON_FIELDS, "cid")}
            sent_at = _epoch(push.get("time") or now)
            problem = storage.merge_push(conn, key, int(push["msg_id"]), push.get("sendno", "0"),
                                         storage.Push(**fields), sent_at or 0.0)
            if problem is not None:
                raise FixtureError(f"{path}.apps[{a}].pushes[{p}]", problem)


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    apps = storage.export_apps(conn)
    pushes = storage.export_pushes(conn)
    for app in apps:   # optional: only apps that pushed show the key
        if app["app_key"] in pushes:
            app["pushes"] = pushes[app["app_key"]]
    return {"apps": apps}
