"""Fault rules on a toy vendor: each action, times, probability (seeded), clearing."""
from __future__ import annotations

import time

import pytest
import requests

from emulator.pytest_plugin import EmulatorError


def test_status_fault_answers_in_the_vendor_shape_and_times_bounds_it(toy):
    rule = toy.fault(vendor="toy", method="get", path="/toy/items/*", status=503, times=2)
    assert rule == {"id": rule["id"], "vendor": "toy", "method": "GET", "path": "/toy/items/*", "status": 503,
                    "latency_ms": 0, "drop": False, "times": 2, "probability": 1.0, "fired": 0, "remaining": 2}
    answers = [requests.get(toy.url + "/toy/items/alpha") for _ in range(3)]
    assert [(r.status_code, r.json()) for r in answers] == [
        (503, {"toy_error": "generic", "status": 503}),
        (503, {"toy_error": "generic", "status": 503}),
        (200, {"name": "alpha", "value": 1}),
    ]
    assert toy.faults()[0]["fired"] == 2 and toy.faults()[0]["remaining"] == 0
    journal = toy.requests()
    assert [e.get("fault") for e in journal] == [None, rule["id"], rule["id"]]


def test_fault_matches_method_and_path_only(toy):
    toy.fault(method="POST", path="/toy/items", status=500)
    assert requests.get(toy.url + "/toy/items/alpha").status_code == 200
    r = requests.post(toy.url + "/toy/items", json={"name": "zzz"})
    assert r.status_code == 500 and r.json() == {"toy_error": "generic", "status": 500}
    assert requests.get(toy.url + "/toy/items/zzz").status_code == 404  # the faulted write never ran


def test_latency_fault_delays_the_real_answer(toy):
    toy.fault(path="/toy/items/alpha", latency_ms=300, times=1)
    started = time.monotonic()
    r = requests.get(toy.url + "/toy/items/alpha")
    assert time.monotonic() - started >= 0.3
    assert r.status_code == 200 and r.json() == {"name": "alpha", "value": 1}
    assert toy.requests()[0]["duration_ms"] >= 300


def test_drop_closes_the_connection_without_an_answer(toy):
    rule = toy.fault(path="/toy/*", drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(toy.url + "/toy/items/alpha")
    entry = toy.requests()[0]
    assert entry["status"] is None and entry["dropped"] is True and entry["fault"] == rule["id"]
    assert requests.get(toy.url + "/toy/items/alpha").status_code == 200


def test_probability_is_repeatable_with_a_seed(toy):
    def pattern():
        toy.clear_faults()
        toy.seed_faults(42)
        toy.fault(path="/toy/items/alpha", status=502, probability=0.5)
        return [requests.get(toy.url + "/toy/items/alpha").status_code for _ in range(24)]
    first, second = pattern(), pattern()
    assert first == second
    assert 0 < first.count(502) < 24 and set(first) == {200, 502}


def test_clearing_faults_restores_normal_answers(toy):
    a = toy.fault(path="/toy/items/alpha", status=500)
    toy.fault(path="/toy/items/beta", status=500)
    toy.clear_faults(a["id"])
    assert requests.get(toy.url + "/toy/items/alpha").status_code == 200
    assert requests.get(toy.url + "/toy/items/beta").status_code == 500
    toy.clear_faults()
    assert requests.get(toy.url + "/toy/items/beta").status_code == 200
    toy.fault(path="/toy/items/beta", status=500)
    toy.reset()
    assert toy.faults() == []
    assert requests.get(toy.url + "/toy/items/beta").status_code == 200


def test_the_control_plane_is_never_faulted(toy):
    toy.fault(path="/*", status=500)
    assert requests.get(toy.url + "/_emulator/health").status_code == 200


@pytest.mark.parametrize("rule,message", [
    ({}, "a rule needs an action: status, latency_ms or drop"),
    ({"status": 200}, "status: expected an integer from 400 to 599"),
    ({"status": 500, "drop": True}, "status and drop exclude each other"),
    ({"vendor": "nobody", "status": 500}, "vendor: expected one of toy, got 'nobody'"),
    ({"path": "toy", "status": 500}, "path: expected a glob starting with / (* matches any run of characters, / included)"),
    ({"status": 500, "times": 0}, "times: expected a positive integer (omit it for no limit)"),
    ({"status": 500, "probability": 1.5}, "probability: expected a number from 0 to 1"),
    ({"latency_ms": -1}, "latency_ms: expected an integer from 0 to 60000"),
    ({"status": 500, "colour": "red"},
     "colour: unknown key (allowed: vendor, method, path, status, latency_ms, drop, times, probability)"),
])
def test_invalid_rules_are_refused(toy, rule, message):
    with pytest.raises(EmulatorError) as err:
        toy.fault(**rule)
    assert err.value.status == 400 and err.value.body == {"error": message}
    assert toy.faults() == []


def test_deleting_an_unknown_rule_is_a_404(toy):
    r = requests.delete(toy.url + "/_emulator/faults/99")
    assert r.status_code == 404 and r.json() == {"error": "no fault rule 99"}
