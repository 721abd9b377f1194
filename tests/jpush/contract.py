"""JPush's part of the cross-vendor tests (tests/contract.py): the Device API v3 (devices, tags,
aliases) with Basic auth of the app key and master secret. Body cap: 256 KiB (docs/vendors/jpush.md)."""
from __future__ import annotations

from typing import Any

from tests.contract import Call, Contract
from tests.credentials import JPUSH_KEY, JPUSH_RID, JPUSH_SECRET, jpush_auth

KIB = 1024


class JPush(Contract):
    vendor = "jpush"
    caps = [(".*", ".*", 256 * KIB)]
    valid_bodies = [
        ("POST", r"^/v3/devices/status$", {"registration_ids": [JPUSH_RID]}),
        ("POST", r"^/v3/devices/\{", {"tags": {"add": ["t1"]}, "alias": "a1", "mobile": "13000000000"}),
        ("POST", r"^/v3/aliases/", {"registration_ids": {"remove": [JPUSH_RID]}}),
        ("POST", r"^/v3/tags/", {"registration_ids": {"add": [JPUSH_RID]}}),
    ]
    default = {"key": JPUSH_KEY, "secret": JPUSH_SECRET, "rid": JPUSH_RID}
    a = default
    b = {"key": "reltenantb0appkey0000001", "secret": "reltenantb0master0secret", "rid": "reltenantbdevice01"}
    unknown = {"key": "nobody0app0key0000000000", "secret": "nobody0master0secret0000"}
    object_ids = ("rid",)
    state_tenants = ("apps", "app_key", "key")
    b_markers = ["bsecrettag", "bsecretalias", b["secret"]]
    probe = ("GET", "/v3/tags/", jpush_auth(), None)

    def path_table(self, t):
        return {"registration_id": t["rid"], "alias": "a1", "tag": "t1"}

    def credentials(self, op, t):
        return jpush_auth(t["key"], t["secret"]), {}

    def second_fixture(self) -> dict[str, Any]:
        b = self.b
        return {"apps": [{"app_key": b["key"], "master_secret": b["secret"], "devices": [
            {"registration_id": b["rid"], "platform": "android", "tags": ["bsecrettag", "t1"], "alias": "bsecretalias"}]}]}

    def fuzz_pins(self, path, operation):
        return {"headers": jpush_auth()}

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        jp = jpush_auth()
        return [("POST", f"{url}/v3/devices/{JPUSH_RID}", {"headers": jp, "json": {"tags": {"add": [f"chaos_{n % 50}"]}}}),
                ("GET", f"{url}/v3/tags/", {"headers": jp})]


CONTRACT = JPush()
