"""Pusher Beams' part of the cross-vendor tests (tests/contract.py): the device API the client SDKs
call (instance id only), the publish API (Bearer secret key), the user routes (Bearer user JWT)
and the reporting API. Body caps per route from the Beams server code (docs/vendors/beams.md). An
unrouted path or method gets Go net/http's plain text."""
from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.contract import Call, Contract, Tenant
from tests.credentials import BEAMS_INSTANCE, BEAMS_SECRET
from tests.reliability.rel_helpers import GO_PLAIN, beams_fcm_token, beams_jwt

KIB = 1024
FCM_PAYLOAD = {"notification": {"title": "hello", "body": "world"}}
#: a Beams device of B with metadata only B knows
B_DEVICE_BODY = {"token": "fcm-token:tenant-b", "metadata": {"sdkVersion": "bsecretsdk"}}


def register_device(url: str, t: Tenant, tag: str = "tenant") -> str:
    r = requests.post(f"{url}/device_api/v1/instances/{t['instance']}/devices/fcm", timeout=30,
                      json={"token": beams_fcm_token(f"{tag}-{t['instance']}"), "metadata": {"sdkVersion": "1"}})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


class Beams(Contract):
    vendor = "beams"
    caps = [("PUT", r"/interests$", 1024 * KIB), (".*", r"/reporting_api/", 16 * KIB),
            (".*", r"/publishes/users$", 200 * KIB), (".*", r"/publishes", 10 * KIB), (".*", ".*", 64 * KIB)]
    #: the OpenAPI document does not describe Beams' request bodies yet
    json_body_routes = [("POST", r"/devices/\{platform\}$"), ("PUT", r"/metadata$"), ("PUT", r"/token$"),
                        ("PUT", r"/interests$"), ("POST", r"/publishes"), ("POST", r"/reporting_api/")]
    valid_bodies = [
        ("POST", r"/devices/\{platform\}$", {"token": beams_fcm_token("hostile"),
                                             "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}}),
        ("PUT", r"/metadata$", {"sdkVersion": "2.0.0", "androidVersion": "15"}),
        ("PUT", r"/token$", {"token": beams_fcm_token("hostile-new")}),
        ("PUT", r"/interests$", {"interests": ["news", "sport"]}),
        ("POST", r"/publishes/users$", {"users": ["alice"], "fcm": FCM_PAYLOAD}),
        ("POST", r"/publishes(/interests)?$", {"interests": ["news"], "fcm": FCM_PAYLOAD}),
        ("POST", r"/reporting_api/", {"event": "delivery", "publishId": "pubid-1", "deviceId": "fcm-x",
                                      "timestampSecs": 1763870000, "userId": "alice"}),
    ]
    default = {"instance": BEAMS_INSTANCE, "secret": BEAMS_SECRET, "device": ""}  # device: set by prepare()
    a = dict(default)
    b = {"instance": "426abfc7-41fe-492f-bcf1-27586fa9bd3f", "secret": "RELTENANTB5ECRET0RELTENANTB5ECRET0",
         "device": ""}
    unknown = {"instance": str(uuid.UUID(int=0x1234, version=4)), "secret": "NOBODY0SECRET0NOBODY0SECRET0NOBODY0"}
    scope_params = frozenset({"instance"})
    state_tenants = ("instances", "instance_id", "instance")
    b_markers = ["bsecretsdk", b["secret"]]
    probe = ("GET", f"/device_api/v1/instances/{BEAMS_INSTANCE}/web-vapid-public-key", {}, None)

    def path_table(self, t):
        return {"instance": t["instance"], "platform": "fcm", "device_id": t["device"], "interest": "news",
                "user_id": "alice"}

    def keyless(self, op):
        return op.path.startswith(("/device_api", "/instances", "/reporting_api"))  # the SDKs' calls: instance id only

    def credentials(self, op, t):
        headers = {"Content-Type": "application/json"} if op.json_body() else {}
        if op.path.endswith("/user"):
            headers["Authorization"] = f"Bearer {beams_jwt('alice', instance=t['instance'], secret=t['secret'])}"
        elif not self.keyless(op):
            headers["Authorization"] = f"Bearer {t['secret']}"
        return headers, {}

    def prepare(self, url, t, tag="tenant"):
        t["device"] = register_device(url, t, tag)
        return t

    def error_body_ok(self, status, content):
        return (status, content) in GO_PLAIN

    def second_fixture(self) -> dict[str, Any]:
        return {"instances": [{"instance_id": self.b["instance"], "secret_key": self.b["secret"]}]}

    def prepare_pair(self, url):
        self.prepare(url, self.a, "tenant-a")
        base = f"{url}/device_api/v1/instances/{self.b['instance']}/devices/fcm"
        r = requests.post(base, json=B_DEVICE_BODY, timeout=30)
        assert r.status_code == 200, r.text
        self.b["device"] = r.json()["id"]
        r = requests.put(f"{base}/{self.b['device']}/interests", json={"interests": ["news"]}, timeout=30)
        assert r.status_code == 200, r.text

    def fuzz_pins(self, path, operation):
        params = {"instance": BEAMS_INSTANCE}
        if "platform" in {p.name for p in operation.path_parameters}:
            params["platform"] = "fcm"
        kw: dict[str, Any] = {"path_parameters": params}
        if not path.startswith(("/device_api", "/instances")):
            kw["headers"] = {"Authorization": f"Bearer {BEAMS_SECRET}"}
        return kw

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        return [("POST", f"{url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm",
                 {"json": {"token": beams_fcm_token(f"chaos-{n}")}})]


CONTRACT = Beams()
