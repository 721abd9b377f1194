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

from tests.contract import Contract, contract_for, contracts
from tests.credentials import APPLOVIN_LIST, JPUSH_RID, basic
from tests.reliability.rel_helpers import openapi, shape_problem, state
from tests.reliability.rel_routes import Op, document_at_collection, fill, operations

OPS = operations(document_at_collection())
CONTRACTS = contracts()


def markers(cs: list[Contract]) -> list[str]:
    """Strings only tenant B's objects hold: an answer to A that contains one leaks B's data."""
    return [m for c in cs for m in c.b_markers]


def load_two_tenants(emulator, cs: list[Contract]) -> None:
    """Tenant B of every vendor next to the default tenant A, then what each vendor makes through its API."""
    emulator.load({c.vendor: c.second_fixture() for c in cs})
    for c in cs:
        c.prepare_pair(emulator.url)


def isolation_problems(url: str, served: dict[str, Any], op: Op, leaks: list[str]) -> list[str]:
    """A's credentials aimed at B's objects and scope: what leaked or changed (the sixth-vendor test reuses it)."""
    c = op.contract
    before = state(url, op.vendor)
    problems = []
    for label, path, headers, query, data in c.attempts(op, c.a, c.b):
        resp = requests.request(op.method, url + path, headers=headers, params=query, data=data, timeout=30)
        where = f"{op.id} [{label}] {op.method} {path} -> {resp.status_code} {resp.content[:200]!r}"
        leaked = [m for m in leaks if m.encode() in resp.content]
        if leaked:
            problems.append(f"{where}: reveals tenant B's {leaked}")
        if resp.status_code >= 400:
            problem = shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers)
            if problem:
                problems.append(f"{where}: {problem}")
        after = state(url, op.vendor)
        if c.b_part(after) != c.b_part(before):
            problems.append(f"{where}: changed tenant B's state")
    return problems


def unknown_credentials_problem(url: str, served: dict[str, Any], op: Op) -> str | None:
    """One request of ``op`` with credentials nobody holds (in strict mode): a 4xx in the vendor's
    shape (or what the contract says the route answers instead) that changes nothing."""
    c = op.contract
    nobody = {**c.a, **c.unknown}  # unknown credentials, A's objects
    headers, query = c.credentials(op, nobody)
    body = c.retarget(op.valid_body(), c.a, nobody)
    data = json.dumps(body).encode() if body is not None else (c.text_body if op.text_body() else None)
    before = state(url)
    resp = requests.request(op.method, url + fill(op.path, c.path_values(op, nobody)), headers=headers,
                            params=query, data=data, timeout=30)
    where = f"{op.id} -> {resp.status_code} {resp.content[:200]!r}"
    check = c.unknown_check(op)
    if check is not None:
        if not check(resp):
            return f"{where}: not the answer the contract names"
    elif not 400 <= resp.status_code < 500:
        return f"{where}: expected a 4xx"
    elif (problem := shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers)) is not None:
        return f"{where}: {problem}"
    if state(url) != before:
        return f"{where}: the state changed"
    return None


@pytest.fixture(scope="module")
def served(device_emulator_server) -> dict[str, Any]:
    return openapi(device_emulator_server.url)


@pytest.fixture
def two_tenants(device_emulator):
    load_two_tenants(device_emulator, CONTRACTS)
    return device_emulator


@pytest.mark.parametrize("op", OPS, ids=[op.id for op in OPS])
def test_tenant_a_can_neither_read_nor_change_tenant_b(op, two_tenants, served):
    problems = isolation_problems(two_tenants.url, served, op, markers(CONTRACTS))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("op", OPS, ids=[op.id for op in OPS])
def test_unknown_credentials_in_strict_mode_change_nothing(op, two_tenants, served):
    assert two_tenants.health()["auth"] == "strict"
    assert unknown_credentials_problem(two_tenants.url, served, op) is None


def test_open_mode_tenants_created_on_first_use_see_nothing_of_the_others(two_tenants):
    """``--auth open`` creates a tenant for unknown credentials; that tenant starts empty and
    reaches no other tenant's objects. (Capgo's open mode documents a key with no app limit, so
    it is not a tenant boundary and is left out.)"""
    url = two_tenants.url
    two_tenants.set_options({"auth": "open"})
    before = {v: state(url, v) for v in ("applovin", "jpush", "moengage", "beams")}
    beams_device = contract_for("beams").a["device"]
    new_key, new_secret = "reltenantnew0appkey00001", "reltenantnew0master00001"
    jp = {"Authorization": basic(new_key, new_secret)}
    r = requests.get(f"{url}/v3/devices/{JPUSH_RID}", headers=jp, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == 7002, r.text
    r = requests.get(f"{url}/v3/tags/", headers=jp, timeout=30)
    assert r.status_code == 200 and r.json() == {"tags": []}, r.text
    r = requests.get(f"{url}/devices/list", params={"api_key": "rel-new-open-key"}, timeout=30)
    assert r.status_code == 200 and r.json()["device_lists"] == [], r.text
    r = requests.get(f"{url}/devices/list", params={"api_key": "rel-new-open-key", "device_list_id": APPLOVIN_LIST},
                     timeout=30)
    assert r.status_code == 404, r.text
    new_instance = str(uuid.UUID(int=0xBEEF, version=4))
    r = requests.get(f"{url}/device_api/v1/instances/{new_instance}/devices/fcm/{beams_device}", timeout=30)
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
        leaked = [m for m in markers(CONTRACTS) if m in json.dumps(now) and m not in json.dumps(old)]
        assert leaked == []
        key = contract_for(vendor).state_tenants[0]
        assert all(t in now[key] for t in old[key]), f"{vendor}: an existing tenant changed"


#: (route, option set) for the option sets a contract names as a second implementation (e.g. Capgo's
#: live profile of /device), where the route has cross-tenant requests
OPTION_OPS = [(op, options) for op in OPS for options in op.contract.extra_options
              if op.contract.attempts(op, op.contract.a, op.contract.b)]


@pytest.mark.parametrize("op,options", OPTION_OPS, ids=[f"{op.id} {options}" for op, options in OPTION_OPS])
def test_other_implementations_keep_tenants_apart(op, options, two_tenants, served):
    """A's credentials (Capgo: a key limited to A's app) are refused B's objects, in the vendor's shape."""
    url = two_tenants.url
    two_tenants.set_options(options)
    c = op.contract
    before = state(url, op.vendor)
    for label, path, headers, query, data in c.attempts(op, c.a, c.b):
        resp = requests.request(op.method, url + path, headers=headers, params=query, data=data, timeout=30)
        where = f"{op.id} ({options}) [{label}] -> {resp.status_code} {resp.content[:200]!r}"
        assert 400 <= resp.status_code < 500, where
        assert shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers) is None, where
        assert not [m for m in markers(CONTRACTS) if m.encode() in resp.content], where
        assert c.b_part(state(url, op.vendor)) == c.b_part(before), where
