"""Valid requests for every vendor route of the OpenAPI document, built generically from the
document (path parameters, credentials) plus a table of valid JSON bodies; the hostile-input and
isolation tests derive their requests from these."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.app import build_context, create_app
from emulator.config import Config
from emulator.openapi import build_openapi
from tests.reliability.rel_helpers import (APPLOVIN_KEY, APPLOVIN_LIST, BEAMS_INSTANCE, BEAMS_SECRET, CAPGO_APP,
                                           CAPGO_KEY, JPUSH_RID, MOENGAGE_APP, beams_fcm_token, beams_jwt,
                                           jpush_auth, moengage_auth)

CAPGO_DEVICE = "44f128a5-ac7a-4c9a-be4c-224b6bf81b20"
KIB = 1024

#: each vendor's body cap per route (from docs/<vendor>.md and the vendors' code); the first
#: matching (method regex, path regex) wins
CAPS: dict[str, list[tuple[str, str, int]]] = {
    "capgo": [(".*", ".*", 1024 * KIB)],
    "moengage": [(".*", r"/v1/transition/", 102_400), (".*", ".*", 131_072)],
    "beams": [("PUT", r"/interests$", 1024 * KIB), (".*", r"/reporting_api/", 16 * KIB),
              (".*", r"/publishes/users$", 200 * KIB), (".*", r"/publishes", 10 * KIB), (".*", ".*", 64 * KIB)],
    "jpush": [(".*", ".*", 256 * KIB)],
    "applovin": [(".*", ".*", 1024 * KIB)],
}

#: routes whose body is a JSON document (Beams documents no request bodies in OpenAPI yet)
BEAMS_BODY_ROUTES = [("POST", r"/devices/\{platform\}$"), ("PUT", r"/metadata$"), ("PUT", r"/token$"),
                     ("PUT", r"/interests$"), ("POST", r"/publishes"), ("POST", r"/reporting_api/")]

FCM_PAYLOAD = {"notification": {"title": "hello", "body": "world"}}

CAPGO_CHANNEL_SELF = {"app_id": CAPGO_APP, "device_id": CAPGO_DEVICE, "platform": "android",
                      "version_name": "1.0.0", "version_build": "1.0.0", "is_emulator": False,
                      "is_prod": True, "plugin_version": "8.51.14", "channel": "beta"}

#: (vendor, method, path template regex) -> a valid JSON body
VALID_BODIES: list[tuple[str, str, str, Any]] = [
    ("capgo", "POST", r"^/device$", {"app_id": CAPGO_APP, "device_id": CAPGO_DEVICE, "channel": "beta"}),
    ("capgo", "DELETE", r"^/device$", {"app_id": CAPGO_APP, "device_id": CAPGO_DEVICE}),
    ("capgo", "POST", r"^/stats$", {"app_id": CAPGO_APP, "device_id": CAPGO_DEVICE, "platform": "android",
                                    "version_name": "1.0.0", "version_os": "14", "is_emulator": False,
                                    "is_prod": True, "action": "ping", "custom_id": "hostile", "version_build": "1.0"}),
    ("capgo", "POST", r"^/channel_self$", CAPGO_CHANNEL_SELF),
    ("capgo", "PUT", r"^/channel_self$", CAPGO_CHANNEL_SELF),
    ("capgo", "POST", r"^/updates$", {"app_id": CAPGO_APP, "device_id": CAPGO_DEVICE, "platform": "android",
                                      "version_name": "builtin", "version_build": "1.0", "is_emulator": False,
                                      "is_prod": True, "plugin_version": "6.0.0", "custom_id": "hostile"}),
    ("moengage", "POST", r"^/v1/device/", {"type": "device", "customer_id": "emulator-user-1", "device_id": "d1",
                                           "attributes": {"platform": "ANDROID", "push_id": "fcm-token"}}),
    ("moengage", "POST", r"^/v1/customer/", {"type": "customer", "customer_id": "emulator-user-1",
                                             "attributes": {"name": "Hostile", "city": "Berlin"}}),
    ("moengage", "POST", r"^/v1/event/", {"type": "event", "customer_id": "emulator-user-1",
                                          "actions": [{"action": "Checkout", "attributes": {"item": "book"}}]}),
    ("moengage", "POST", r"^/v1/transition/", {"type": "transition", "elements": [
        {"type": "customer", "customer_id": "bulk-user", "attributes": {"name": "Bulk"}}]}),
    ("beams", "POST", r"/devices/\{platform\}$", {"token": beams_fcm_token("hostile"),
                                                  "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}}),
    ("beams", "PUT", r"/metadata$", {"sdkVersion": "2.0.0", "androidVersion": "15"}),
    ("beams", "PUT", r"/token$", {"token": beams_fcm_token("hostile-new")}),
    ("beams", "PUT", r"/interests$", {"interests": ["news", "sport"]}),
    ("beams", "POST", r"/publishes/users$", {"users": ["alice"], "fcm": FCM_PAYLOAD}),
    ("beams", "POST", r"/publishes(/interests)?$", {"interests": ["news"], "fcm": FCM_PAYLOAD}),
    ("beams", "POST", r"/reporting_api/", {"event": "delivery", "publishId": "pubid-1", "deviceId": "fcm-x",
                                           "timestampSecs": 1763870000, "userId": "alice"}),
    ("jpush", "POST", r"^/v3/devices/status$", {"registration_ids": [JPUSH_RID]}),
    ("jpush", "POST", r"^/v3/devices/\{", {"tags": {"add": ["t1"]}, "alias": "a1", "mobile": "13000000000"}),
    ("jpush", "POST", r"^/v3/aliases/", {"registration_ids": {"remove": [JPUSH_RID]}}),
    ("jpush", "POST", r"^/v3/tags/", {"registration_ids": {"add": [JPUSH_RID]}}),
]


@dataclass
class Op:
    vendor: str
    method: str
    path: str  # template, as in the document
    params: list[dict[str, Any]] = field(default_factory=list)
    request_body: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def query_names(self) -> list[str]:
        return [p["name"] for p in self.params if p["in"] == "query"]

    def path_names(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)

    def json_body(self) -> bool:
        """Does the route read a JSON document?"""
        if self.vendor == "beams":
            return any(m == self.method and re.search(p, self.path) for m, p in BEAMS_BODY_ROUTES)
        content = (self.request_body or {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        return bool(content) and schema.get("type") != "string"

    def text_body(self) -> bool:
        """AppLovin's newline-separated device lists."""
        content = (self.request_body or {}).get("content", {})
        return content.get("application/json", {}).get("schema", {}).get("type") == "string" \
            and self.method == "POST"

    def cap(self) -> int:
        for method, path, cap in CAPS[self.vendor]:
            if re.fullmatch(method, self.method) and re.search(path, self.path):
                return cap
        raise AssertionError(self.id)

    def valid_body(self) -> Any:
        for vendor, method, path, body in VALID_BODIES:
            if vendor == self.vendor and method == self.method and re.search(path, self.path):
                return body
        return None


def operations(doc: dict[str, Any]) -> list[Op]:
    """Every vendor operation of an OpenAPI document, in document order."""
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            vendor = op["tags"][0]
            if vendor == "control plane":
                continue
            ops.append(Op(vendor, method.upper(), path, op.get("parameters", []), op.get("requestBody")))
    return ops


def document_at_collection() -> dict[str, Any]:
    """The document the server will serve, built in process to parametrize tests by route
    (the tests compare it with the served one)."""
    ctx = build_context(Config(db=":memory:", fixtures=[]))
    create_app(context=ctx)
    doc = build_openapi(ctx)
    ctx.store.close()
    return doc


@dataclass
class Tenant:
    """One tenant's credentials and object ids, per vendor."""

    applovin_key: str = APPLOVIN_KEY
    applovin_list: str = APPLOVIN_LIST
    beams_instance: str = BEAMS_INSTANCE
    beams_secret: str = BEAMS_SECRET
    beams_device: str = ""  # set after registration
    jpush_key: str = "emu0jpush0appkey00000001"
    jpush_secret: str = "emu0jpush0master00secret"
    jpush_rid: str = JPUSH_RID
    moengage_app: str = MOENGAGE_APP
    moengage_key: str = "moengage-emulator-data-api-key"
    moengage_customer: str = "emulator-user-1"
    capgo_key: str = CAPGO_KEY
    capgo_app: str = CAPGO_APP


DEFAULT = Tenant()


def path_values(op: Op, t: Tenant) -> dict[str, str]:
    values = {"instance": t.beams_instance, "platform": "fcm", "device_id": t.beams_device, "interest": "news",
              "user_id": "alice", "registration_id": t.jpush_rid, "alias": "a1", "tag": "t1",
              "app_id": t.moengage_app}
    return {name: values.get(name, "reliability") for name in op.path_names()}  # a new parameter: any value


def credentials(op: Op, t: Tenant) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query) a valid request of ``op`` carries for tenant ``t``."""
    v, path = op.vendor, op.path
    if v == "jpush":
        return jpush_auth(t.jpush_key, t.jpush_secret), {}
    if v == "moengage":
        return {**moengage_auth(t.moengage_app, t.moengage_key), "Content-Type": "application/json"}, {}
    if v == "applovin":
        query = {"api_key": t.applovin_key}
        if "device_list_id" in op.query_names() and not path.endswith(("/create", "/list")):
            query["device_list_id"] = t.applovin_list
        if path.endswith("/create"):
            query["name"] = "Hostile List"
        return {}, query
    if v == "capgo":
        if path != "/device":  # the updater plugin's check-ins carry no key
            return {"Content-Type": "application/json"}, {}
        query = {"app_id": t.capgo_app} if op.method == "GET" else {}
        return {"authorization": t.capgo_key, "Content-Type": "application/json"}, query
    if v == "beams":
        headers = {"Content-Type": "application/json"} if op.json_body() else {}
        if path.endswith("/user"):
            headers["Authorization"] = f"Bearer {beams_jwt('alice', instance=t.beams_instance, secret=t.beams_secret)}"
        elif not path.startswith(("/device_api", "/instances", "/reporting_api")):
            headers["Authorization"] = f"Bearer {t.beams_secret}"
        return headers, {}
    raise AssertionError(v)


def fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def register_beams_device(url: str, t: Tenant, tag: str = "tenant") -> str:
    import requests

    r = requests.post(f"{url}/device_api/v1/instances/{t.beams_instance}/devices/fcm", timeout=30,
                      json={"token": beams_fcm_token(f"{tag}-{t.beams_instance}"), "metadata": {"sdkVersion": "1"}})
    assert r.status_code == 200, r.text
    return r.json()["id"]
