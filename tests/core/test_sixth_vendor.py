"""A sixth vendor needs no edit of the cross-vendor tests: a registry copy (``REGISTRY`` + the toy
vendor of tests/core/sixth.py, with its test contract) served by a real server, and the
reliability suite's own loops (hostile inputs, unserved methods, JSON edge cases, faults in the
vendor's shape, tenant isolation, unknown credentials, reset) run on the new vendor's routes. A
registered vendor without a contract fails loudly."""
from __future__ import annotations

import json
from typing import Any

import pytest

from emulator.config import Config
from emulator.fixtures import DEFAULT_FIXTURES
from emulator.pytest_plugin import DeviceEmulator
from emulator.server import BackgroundServer
from emulator.vendor import Vendor
from emulator.vendors import REGISTRY
from tests.contract import contract_for, contracts, register
from tests.core.sixth import SIXTH_CONTRACT, SIXTH_FIXTURE, Sixth
from tests.reliability.rel_helpers import openapi, state
from tests.reliability.rel_routes import default_tenants, document_at_collection, fault_problems, operations, \
    reset_problems
from tests.reliability.test_rel_hostile import (JSON_EDGES, MIN_CASES, json_edge_problems, run_hostile,
                                                unserved_method_problems)
from tests.reliability.test_rel_isolation import (isolation_problems, load_two_tenants, markers,
                                                  unknown_credentials_problem)

REGISTRY_COPY = [*REGISTRY, Sixth]
register(SIXTH_CONTRACT)
DOC = document_at_collection(REGISTRY_COPY)
SIXTH_OPS = [op for op in operations(DOC) if op.vendor == "sixth"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sixth")
    fixture = tmp / "sixth.json"
    fixture.write_text(json.dumps(SIXTH_FIXTURE))
    srv = BackgroundServer(Config(host="127.0.0.1", port=0, db=str(tmp / "six.db"), log_level="warning",
                                  fixtures=[str(DEFAULT_FIXTURES), str(fixture)]), vendor_classes=REGISTRY_COPY)
    srv.start()
    try:
        yield DeviceEmulator(srv.url)
    finally:
        srv.stop()


@pytest.fixture
def six(server) -> DeviceEmulator:
    server.reset()
    return server


@pytest.fixture(scope="module")
def served(server) -> dict[str, Any]:
    return openapi(server.url)


def test_the_registry_copy_serves_six_vendors_each_with_a_contract(six, served):
    names = [cls.name for cls in REGISTRY_COPY]
    assert six.health()["vendors"] == names == [*[cls.name for cls in REGISTRY], "sixth"]
    assert [c.vendor for c in contracts(REGISTRY_COPY)] == names
    assert [(op.vendor, op.id) for op in operations(served)] == [(op.vendor, op.id) for op in operations(DOC)]
    assert [op.id for op in SIXTH_OPS] == ["GET /sixth/v1/notes", "PUT /sixth/v1/notes/{name}",
                                           "GET /sixth/v1/notes/{name}", "DELETE /sixth/v1/notes/{name}"]
    assert state(six.url, "sixth") == {"accounts": [{"key": "sixth-key-a", "notes": [{"name": "a-note",
                                                                                       "text": "hello"}]}]}


def test_a_registered_vendor_without_a_contract_fails_loudly():
    class Seventh(Vendor):
        name = "seventh"
        title = "Seventh"
        path_roots = frozenset({"seventh"})

    with pytest.raises(AssertionError, match=r"vendor 'seventh' has no test contract: write tests/seventh/contract.py"):
        contracts([*REGISTRY_COPY, Seventh])
    with pytest.raises(AssertionError, match="no test contract"):
        contract_for("seventh")


@pytest.mark.parametrize("op", SIXTH_OPS, ids=[op.id for op in SIXTH_OPS])
def test_hostile_inputs(op, six, served):
    assert run_hostile(op, six.url, served) >= MIN_CASES


def test_unserved_methods_answer_in_the_vendors_shape(six, served):
    problems, sent, paths = unserved_method_problems(six.url, served, SIXTH_OPS)
    assert (paths, sent) == (2, 14)  # of 9 methods: 8 not served on /notes, 6 on /notes/{name}
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("label,data", JSON_EDGES, ids=[p.values[0] for p in JSON_EDGES])
def test_json_edge_cases(label, data, six, served):
    tenants = default_tenants(six.url, ["sixth"])
    before = state(six.url)
    assert json_edge_problems(six.url, served, SIXTH_OPS, tenants, label, data) == []
    assert state(six.url) == before


def test_faults_answer_in_the_vendors_shape(six, served):
    assert fault_problems(six.url, served, SIXTH_CONTRACT) == []


def test_unknown_routes_answer_in_the_vendors_shape(six):
    import requests

    r = requests.get(f"{six.url}/sixth/v1/nothing-here", timeout=30)
    assert (r.status_code, r.json()) == (404, {"sixth_error": "no such route", "status": 404})


@pytest.mark.parametrize("op", SIXTH_OPS, ids=[op.id for op in SIXTH_OPS])
def test_tenant_isolation(op, six, served):
    load_two_tenants(six, [SIXTH_CONTRACT])
    assert isolation_problems(six.url, served, op, markers([SIXTH_CONTRACT])) == []
    assert unknown_credentials_problem(six.url, served, op) is None


def test_the_isolation_loop_sees_a_leak(six, served):
    """Guards the loop: B's marker in an answer to A is reported (A reads its own note holding it)."""
    load_two_tenants(six, [SIXTH_CONTRACT])
    six.load({"sixth": {"accounts": [{"key": "sixth-key-a", "notes": [{"name": "b-note", "text": "b-secret-text"}]}]}})
    get_one = next(op for op in SIXTH_OPS if op.id == "GET /sixth/v1/notes/{name}")
    problems = isolation_problems(six.url, served, get_one, markers([SIXTH_CONTRACT]))
    assert len(problems) == 1 and "reveals tenant B's ['b-secret-text']" in problems[0], problems


def test_reset(six):
    assert reset_problems(six.url, SIXTH_CONTRACT) == []
