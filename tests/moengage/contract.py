"""MoEngage's part of the cross-vendor tests (tests/contract.py): the Data API (device, customer,
event, bulk transition) scoped by the workspace in the path, Basic auth with the workspace id and
its Data API key. Body caps: 128 KiB, 100 KB for the bulk route (docs/vendors/moengage.md)."""
from __future__ import annotations

from typing import Any

from tests.contract import Call, Contract
from tests.credentials import MOENGAGE_APP, MOENGAGE_KEY, moengage_auth


class MoEngage(Contract):
    vendor = "moengage"
    caps = [(".*", r"/v1/transition/", 102_400), (".*", ".*", 131_072)]
    valid_bodies = [
        ("POST", r"^/v1/device/", {"type": "device", "customer_id": "emulator-user-1", "device_id": "d1",
                                   "attributes": {"platform": "ANDROID", "push_id": "fcm-token"}}),
        ("POST", r"^/v1/customer/", {"type": "customer", "customer_id": "emulator-user-1",
                                     "attributes": {"name": "Hostile", "city": "Berlin"}}),
        ("POST", r"^/v1/event/", {"type": "event", "customer_id": "emulator-user-1",
                                  "actions": [{"action": "Checkout", "attributes": {"item": "book"}}]}),
        ("POST", r"^/v1/transition/", {"type": "transition", "elements": [
            {"type": "customer", "customer_id": "bulk-user", "attributes": {"name": "Bulk"}}]}),
    ]
    default = {"app": MOENGAGE_APP, "key": MOENGAGE_KEY, "customer": "emulator-user-1"}
    a = default
    b = {"app": "RELTENANTBWORKSPACE00001", "key": "rel-tenant-b-data-api-key", "customer": "b-user"}
    unknown = {"app": "NOBODYWORKSPACE000000001", "key": "nobody-key"}
    scope_params = frozenset({"app_id"})
    object_ids = ("customer",)
    state_tenants = ("workspaces", "app_id", "app")
    b_markers = ["b-secret-attribute", b["key"]]
    probe = ("POST", f"/v1/customer/{MOENGAGE_APP}", moengage_auth(),
             {"type": "customer", "customer_id": "probe-user", "attributes": {"plan": "gold"}})

    def path_table(self, t):
        return {"app_id": t["app"]}

    def credentials(self, op, t):
        return {**moengage_auth(t["app"], t["key"]), "Content-Type": "application/json"}, {}

    def second_fixture(self) -> dict[str, Any]:
        b = self.b
        return {"workspaces": [{"app_id": b["app"], "api_key": b["key"], "devices": [], "customers": [
            {"customer_id": b["customer"], "attributes": {"note": "b-secret-attribute"}},
            {"customer_id": self.a["customer"], "attributes": {"note": "b-secret-attribute"}}]}]}

    def fuzz_pins(self, path, operation):
        return {"headers": {**moengage_auth(), "MOE-APPKEY": MOENGAGE_APP}, "path_parameters": {"app_id": MOENGAGE_APP},
                "query": {"app_id": MOENGAGE_APP}}

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        return [("POST", f"{url}/v1/customer/{MOENGAGE_APP}",
                 {"headers": {**moengage_auth(), "Content-Type": "application/json"},
                  "json": {"type": "customer", "customer_id": f"chaos-{n % 20}", "attributes": {"n": n}}})]


CONTRACT = MoEngage()
