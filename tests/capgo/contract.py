"""Capgo's part of the cross-vendor tests (tests/contract.py): the updater plugin's key-less
check-ins (/stats, /updates, /device from the plugin) and the key-protected public API GET/POST/DELETE
/device. Body cap: 1 MiB (docs/vendors/capgo.md)."""
from __future__ import annotations

from typing import Any

from tests.contract import Call, Contract
from tests.credentials import CAPGO_APP, CAPGO_KEY

DEVICE = "44f128a5-ac7a-4c9a-be4c-224b6bf81b20"
CHANNEL_SELF = {"app_id": CAPGO_APP, "device_id": DEVICE, "platform": "android", "version_name": "1.0.0",
                "version_build": "1.0.0", "is_emulator": False, "is_prod": True, "plugin_version": "8.51.14",
                "channel": "beta"}
B_DEVICE = "00000000-0000-4000-8000-00000000000b"
KIB = 1024


class Capgo(Contract):
    vendor = "capgo"
    caps = [(".*", ".*", 1024 * KIB)]
    #: the plugin sends its stats queue as an array (Cap-go/capgo plugin_runtime/plugins/stats.ts)
    array_body_routes = frozenset({("POST", "/stats")})
    valid_bodies = [
        ("POST", r"^/device$", {"app_id": CAPGO_APP, "device_id": DEVICE, "channel": "beta"}),
        ("DELETE", r"^/device$", {"app_id": CAPGO_APP, "device_id": DEVICE}),
        ("POST", r"^/stats$", {"app_id": CAPGO_APP, "device_id": DEVICE, "platform": "android",
                               "version_name": "1.0.0", "version_os": "14", "is_emulator": False,
                               "is_prod": True, "action": "ping", "custom_id": "hostile", "version_build": "1.0"}),
        ("POST", r"^/channel_self$", CHANNEL_SELF),
        ("PUT", r"^/channel_self$", CHANNEL_SELF),
        ("POST", r"^/updates$", {"app_id": CAPGO_APP, "device_id": DEVICE, "platform": "android",
                                 "version_name": "builtin", "version_build": "1.0", "is_emulator": False,
                                 "is_prod": True, "plugin_version": "6.0.0", "custom_id": "hostile"}),
    ]
    default = {"key": CAPGO_KEY, "app": CAPGO_APP, "device": DEVICE}
    a = {**default, "key": "rel-tenant-a-capgo-key"}  # a key limited to A's app
    b = {"key": "rel-tenant-b-capgo-key", "app": "com.tenant.b", "device": B_DEVICE}
    unknown = {"key": "nobody-capgo-key", "app": "com.nobody.app"}
    object_ids = ("app", "device")
    state_tenants = ("apps", "app_id", "app")
    b_markers = ["bsecretcustom"]
    extra_options = [{"capgo": {"profile": "live"}}]  # a second implementation of /device
    probe = ("GET", f"/device?app_id={CAPGO_APP}", {"authorization": CAPGO_KEY}, None)

    def credentials(self, op, t):
        if op.path != "/device":  # the updater plugin's check-ins carry no key
            return {"Content-Type": "application/json"}, {}
        query = {"app_id": t["app"]} if op.method == "GET" else {}
        return {"authorization": t["key"], "Content-Type": "application/json"}, query

    def second_fixture(self) -> dict[str, Any]:
        a, b = self.a, self.b
        return {
            "api_keys": [{"key": a["key"], "mode": "all", "app_ids": [a["app"]]},
                         {"key": b["key"], "mode": "all", "app_ids": [b["app"]]}],
            "apps": [{"app_id": b["app"], "versions": ["1.0.0"],
                      "channels": [{"name": "beta", "public": False, "version": "1.0.0"}],
                      "devices": [{"device_id": b["device"], "platform": "android", "version_name": "1.0.0",
                                   "custom_id": "bsecretcustom"}]}]}

    def objects_query(self, op, query, a, b):
        query = {k: (b["app"] if k == "app_id" else v) for k, v in query.items()}
        if op.method == "GET":
            query["device_id"] = b["device"]
        return query

    def attempts(self, op, a, b):
        if op.path != "/device":
            return []  # key-less device check-ins: no tenant boundary to cross
        return super().attempts(op, a, b)

    def unknown_check(self, op):
        if op.method == "GET" and op.path in ("/stats", "/updates"):
            # the plugin endpoints' key-less health checks answer anyone (Cap-go/capgo plugin_runtime)
            return lambda r: (r.status_code, r.json()) == (200, {"status": "ok"})
        return None  # a 4xx in Capgo's shape: an unknown app is 429 on_premise_app, recording nothing

    def fuzz_pins(self, path, operation):
        kw: dict[str, Any] = {"headers": {"authorization": CAPGO_KEY}}
        if path == "/device" and operation.method.upper() == "GET":
            kw["query"] = {"app_id": CAPGO_APP}
        return kw

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        return [("POST", f"{url}/stats", {"json": {
            "app_id": CAPGO_APP, "device_id": f"00000000-0000-4000-8000-{n % 100:012d}", "platform": "android",
            "version_name": "1.0.0", "version_os": "14", "is_emulator": False, "is_prod": True, "action": "ping"}})]


CONTRACT = Capgo()
