"""Fixture documents for the benchmark, generated (nothing large is checked in).

The bench tenants are the shipped defaults (``emulator/fixtures/default.json``) plus generated
devices: JPush devices for the get-device and tag-update scenarios, Capgo devices so a list
page is a full page, MoEngage customers for track-device. Beams devices are registered
through the API in the pre-flight (their ids are server-made).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = ROOT / "emulator" / "fixtures" / "default.json"

JPUSH_DEVICES = 1000
CAPGO_DEVICES = 1000
MOENGAGE_CUSTOMERS = 100


def jpush_rid(i: int) -> str:
    """Registration id of generated JPush device ``i`` (the wrk scripts build the same)."""
    return f"bench{i:014d}"


def capgo_device_id(i: int) -> str:
    return f"bench-device-{i:08d}"


def moengage_customer(i: int) -> str:
    return f"bench-user-{i}"


def default_document() -> dict[str, Any]:
    with open(DEFAULT_FIXTURES) as fh:
        return json.load(fh)


def _default_tenant(doc: dict[str, Any], vendor: str, key: str) -> dict[str, Any]:
    return doc[vendor][key][0]


def bench_document() -> dict[str, Any]:
    """Default tenants plus the generated devices and customers."""
    doc = copy.deepcopy(default_document())
    app = _default_tenant(doc, "jpush", "apps")
    app.setdefault("devices", []).extend(
        {"registration_id": jpush_rid(i), "platform": "android" if i % 2 else "ios", "tags": ["bench"]}
        for i in range(JPUSH_DEVICES))
    capgo_app = _default_tenant(doc, "capgo", "apps")
    version = capgo_app.get("versions", ["1.0.0"])[0]
    version_name = version if isinstance(version, str) else version.get("name")
    capgo_app.setdefault("devices", []).extend(
        {"device_id": capgo_device_id(i), "platform": "android" if i % 2 else "ios",
         "version_name": version_name, "plugin_version": "7.0.0", "os_version": "14",
         "version_build": "1", "custom_id": f"bench-{i}"}
        for i in range(CAPGO_DEVICES))
    ws = _default_tenant(doc, "moengage", "workspaces")
    ws.setdefault("customers", []).extend(
        {"customer_id": moengage_customer(i)} for i in range(MOENGAGE_CUSTOMERS))
    return doc


def _scale_devices(n: int) -> Iterator[str]:
    for i in range(n):
        yield json.dumps({"registration_id": jpush_rid(i), "platform": "android"}, separators=(",", ":"))


def write_scale_document(path: Path, n: int) -> int:
    """A JPush-only document with ``n`` devices under the default app, streamed to ``path``
    (a 1M-device document is ~70 MB; never held as one Python object here). Returns bytes."""
    app = _default_tenant(default_document(), "jpush", "apps")
    with open(path, "w") as fh:
        fh.write('{"jpush":{"apps":[{"app_key":%s,"master_secret":%s,"devices":['
                 % (json.dumps(app["app_key"]), json.dumps(app["master_secret"])))
        for i, item in enumerate(_scale_devices(n)):
            if i:
                fh.write(",")
            fh.write(item)
        fh.write("]}]}}")
        return fh.tell()
