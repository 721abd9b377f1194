"""Capgo's part of the fixture document: validate (with JSON paths), merge, export.

Shape::

    {"api_keys": [{"key", "mode": "all|write|read|upload", "app_ids"?: [...], "id"?: 1, "user"?: "..."}],
     "apps": [{"app_id", "plan_valid"?: true, "allow_device_custom_id"?: true,
               "versions": ["1.0.0" | {"name", "id"?, "url"?, "checksum"?, "session_key"?,
                                       "min_update_version"?, "key_id"?}],
               "channels": [{"name", "public", "ios"?, "android"?, "electron"?,
                             "allow_device_self_set"?, "allow_emulator"?, "allow_device"?, "allow_dev"?,
                             "allow_prod"?, "disable_auto_update"?: "none|patch|minor|major|version_number",
                             "disable_auto_update_under_native"?, "version"?: <bundle name> | null}],
               "devices": [{"device_id", "platform"?, "version_name"?, ...}],
               "overrides": [{"device_id", "channel"?: <name> | null, "version"?: <name> | null}],
               "stats": [{"device_id", "action", "version_name"?, "metadata"?, "created_at"}]}]}

Omitted channel fields take the real service's defaults (every flag true except ``public`` and
``allow_device_self_set``; ``disable_auto_update`` ``major``). ``stats`` is the log of what the
plugin endpoints recorded; loading adds the rows not already there.

A version may be a plain name (the contract's form) or an object; export always writes
objects with the ``id`` so a PUT of the export keeps the ids GET answers with.
"""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime, UTC
from functools import lru_cache
from typing import Any

from ...fixtures import (FixtureError, each_object, expect_bool, expect_int, expect_keys, expect_list,
                         expect_object, expect_str, expect_unique)
from . import storage

KEY_MODES = ("all", "write", "read", "upload")
PLATFORMS = ("ios", "android", "electron")
#: the real ``channels`` defaults (Cap-go/capgo@4bc7d83f supabase/migrations/20260708000000_prod_baseline.sql)
CHANNEL_DEFAULTS = {"ios": True, "android": True, "electron": True, "allow_device_self_set": False,
                    "allow_emulator": True, "allow_device": True, "allow_dev": True, "allow_prod": True,
                    "disable_auto_update_under_native": True}
AUTO_UPDATE_POLICIES = ("none", "patch", "minor", "major", "version_number")
DEFAULT_POLICY = "major"
VERSION_EXTRAS = ("url", "checksum", "session_key", "min_update_version", "key_id")
#: app settings the plugin endpoints read (``apps`` / the org's plan), both true by default
APP_SETTINGS = ("plan_valid", "allow_device_custom_id")
STAT_KEYS = ("device_id", "action", "version_name", "metadata", "created_at")
DEVICE_STRINGS = {  # field -> max length (None: unbounded), as the real columns
    "custom_id": 36, "version_name": None, "plugin_version": 20, "os_version": 20,
    "version_build": 70, "install_source": 64, "key_id": 20, "country_code": 2, "default_channel": 255,
}
NOT_NULL_STRINGS = ("custom_id", "version_name", "plugin_version", "version_build")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")


@lru_cache(maxsize=4096)
def normalise_timestamp(text: str) -> str | None:
    """ISO 8601 (``Z``, offset or naive = UTC) -> ``YYYY-MM-DDTHH:MM:SS.mmmZ``; None if invalid.
    Cached: bulk fixtures repeat the same few stamps, and this runs at validation and load."""
    if not TIMESTAMP.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # impossible dates; offsets that leave year 1..9999
        return None
    return (f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}T{parsed.hour:02d}:{parsed.minute:02d}:"
            f"{parsed.second:02d}.{parsed.microsecond // 1000:03d}Z")


# -- validation ---------------------------------------------------------------------------------

def validate(doc: dict[str, Any], path: str) -> None:
    expect_keys(doc, path, optional=("api_keys", "apps"))
    keys = expect_list(doc.get("api_keys", []), f"{path}.api_keys")
    for i, item in enumerate(keys):
        p = f"{path}.api_keys[{i}]"
        expect_object(item, p)
        expect_keys(item, p, required=("key", "mode"), optional=("app_ids", "id", "user"))
        if "id" in item:
            expect_int(item["id"], f"{p}.id", minimum=1)
        if "user" in item:
            expect_str(item["user"], f"{p}.user", pattern=r"\S+")
        expect_str(item["key"], f"{p}.key", pattern=r"\S+")
        expect_str(item["mode"], f"{p}.mode", choices=KEY_MODES)
        if item.get("app_ids") is not None:
            for j, app_id in enumerate(expect_list(item["app_ids"], f"{p}.app_ids")):
                expect_str(app_id, f"{p}.app_ids[{j}]", pattern=r"\S+")
    expect_unique(((f"{path}.api_keys[{i}].key", k["key"]) for i, k in enumerate(keys)), "key")
    expect_unique(((f"{path}.api_keys[{i}].id", k["id"]) for i, k in enumerate(keys) if "id" in k), "key id")
    apps = expect_list(doc.get("apps", []), f"{path}.apps")
    for i, app in enumerate(apps):
        _validate_app(app, f"{path}.apps[{i}]")
    expect_unique(((f"{path}.apps[{i}].app_id", a["app_id"]) for i, a in enumerate(apps)), "app_id")
    ids = [(f"{path}.apps[{i}].versions[{j}].id", v["id"])
           for i, a in enumerate(apps) for j, v in enumerate(a.get("versions", []))
           if isinstance(v, dict) and "id" in v]
    expect_unique(ids, "version id")


def _validate_app(app: Any, p: str) -> None:
    expect_object(app, p)
    expect_keys(app, p, required=("app_id",),
                optional=(*APP_SETTINGS, "versions", "channels", "devices", "overrides", "stats"))
    for setting in APP_SETTINGS:
        if setting in app:
            expect_bool(app[setting], f"{p}.{setting}")
    expect_str(app["app_id"], f"{p}.app_id", pattern=r"\S+", max_len=50)
    versions = expect_list(app.get("versions", []), f"{p}.versions")
    names = []
    for j, version in enumerate(versions):
        vp = f"{p}.versions[{j}]"
        if isinstance(version, str):
            expect_str(version, vp, pattern=r"\S.*")
            names.append((vp, version))
            continue
        expect_object(version, vp)
        expect_keys(version, vp, required=("name",), optional=("id", *VERSION_EXTRAS))
        expect_str(version["name"], f"{vp}.name", pattern=r"\S.*")
        if "id" in version:
            expect_int(version["id"], f"{vp}.id", minimum=1)
        for extra in VERSION_EXTRAS:
            expect_str(version.get(extra), f"{vp}.{extra}", nullable=True)
        names.append((f"{vp}.name", version["name"]))
    expect_unique(names, "version name")
    channels = expect_list(app.get("channels", []), f"{p}.channels")
    for j, channel in enumerate(channels):
        cp = f"{p}.channels[{j}]"
        expect_object(channel, cp)
        expect_keys(channel, cp, required=("name", "public"),
                    optional=(*CHANNEL_DEFAULTS, "disable_auto_update", "version"))
        expect_str(channel["name"], f"{cp}.name", pattern=r"\S.*")
        for flag in ("public", *CHANNEL_DEFAULTS):
            if flag in channel:
                expect_bool(channel[flag], f"{cp}.{flag}")
        expect_str(channel.get("version"), f"{cp}.version", nullable=True)
        if "disable_auto_update" in channel:
            expect_str(channel["disable_auto_update"], f"{cp}.disable_auto_update", choices=AUTO_UPDATE_POLICIES)
    expect_unique(((f"{p}.channels[{j}].name", c["name"]) for j, c in enumerate(channels)), "channel name")
    devices = expect_list(app.get("devices", []), f"{p}.devices")
    for j, device in enumerate(devices):
        _validate_device(device, f"{p}.devices[{j}]")
    expect_unique(((f"{p}.devices[{j}].device_id", d["device_id"]) for j, d in enumerate(devices)), "device_id")
    overrides = expect_list(app.get("overrides", []), f"{p}.overrides")
    for j, override in enumerate(overrides):
        op = f"{p}.overrides[{j}]"
        expect_object(override, op)
        expect_keys(override, op, required=("device_id",), optional=("channel", "version"))
        expect_str(override["device_id"], f"{op}.device_id", pattern=r"\S+")
        expect_str(override.get("channel"), f"{op}.channel", nullable=True)
        expect_str(override.get("version"), f"{op}.version", nullable=True)
    expect_unique(((f"{p}.overrides[{j}].device_id", o["device_id"]) for j, o in enumerate(overrides)),
                  "override device_id")
    for stat, sp in each_object(app, "stats", p):
        expect_keys(stat, sp, required=("device_id", "action", "created_at"), optional=("version_name", "metadata"))
        expect_str(stat["device_id"], f"{sp}.device_id", pattern=r"\S+")
        expect_str(stat["action"], f"{sp}.action", pattern=r"\S+")
        expect_str(stat.get("version_name"), f"{sp}.version_name", nullable=True)
        expect_str(stat["created_at"], f"{sp}.created_at")
        if normalise_timestamp(stat["created_at"]) is None:
            raise FixtureError(f"{sp}.created_at", f"not an ISO 8601 timestamp: {stat['created_at']!r}")
        metadata = stat.get("metadata")
        if metadata is not None:
            expect_object(metadata, f"{sp}.metadata")
            for key, value in metadata.items():
                expect_str(value, f"{sp}.metadata.{key}")


def _validate_device(device: Any, p: str) -> None:
    expect_object(device, p)
    expect_keys(device, p, required=("device_id",), optional=storage.DEVICE_FIELDS)
    expect_str(device["device_id"], f"{p}.device_id", pattern=r"\S+")
    for field, max_len in DEVICE_STRINGS.items():
        if field in device:
            expect_str(device[field], f"{p}.{field}", nullable=field not in NOT_NULL_STRINGS, max_len=max_len)
    expect_str(device.get("platform"), f"{p}.platform", nullable=True, choices=PLATFORMS)
    for flag in storage.BOOL_DEVICE_FIELDS:
        if flag in device:
            expect_bool(device[flag], f"{p}.{flag}")
    for stamp in ("created_at", "updated_at"):
        if stamp in device:
            expect_str(device[stamp], f"{p}.{stamp}")
            if normalise_timestamp(device[stamp]) is None:
                raise FixtureError(f"{p}.{stamp}", f"not an ISO 8601 timestamp: {device[stamp]!r}")


# -- load (merge) -------------------------------------------------------------------------------

def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    keys = list(each_object(doc, "api_keys", path))
    # keys that name their id first, so a key without one cannot take it
    for item, item_path in sorted(keys, key=lambda pair: "id" not in pair[0]):
        key_id = item.get("id")
        if key_id is not None:
            holder = storage.find_key_by_id(conn, key_id)
            if holder is not None and holder["key"] != item["key"]:
                raise FixtureError(f"{item_path}.id", f"key id {key_id} already belongs to another key")
        storage.upsert_key(conn, item["key"], item["mode"], item.get("app_ids"), key_id, item.get("user"))
    for app, app_path in each_object(doc, "apps", path):
        _load_app(conn, app, now, app_path)


def _load_app(conn: sqlite3.Connection, app: dict[str, Any], now: str, p: str) -> None:
    app_id = app["app_id"]
    storage.create_app(conn, app_id)
    storage.update_app(conn, app_id, {k: int(app[k]) for k in APP_SETTINGS if k in app})
    for j, version in enumerate(app.get("versions", [])):
        _load_version(conn, app_id, version if isinstance(version, dict) else {"name": version},
                      f"{p}.versions[{j}].id")
    for channel, channel_path in each_object(app, "channels", p):
        _load_channel(conn, app_id, channel, channel_path)
    for device, _ in each_object(app, "devices", p):
        _load_device(conn, app_id, device, now)
    for override, override_path in each_object(app, "overrides", p):
        _load_override(conn, app_id, override, override_path)
    for stat, _ in each_object(app, "stats", p):
        stat = {**stat, "created_at": normalise_timestamp(stat["created_at"])}
        if not storage.stat_exists(conn, app_id, stat):
            storage.record_stat(conn, app_id, stat["device_id"], stat["action"], stat.get("version_name"),
                                stat.get("metadata"), stat["created_at"])


def _referenced_id(conn: sqlite3.Connection, app_id: str, what: str, name: str, path: str) -> int:
    """The id of a version/channel named in the fixture, from this document or the state."""
    row = (storage.version_by_name if what == "version" else storage.channel_by_name)(conn, app_id, name)
    if row is None:
        raise FixtureError(path, f"unknown {what} {name!r} in app {app_id!r}")
    return row["id"]


def _load_version(conn: sqlite3.Connection, app_id: str, version: dict[str, Any], id_path: str) -> None:
    existing = storage.version_by_name(conn, app_id, version["name"])
    wanted_id = version.get("id")
    if wanted_id is not None:
        holder = storage.version_by_id(conn, wanted_id)
        if holder is not None and (holder["app_id"], holder["name"]) != (app_id, version["name"]):
            raise FixtureError(id_path, f"version id {wanted_id} already belongs to "
                                        f"{holder['app_id']} {holder['name']!r}")
    extras = {k: version[k] for k in VERSION_EXTRAS if k in version}
    if wanted_id is not None:
        extras["id"] = wanted_id
    if existing is None:
        storage.insert_version(conn, app_id, version["name"], extras)
    else:
        storage.update_version(conn, existing["id"], extras)


def _load_channel(conn: sqlite3.Connection, app_id: str, channel: dict[str, Any], p: str) -> None:
    fields: dict[str, Any] = {k: int(channel[k]) for k in ("public", *CHANNEL_DEFAULTS) if k in channel}
    if "disable_auto_update" in channel:
        fields["disable_auto_update"] = channel["disable_auto_update"]
    if "version" in channel:
        fields["version_id"] = None if channel["version"] is None else \
            _referenced_id(conn, app_id, "version", channel["version"], f"{p}.version")
    existing = storage.channel_by_name(conn, app_id, channel["name"])
    if existing is None:
        storage.insert_channel(conn, app_id, channel["name"],
                               {**{k: int(v) for k, v in CHANNEL_DEFAULTS.items()},
                                "disable_auto_update": DEFAULT_POLICY, **fields})
    else:
        storage.update_channel(conn, existing["id"], fields)


def _load_device(conn: sqlite3.Connection, app_id: str, device: dict[str, Any], now: str) -> None:
    fields = {k: device[k] for k in storage.DEVICE_FIELDS if k in device}
    for stamp in ("created_at", "updated_at"):
        if stamp in fields:
            fields[stamp] = normalise_timestamp(fields[stamp])
    for flag in storage.BOOL_DEVICE_FIELDS:
        if flag in fields:
            fields[flag] = int(fields[flag])
    if not storage.device_exists(conn, app_id, device["device_id"]):
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", fields["created_at"])
        storage.insert_device(conn, app_id, device["device_id"], fields)
    else:
        storage.update_device(conn, app_id, device["device_id"], fields)


def _load_override(conn: sqlite3.Connection, app_id: str, override: dict[str, Any], p: str) -> None:
    device_id = override["device_id"]
    if "channel" in override:
        if override["channel"] is None:
            storage.clear_channel_link(conn, app_id, device_id)
        else:
            storage.set_channel_link(conn, app_id, device_id,
                                     _referenced_id(conn, app_id, "channel", override["channel"], f"{p}.channel"))
    if "version" in override:
        if override["version"] is None:
            storage.clear_version_pin(conn, app_id, device_id)
        else:
            storage.set_version_pin(conn, app_id, device_id,
                                    _referenced_id(conn, app_id, "version", override["version"], f"{p}.version"))


# -- export -------------------------------------------------------------------------------------

def export(conn: sqlite3.Connection) -> dict[str, Any]:
    keys = []
    for row in storage.all_keys(conn):
        item = {"key": row["key"], "mode": row["mode"]}
        if row["app_ids"] is not None:
            item["app_ids"] = row["app_ids"]
        item.update(id=row["id"], user=row["user"])
        keys.append(item)
    return {"api_keys": keys, "apps": [_export_app(conn, app_id) for app_id in storage.all_app_ids(conn)]}


def _export_app(conn: sqlite3.Connection, app_id: str) -> dict[str, Any]:
    versions = []
    for row in storage.versions_of(conn, app_id):
        item = {"name": row["name"], "id": row["id"]}
        item.update({k: row[k] for k in VERSION_EXTRAS if row[k] is not None})
        versions.append(item)
    channels = [{"name": row["name"], **{flag: bool(row[flag]) for flag in ("public", *CHANNEL_DEFAULTS)},
                 "disable_auto_update": row["disable_auto_update"], "version": row["version_name"]}
                for row in storage.channels_of(conn, app_id)]
    devices = []
    for row in storage.devices_of(conn, app_id):
        item = {"device_id": row["device_id"]}
        for field in storage.DEVICE_FIELDS:
            value = row[field]
            item[field] = bool(value) if field in storage.BOOL_DEVICE_FIELDS else value
        devices.append(item)
    overrides: dict[str, dict[str, Any]] = {}
    for device_id, name in storage.channel_links_of(conn, app_id):
        overrides.setdefault(device_id, {"device_id": device_id})["channel"] = name
    for device_id, name in storage.version_pins_of(conn, app_id):
        overrides.setdefault(device_id, {"device_id": device_id})["version"] = name
    stats = [{k: row[k] for k in STAT_KEYS if row[k] is not None} for row in storage.stats_of(conn, app_id)]
    settings = storage.find_app(conn, app_id) or {}
    return {"app_id": app_id, **{k: settings[k] for k in APP_SETTINGS}, "versions": versions,
            "channels": channels, "devices": devices,
            "overrides": [overrides[k] for k in sorted(overrides)], "stats": stats}
