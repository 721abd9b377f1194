"""AppLovin's part of the cross-vendor tests (tests/contract.py): the device-list management API
(``?api_key=``), whose append/remove bodies are newline-separated device lines. Body cap: 1 MiB
(docs/vendors/applovin.md). With ``error_body=empty`` an error has an empty body."""
from __future__ import annotations

from typing import Any

from tests.contract import Call, Contract
from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST

KIB = 1024


class AppLovin(Contract):
    vendor = "applovin"
    caps = [(".*", ".*", 1024 * KIB)]
    default = {"key": APPLOVIN_KEY, "list": APPLOVIN_LIST}
    a = default
    b = {"key": "rel-tenant-b-applovin-key", "list": "b" * 32}
    unknown = {"key": "nobody-applovin-key"}
    state_tenants = ("accounts", "api_key", "key")
    b_markers = ["B-SECRET-MODEL", "B Secret List"]
    probe = ("GET", f"/devices/list?api_key={APPLOVIN_KEY}", {}, None)

    def credentials(self, op, t):
        path = op.path
        query = {"api_key": t["key"]}
        if "device_list_id" in op.query_names() and not path.endswith(("/create", "/list")):
            query["device_list_id"] = t["list"]
        if path.endswith("/create"):
            query["name"] = "Hostile List"
        return {}, query

    def error_body_ok(self, status, content):
        return content == b""  # error_body=empty (not the default)

    def second_fixture(self) -> dict[str, Any]:
        b = self.b
        return {"accounts": [{"api_key": b["key"], "device_lists": [
            {"device_list_id": b["list"], "name": "B Secret List", "description": "b", "devices": ["B-SECRET-MODEL"]}]}]}

    def objects_query(self, op, query, a, b):
        query = {k: (b["list"] if k == "device_list_id" else v) for k, v in query.items()}
        if "device_list_id" in op.query_names():
            query["device_list_id"] = b["list"]
        return query

    def extra_attempts(self, op, a, headers):
        if op.path.endswith("/list"):
            return [("A's credentials, every list", op.path, headers, {"api_key": a["key"]}, None)]
        return []

    def fuzz_pins(self, path, operation):
        return {"query": {"api_key": APPLOVIN_KEY}}

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        return [("GET", f"{url}/devices/create", {"params": {"api_key": APPLOVIN_KEY, "name": f"chaos {n}"}}),
                ("POST", f"{url}/devices/append", {"params": {"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST},
                                                    "data": f"CHAOS-{n}\n"})]


CONTRACT = AppLovin()
