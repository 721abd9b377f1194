"""Tenant isolation, table-driven over every vendor route of the OpenAPI document.

A second tenant (B) is loaded next to the default one (A) for every vendor. For each route,
requests carrying A's credentials aimed at B's objects (B's ids in the path, query and body, and
B's scope — Beams instance, MoEngage workspace — with A's secret) must leave B's state untouched and
must not reveal B's data (marker strings only B's objects hold never appear in an answer). Then,
in ``strict`` auth mode (the default), the same route called with credentials nobody holds is
refused with a 4xx in the vendor's shape and changes nothing at all.

Not covered by design: Capgo's ``/stats``, ``/updates`` and ``/channel_self`` are the updater
plugin's key-less device calls (an unknown app is refused with 429 ``on_premise_app`` and nothing
is recorded; the two health GETs answer anyone), and
the Beams device and reporting APIs carry no credential besides the instance id (as the real
services), so "A's credentials" there means A's instance with B's device id.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from tests.reliability.rel_helpers import basic, openapi, shape_problem, state
from tests.reliability.rel_routes import (Op, Tenant, credentials, document_at_collection, fill, operations,
                                          path_values, register_beams_device)

OPS = operations(document_at_collection())

A = Tenant(capgo_key="rel-tenant-a-capgo-key")  # the default tenant, with a Capgo key limited to its app
B = Tenant(
    applovin_key="rel-tenant-b-applovin-key", applovin_list="b" * 32,
    beams_instance="426abfc7-41fe-492f-bcf1-27586fa9bd3f", beams_secret="RELTENANTB5ECRET0RELTENANTB5ECRET0",
    jpush_key="reltenantb0appkey0000001", jpush_secret="reltenantb0master0secret", jpush_rid="reltenantbdevice01",
    moengage_app="RELTENANTBWORKSPACE00001", moengage_key="rel-tenant-b-data-api-key", moengage_customer="b-user",
    capgo_key="rel-tenant-b-capgo-key", capgo_app="com.tenant.b",
)
CAPGO_B_DEVICE = "00000000-0000-4000-8000-00000000000b"
#: strings only tenant B's objects hold: an answer to A that contains one leaks B's data
MARKERS = ["B-SECRET-MODEL", "bsecrettag", "bsecretalias", "b-secret-attribute", "bsecretsdk", "bsecretcustom",
           "B Secret List", B.beams_secret, B.jpush_secret, B.moengage_key]

TENANT_B = {
    "applovin": {"accounts": [{"api_key": B.applovin_key, "device_lists": [
        {"device_list_id": B.applovin_list, "name": "B Secret List", "description": "b", "devices": ["B-SECRET-MODEL"]}]}]},
    "jpush": {"apps": [{"app_key": B.jpush_key, "master_secret": B.jpush_secret, "devices": [
        {"registration_id": B.jpush_rid, "platform": "android", "tags": ["bsecrettag", "t1"], "alias": "bsecretalias"}]}]},
    "moengage": {"workspaces": [{"app_id": B.moengage_app, "api_key": B.moengage_key,
                                 "customers": [{"customer_id": "b-user", "attributes": {"note": "b-secret-attribute"}},
                                               {"customer_id": "emulator-user-1", "attributes": {"note": "b-secret-attribute"}}],
                                 "devices": []}]},
    "beams": {"instances": [{"instance_id": B.beams_instance, "secret_key": B.beams_secret}]},
    "capgo": {
        "api_keys": [{"key": A.capgo_key, "mode": "all", "app_ids": [A.capgo_app]},
                     {"key": B.capgo_key, "mode": "all", "app_ids": [B.capgo_app]}],
        "apps": [{"app_id": B.capgo_app, "versions": ["1.0.0"], "channels": [{"name": "beta", "public": False, "version": "1.0.0"}],
                  "devices": [{"device_id": CAPGO_B_DEVICE, "platform": "android", "version_name": "1.0.0",
                               "custom_id": "bsecretcustom"}]}]},
}
#: a Beams device of B with metadata only B knows
B_DEVICE_BODY = {"token": "fcm-token:tenant-b", "metadata": {"sdkVersion": "bsecretsdk"}}


def b_part(vendor: str, doc: dict[str, Any]) -> Any:
    """Tenant B's entry in one vendor's state."""
    if vendor == "applovin":
        return [a for a in doc["accounts"] if a["api_key"] == B.applovin_key]
    if vendor == "jpush":
        return [a for a in doc["apps"] if a["app_key"] == B.jpush_key]
    if vendor == "moengage":
        return [w for w in doc["workspaces"] if w["app_id"] == B.moengage_app]
    if vendor == "beams":
        return [i for i in doc["instances"] if i["instance_id"] == B.beams_instance]
    if vendor == "capgo":
        return [a for a in doc["apps"] if a["app_id"] == B.capgo_app]
    raise AssertionError(vendor)


def retarget(body: Any, op: Op) -> Any:
    """A's valid body with A's object ids swapped for B's."""
    if body is None:
        return None
    text = json.dumps(body)
    for a, b in [(A.jpush_rid, B.jpush_rid), (A.capgo_app, B.capgo_app), (A.moengage_customer, B.moengage_customer),
                 ("44f128a5-ac7a-4c9a-be4c-224b6bf81b20", CAPGO_B_DEVICE)]:
        text = text.replace(a, b)
    return json.loads(text)


def attempts(op: Op, a: Tenant, b: Tenant) -> list[tuple[str, str, dict, dict, bytes | None]]:
    """(label, path, headers, query, body) of the cross-tenant requests for one route."""
    if op.vendor == "capgo" and op.path != "/device":
        return []  # key-less device check-ins
    headers, query = credentials(op, a)
    ids = path_values(op, b)
    scope = {k: v for k, v in path_values(op, a).items() if k in ("instance", "app_id")}
    query = {k: (b.applovin_list if k == "device_list_id" else b.capgo_app if k == "app_id" else v)
             for k, v in query.items()}
    if op.vendor == "applovin" and "device_list_id" in op.query_names():
        query["device_list_id"] = b.applovin_list
    if op.vendor == "capgo" and op.method == "GET":
        query["device_id"] = CAPGO_B_DEVICE
    body = retarget(op.valid_body(), op)
    data = json.dumps(body).encode() if body is not None else (b"B-SECRET-MODEL\n" if op.text_body() else None)
    out = [("A's credentials, B's objects", fill(op.path, {**ids, **scope}), headers, query, data)]
    if op.vendor == "applovin" and op.path.endswith("/list"):
        out.append(("A's credentials, every list", op.path, headers, {"api_key": a.applovin_key}, None))
    keyless = op.path.startswith(("/device_api", "/instances", "/reporting_api"))  # Beams SDK calls: instance id only
    if "app_id" in ids or ("instance" in ids and not keyless):
        out.append(("A's credentials, B's scope", fill(op.path, ids), headers, query, data))
    return out


@pytest.fixture(scope="module")
def served(device_emulator_server) -> dict[str, Any]:
    return openapi(device_emulator_server.url)


@pytest.fixture
def two_tenants(device_emulator):
    device_emulator.load(TENANT_B)
    url = device_emulator.url
    A.beams_device = register_beams_device(url, A, "tenant-a")
    r = requests.post(f"{url}/device_api/v1/instances/{B.beams_instance}/devices/fcm", json=B_DEVICE_BODY, timeout=30)
    assert r.status_code == 200, r.text
    B.beams_device = r.json()["id"]
    r = requests.put(f"{url}/device_api/v1/instances/{B.beams_instance}/devices/fcm/{B.beams_device}/interests",
                     json={"interests": ["news"]}, timeout=30)
    assert r.status_code == 200, r.text
    return device_emulator


@pytest.mark.parametrize("op", OPS, ids=[op.id for op in OPS])
def test_tenant_a_can_neither_read_nor_change_tenant_b(op, two_tenants, served):
    url = two_tenants.url
    before = state(url, op.vendor)
    problems = []
    for label, path, headers, query, data in attempts(op, A, B):
        resp = requests.request(op.method, url + path, headers=headers, params=query, data=data, timeout=30)
        where = f"{op.id} [{label}] {op.method} {path} -> {resp.status_code} {resp.content[:200]!r}"
        leaked = [m for m in MARKERS if m.encode() in resp.content]
        if leaked:
            problems.append(f"{where}: reveals tenant B's {leaked}")
        if resp.status_code >= 400:
            problem = shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers)
            if problem:
                problems.append(f"{where}: {problem}")
        after = state(url, op.vendor)
        if b_part(op.vendor, after) != b_part(op.vendor, before):
            problems.append(f"{where}: changed tenant B's state")
    assert problems == [], "\n".join(problems)


UNKNOWN = Tenant(
    applovin_key="nobody-applovin-key", beams_instance=str(uuid.UUID(int=0x1234, version=4)),
    beams_secret="NOBODY0SECRET0NOBODY0SECRET0NOBODY0", jpush_key="nobody0app0key0000000000", jpush_secret="nobody0master0secret0000",
    moengage_app="NOBODYWORKSPACE000000001", moengage_key="nobody-key", capgo_key="nobody-capgo-key",
    capgo_app="com.nobody.app",
)


@pytest.mark.parametrize("op", OPS, ids=[op.id for op in OPS])
def test_unknown_credentials_in_strict_mode_change_nothing(op, two_tenants, served):
    url = two_tenants.url
    assert two_tenants.health()["auth"] == "strict"
    UNKNOWN.beams_device = A.beams_device
    headers, query = credentials(op, UNKNOWN)
    body = op.valid_body()
    if op.vendor == "capgo":
        body = json.loads(json.dumps(body).replace(A.capgo_app, UNKNOWN.capgo_app)) if body else None
    data = json.dumps(body).encode() if body is not None else (b"MODEL-X\n" if op.text_body() else None)
    before = state(url)
    resp = requests.request(op.method, url + fill(op.path, path_values(op, UNKNOWN)), headers=headers, params=query,
                            data=data, timeout=30)
    where = f"{op.id} -> {resp.status_code} {resp.content[:200]!r}"
    if op.vendor == "capgo" and op.method == "GET" and op.path in ("/stats", "/updates"):
        # the plugin endpoints' key-less health checks answer anyone
        assert (resp.status_code, resp.json()) == (200, {"status": "ok"}), where
        assert state(url) == before, f"{where}: the state changed"
        return
    assert 400 <= resp.status_code < 500, where
    assert shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers) is None, where
    assert state(url) == before, f"{where}: the state changed"


def test_open_mode_tenants_created_on_first_use_see_nothing_of_the_others(two_tenants):
    """``--auth open`` creates a tenant for unknown credentials; that tenant starts empty and
    reaches no other tenant's objects. (Capgo's open mode documents a key with no app limit, so
    it is not a tenant boundary and is left out.)"""
    url = two_tenants.url
    two_tenants.set_options({"auth": "open"})
    before = {v: state(url, v) for v in ("applovin", "jpush", "moengage", "beams")}
    new_key, new_secret = "reltenantnew0appkey00001", "reltenantnew0master00001"
    jp = {"Authorization": basic(new_key, new_secret)}
    r = requests.get(f"{url}/v3/devices/{A.jpush_rid}", headers=jp, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == 7002, r.text
    r = requests.get(f"{url}/v3/tags/", headers=jp, timeout=30)
    assert r.status_code == 200 and r.json() == {"tags": []}, r.text
    r = requests.get(f"{url}/devices/list", params={"api_key": "rel-new-open-key"}, timeout=30)
    assert r.status_code == 200 and r.json()["device_lists"] == [], r.text
    r = requests.get(f"{url}/devices/list", params={"api_key": "rel-new-open-key", "device_list_id": A.applovin_list},
                     timeout=30)
    assert r.status_code == 404, r.text
    new_instance = str(uuid.UUID(int=0xBEEF, version=4))
    r = requests.get(f"{url}/device_api/v1/instances/{new_instance}/devices/fcm/{A.beams_device}", timeout=30)
    assert r.status_code == 404, r.text
    r = requests.post(f"{url}/v1/customer/RELNEWOPENWORKSPACE00001", timeout=30,
                      headers={"Authorization": basic("RELNEWOPENWORKSPACE00001", "new-key"),
                               "Content-Type": "application/json"},
                      json={"type": "customer", "customer_id": "emulator-user-1", "attributes": {"note": "new"}})
    assert r.status_code == 200, r.text
    assert any(a["app_key"] == new_key for a in state(url, "jpush")["apps"])  # the tenants were created
    assert any(a["api_key"] == "rel-new-open-key" for a in state(url, "applovin")["accounts"])
    assert any(w["app_id"] == "RELNEWOPENWORKSPACE00001" for w in state(url, "moengage")["workspaces"])
    for vendor, old in before.items():
        now = state(url, vendor)
        leaked = [m for m in MARKERS if m in json.dumps(now) and m not in json.dumps(old)]
        assert leaked == []
        key = {"applovin": "accounts", "jpush": "apps", "moengage": "workspaces", "beams": "instances"}[vendor]
        assert all(t in now[key] for t in old[key]), f"{vendor}: an existing tenant changed"


CAPGO_DEVICE_OPS = [op for op in OPS if op.vendor == "capgo" and op.path == "/device"]


@pytest.mark.parametrize("op", CAPGO_DEVICE_OPS, ids=[op.id for op in CAPGO_DEVICE_OPS])
def test_capgo_live_profile_keeps_tenants_apart(op, two_tenants, served):
    """The live profile is a second implementation of /device: A's app-limited key stays out of B's app."""
    url = two_tenants.url
    two_tenants.set_options({"capgo": {"profile": "live"}})
    before = state(url, "capgo")
    for label, path, headers, query, data in attempts(op, A, B):
        resp = requests.request(op.method, url + path, headers=headers, params=query, data=data, timeout=30)
        where = f"{op.id} (live) [{label}] -> {resp.status_code} {resp.content[:200]!r}"
        assert 400 <= resp.status_code < 500, where
        assert shape_problem(served, "capgo", resp.status_code, resp.content, resp.headers) is None, where
        assert not [m for m in MARKERS if m.encode() in resp.content], where
        assert b_part("capgo", state(url, "capgo")) == b_part("capgo", before), where
