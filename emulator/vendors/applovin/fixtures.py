"""AppLovin's part of the fixture document::

    {"accounts": [{"api_key": "...",
                   "device_lists": [{"device_list_id": "<32 hex>", "name": "...",
                                     "description": "", "devices": ["SM-G900F"],
                                     "deleted": false}]}]}

Merge rules: accounts match by ``api_key``, lists by ``device_list_id``; a given field
replaces the stored one (``devices`` included), an omitted one is kept; nothing is removed.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from ...fixtures import FixtureError, each_object, expect_bool, expect_keys, expect_list, expect_str, expect_unique
from . import storage
from .rules import LIST_ID_PATTERN, device_problem, is_valid_name

ACCOUNT_KEYS = {"required": ("api_key",), "optional": ("device_lists",)}
LIST_KEYS = {"required": ("device_list_id", "name"), "optional": ("description", "devices", "deleted")}


def validate(doc: Any, path: str) -> None:
    expect_keys(doc, path, required=("accounts",))
    list_ids: list[tuple[str, Any]] = []
    for account, apath in each_object(doc, "accounts", path):
        expect_keys(account, apath, **ACCOUNT_KEYS)
        key = expect_str(account["api_key"], f"{apath}.api_key")
        if not key:
            raise FixtureError(f"{apath}.api_key", "must not be empty")
        active_names: list[tuple[str, Any]] = []
        for dl, lpath in each_object(account, "device_lists", apath):
            _validate_list(dl, lpath)
            list_ids.append((f"{lpath}.device_list_id", dl["device_list_id"]))
            if not dl.get("deleted", False):
                active_names.append((f"{lpath}.name", dl["name"]))
        expect_unique(active_names, "active list name")
    expect_unique(((f"{path}.accounts[{i}].api_key", a["api_key"]) for i, a in enumerate(doc["accounts"])),
                  "api_key")
    expect_unique(list_ids, "device_list_id")


def _validate_list(dl: dict[str, Any], path: str) -> None:
    expect_keys(dl, path, **LIST_KEYS)
    expect_str(dl["device_list_id"], f"{path}.device_list_id", pattern=LIST_ID_PATTERN)
    name = expect_str(dl["name"], f"{path}.name")
    if not is_valid_name(name):
        raise FixtureError(f"{path}.name", f"{name!r} is not alphanumeric, _-+ or space")
    expect_str(dl.get("description", ""), f"{path}.description")
    expect_bool(dl.get("deleted", False), f"{path}.deleted")
    devices = expect_list(dl.get("devices", []), f"{path}.devices")
    for k, device in enumerate(devices):
        expect_str(device, f"{path}.devices[{k}]")
        problem = device_problem(device)
        if problem:
            raise FixtureError(f"{path}.devices[{k}]", f"device {problem}")
    expect_unique(((f"{path}.devices[{k}]", d) for k, d in enumerate(devices)), "device")


def load(conn: sqlite3.Connection, doc: dict[str, Any], *, path: str, now: str) -> None:
    for i, account in enumerate(doc["accounts"]):
        account_pk = storage.ensure_account(conn, account["api_key"])
        for j, dl in enumerate(account.get("device_lists", [])):
            _merge_list(conn, account_pk, dl, f"{path}.accounts[{i}].device_lists[{j}]")


def _merge_list(conn: sqlite3.Connection, account_pk: int, dl: dict[str, Any], path: str) -> None:
    stored = storage.fixture_list(conn, dl["device_list_id"])
    if stored is not None and stored[1] != account_pk:
        raise FixtureError(f"{path}.device_list_id", "already belongs to another account")
    name = dl["name"]
    deleted = dl.get("deleted", stored[2] if stored else False)
    if not deleted:
        owner = storage.active_name_owner(conn, account_pk, name)
        if owner is not None and owner != dl["device_list_id"]:
            raise FixtureError(f"{path}.name", f"an active list {owner} of this account is already named {name!r}")
    if stored is None:
        list_pk = storage.insert_list(conn, account_pk, dl["device_list_id"], name, dl.get("description", ""),
                                      deleted)
    else:
        list_pk = stored[0]
        storage.update_list(conn, list_pk, name, deleted, dl.get("description"))
    if "devices" in dl:
        storage.replace_devices(conn, list_pk, dl["devices"])


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    return {"accounts": storage.export_accounts(conn)}
