"""The fixture document is input too: every node of a rich exported state (all five vendors, with
devices, interests, publishes, events, dropped payloads, check-ins and a second tenant), replaced in
turn by values of every JSON type and some extremes, is posted to ``POST /_emulator/fixtures``.
Expected: 200 or a 400 ``{"error", "path"}`` naming a JSON path, never a 5xx or a logged error, and a
refused document changes nothing."""
from __future__ import annotations

import copy
import logging
from typing import Any
from collections.abc import Iterator

import jsonschema
import pytest
import requests

from tests.credentials import BEAMS_INSTANCE, BEAMS_SECRET, CAPGO_APP, MOENGAGE_APP, moengage_auth
from tests.reliability.rel_helpers import ServerErrors, openapi, state
from tests.contract import contracts

VALUES: list[Any] = [None, -1.5, "x", [], {"x": None}, "9" * 5000]


def nodes(value: Any, at: tuple = ()) -> Iterator[tuple]:
    yield at
    if isinstance(value, dict):
        for key, child in value.items():
            yield from nodes(child, at + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value[:2]):
            yield from nodes(child, at + (i,))


def replaced(doc: Any, at: tuple, new: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for key in at[:-1]:
        target = target[key]
    target[at[-1]] = new
    return out


def rich_state(url: str) -> dict[str, Any]:
    second = {c.vendor: c.second_fixture() for c in contracts()}  # the isolation tests' tenant B of every vendor
    requests.post(f"{url}/_emulator/fixtures", json=second, timeout=30).raise_for_status()
    beams = f"{url}/device_api/v1/instances/{BEAMS_INSTANCE}"
    dev = requests.post(f"{beams}/devices/fcm", json={"token": "fcm-token:fx", "metadata": {"sdkVersion": "1"}},
                        timeout=30).json()["id"]
    requests.put(f"{beams}/devices/fcm/{dev}/interests", json={"interests": ["news"]}, timeout=30).raise_for_status()
    requests.post(f"{url}/publish_api/v1/instances/{BEAMS_INSTANCE}/publishes/interests", timeout=30,
                  json={"interests": ["news"], "fcm": {"notification": {"title": "t"}}},
                  headers={"Authorization": f"Bearer {BEAMS_SECRET}"}).raise_for_status()
    requests.post(f"{url}/reporting_api/v2/instances/{BEAMS_INSTANCE}/events", timeout=30,
                  json={"event": "delivery", "publishId": "p", "deviceId": dev, "timestampSecs": 1}).raise_for_status()
    moe = {**moengage_auth(), "Content-Type": "application/json"}
    requests.post(f"{url}/v1/event/{MOENGAGE_APP}", headers=moe, timeout=30, json={
        "type": "event", "customer_id": "emulator-user-1", "actions": [{"action": "A", "attributes": {"x": 1}}]})
    requests.post(f"{url}/v1/device/{MOENGAGE_APP}", headers=moe, timeout=30, json={
        "type": "device", "customer_id": "ghost", "device_id": "d", "attributes": {"platform": "ANDROID", "push_id": "x"}})
    requests.post(f"{url}/stats", timeout=30, json={
        "app_id": CAPGO_APP, "device_id": "44f128a5-ac7a-4c9a-be4c-224b6bf81b20", "platform": "android",
        "version_name": "1.0.0", "version_os": "14", "is_emulator": False, "is_prod": True, "action": "ping"})
    return state(url)



@pytest.mark.slow  # thousands of mutated documents
def test_mutated_fixture_documents_are_merged_or_refused_with_a_path(device_emulator):
    url = device_emulator.url
    error_schema = openapi(url)["components"]["schemas"]["ControlPlaneError"]
    base = rich_state(url)
    handler = ServerErrors()
    logging.getLogger().addHandler(handler)
    problems: list[str] = []
    sent = refused = 0
    try:
        with requests.Session() as s:
            for vendor in base:
                doc = {vendor: base[vendor]}
                before = state(url)
                for at in list(nodes(doc))[1:]:
                    for value in VALUES:
                        sent += 1
                        r = s.post(f"{url}/_emulator/fixtures", json=replaced(doc, at, value), timeout=60)
                        where = f"{'.'.join(map(str, at))} = {repr(value)[:20]} -> {r.status_code} {r.text[:160]}"
                        if r.status_code == 400:
                            refused += 1
                            jsonschema.validate(r.json(), error_schema)
                            if "path" not in r.json():
                                problems.append(f"{where}: no JSON path")
                            if sent % 7 == 0 and state(url) != before:  # sampled: a refusal changes nothing
                                problems.append(f"{where}: a refused document changed the state")
                        elif r.status_code == 200:
                            before = state(url)
                        else:
                            problems.append(where)
    finally:
        logging.getLogger().removeHandler(handler)
    print(f"\n[reliability] fixtures: {sent} mutated documents, {refused} refused with a JSON path, "
          f"{sent - refused} merged, 0 × 5xx")
    assert problems == [], "\n".join(problems[:20])
    assert handler.records == [], "\n".join(handler.records[:10])
