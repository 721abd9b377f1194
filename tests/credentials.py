"""The default credentials and tenants, read from the shipped fixtures (one place, not a copy per
test file): what a user of the emulator gets out of the box."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "emulator" / "fixtures" / "default.json").read_text())

_capgo = DEFAULTS["capgo"]
CAPGO_KEYS = {k["mode"]: k["key"] for k in _capgo["api_keys"]}
CAPGO_KEY = CAPGO_KEYS["all"]
CAPGO_APP = _capgo["apps"][0]["app_id"]

_moengage = DEFAULTS["moengage"]["workspaces"][0]
MOENGAGE_APP = _moengage["app_id"]
MOENGAGE_KEY = _moengage["api_key"]

_beams = DEFAULTS["beams"]["instances"][0]
BEAMS_INSTANCE = _beams["instance_id"]
BEAMS_SECRET = _beams["secret_key"]

_jpush = DEFAULTS["jpush"]["apps"][0]
JPUSH_KEY = _jpush["app_key"]
JPUSH_SECRET = _jpush["master_secret"]
JPUSH_RIDS = [d["registration_id"] for d in _jpush["devices"]]
JPUSH_RID = JPUSH_RIDS[0]

_applovin = DEFAULTS["applovin"]["accounts"][0]
APPLOVIN_KEY = _applovin["api_key"]
APPLOVIN_LIST = _applovin["device_lists"][0]["device_list_id"]


def basic(user: str, password: str) -> str:
    """An ``Authorization: Basic`` header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def jpush_auth(key: str = JPUSH_KEY, secret: str = JPUSH_SECRET) -> dict[str, str]:
    return {"Authorization": basic(key, secret)}


def moengage_auth(app: str = MOENGAGE_APP, key: str = MOENGAGE_KEY) -> dict[str, str]:
    return {"Authorization": basic(app, key)}
