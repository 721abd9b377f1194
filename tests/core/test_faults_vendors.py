"""Each fault action on a route of every vendor, with that vendor's own error body."""
from __future__ import annotations

import re

import pytest
import requests

from emulator.vendors import REGISTRY
from tests.contract import contract_for

#: every registered vendor; each one's test contract names a plain valid request (``probe``)
VENDORS = [cls.name for cls in REGISTRY]
MOENGAGE_500 = ("An unexpected error was encountered while processing this request. "
                "Please contact MoEngage Team")
# vendor -> status -> (content type, exact body); MoEngage's request_id is random, checked by pattern
FAULT_BODIES = {
    "capgo": {500: ("application/json", '{"error":"Unknown error","status":"KO"}'),
              503: ("application/json", '{"error":"Service unavailable","status":"KO"}')},
    "moengage": {500: ("application/json", None), 503: ("application/json", None)},
    "beams": {500: ("application/json", '{"error":"Something went wrong","description":"Internal server error."}\n'),
              503: ("application/json", '{"error":"Something went wrong","description":"Service Unavailable."}\n')},
    "jpush": {500: ("application/json; charset=utf-8", '{"error":{"code":7000,"message":"Server internal error"}}'),
              503: ("application/json; charset=utf-8",
                    '{"error":{"code":7030,"message":"System busy, please try again later"}}')},
    "applovin": {500: ("application/json", '{"code":500,"message":"Service Unavailable."}'),
                 503: ("application/json", '{"code":503,"message":"Service Unavailable"}')},
}


def call(emu, vendor: str) -> requests.Response:
    method, path, headers, body = contract_for(vendor).probe
    return requests.request(method, emu.url + path, headers=headers, json=body, timeout=10)


def normal_status(vendor: str) -> int:
    return contract_for(vendor).probe_status


def assert_fault_body(vendor: str, status: int, response: requests.Response) -> None:
    ctype, body = FAULT_BODIES[vendor][status]
    assert response.status_code == status
    assert response.headers["Content-Type"] == ctype
    if vendor == "moengage":
        payload = response.json()
        assert payload["status"] == "fail"
        assert payload["error"]["message"] == MOENGAGE_500 and payload["error"]["type"] == "ServerError"
        assert re.fullmatch(r"[A-Za-z0-9]{8}", payload["error"]["request_id"])
        assert set(payload["error"]) == {"message", "type", "request_id"}
    else:
        assert response.text == body


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("status", [500, 503])
def test_status_fault_in_the_vendors_shape_bounded_by_times(device_emulator, vendor, status):
    method, path, *_ = contract_for(vendor).probe
    rule = device_emulator.fault(vendor=vendor, method=method, path=path.split("?")[0], status=status, times=2)
    assert_fault_body(vendor, status, call(device_emulator, vendor))
    assert_fault_body(vendor, status, call(device_emulator, vendor))
    assert call(device_emulator, vendor).status_code == normal_status(vendor)  # times ran out
    assert device_emulator.faults()[0] == {**rule, "fired": 2, "remaining": 0}
    assert [e.get("fault") for e in device_emulator.requests(vendor=vendor)] == [None, rule["id"], rule["id"]]


def test_capgo_faults_follow_the_active_profile(device_emulator):
    device_emulator.set_options({"capgo": {"profile": "live"}})
    device_emulator.fault(vendor="capgo", status=500)
    response = call(device_emulator, "capgo")
    assert response.status_code == 500
    assert set(response.json()) == {"error", "message", "moreInfo"}


@pytest.mark.parametrize("vendor", VENDORS)
def test_drop_and_latency_on_every_vendor(device_emulator, vendor):
    device_emulator.fault(vendor=vendor, drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        call(device_emulator, vendor)
    device_emulator.fault(vendor=vendor, latency_ms=150, times=1)
    response = call(device_emulator, vendor)
    assert response.status_code == normal_status(vendor)
    dropped, delayed = device_emulator.requests(vendor=vendor)[1], device_emulator.requests(vendor=vendor)[0]
    assert dropped["status"] is None and dropped["dropped"] is True
    assert delayed["duration_ms"] >= 150 and delayed["status"] == normal_status(vendor)


@pytest.mark.parametrize("vendor", VENDORS)
def test_seeded_probability_repeats_and_clearing_restores(device_emulator, vendor):
    def pattern() -> list[int]:
        device_emulator.clear_faults()
        device_emulator.seed_faults(7)
        device_emulator.fault(vendor=vendor, status=503, probability=0.5)
        return [call(device_emulator, vendor).status_code for _ in range(16)]
    first, second = pattern(), pattern()
    assert first == second and {503, normal_status(vendor)} == set(first)
    device_emulator.clear_faults()
    assert all(call(device_emulator, vendor).status_code == normal_status(vendor) for _ in range(4))
