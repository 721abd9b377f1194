"""No lost updates under parallel requests to one object (real server, file-backed SQLite, so
writes go through the group-committing writer thread)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable

import requests

from tests.credentials import (APPLOVIN_KEY, APPLOVIN_LIST, BEAMS_INSTANCE, JPUSH_KEY, JPUSH_RID, JPUSH_SECRET, MOENGAGE_APP,
                               jpush_auth, moengage_auth)
from tests.reliability.rel_helpers import beams_fcm_token, beams_jwt, state


def parallel(n: int, fn: Callable[[int], requests.Response]) -> list[requests.Response]:
    """Run ``fn(0..n-1)`` on n threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def call(i: int) -> requests.Response:
        barrier.wait(30)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


def test_50_parallel_jpush_tag_adds_to_one_device_all_land(device_emulator):
    url = f"{device_emulator.url}/v3/devices/{JPUSH_RID}"
    answers = parallel(50, lambda i: requests.post(url, json={"tags": {"add": [f"par_{i}"]}},
                                                   headers=jpush_auth(), timeout=60))
    assert [r.status_code for r in answers] == [200] * 50, [r.text for r in answers if r.status_code != 200]
    tags = requests.get(url, headers=jpush_auth(), timeout=30).json()["tags"]
    assert sorted(tags) == sorted(f"par_{i}" for i in range(50))


def test_50_parallel_jpush_tag_updates_through_the_tag_route_all_land(device_emulator):
    """The other direction: 50 tags each add the same device in parallel."""
    answers = parallel(50, lambda i: requests.post(f"{device_emulator.url}/v3/tags/ptag_{i}",
                                                   json={"registration_ids": {"add": [JPUSH_RID]}},
                                                   headers=jpush_auth(), timeout=60))
    assert [r.status_code for r in answers] == [200] * 50
    tags = requests.get(f"{device_emulator.url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=30).json()["tags"]
    assert sorted(tags) == sorted(f"ptag_{i}" for i in range(50))


def test_101_parallel_beams_set_user_calls_give_100_successes_and_one_422(device_emulator):
    base = f"{device_emulator.url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm"
    with requests.Session() as s:
        ids = [s.post(base, json={"token": beams_fcm_token(f"par-user-{i}")}, timeout=30).json()["id"]
               for i in range(101)]
    token = beams_jwt("par-user")
    answers = parallel(101, lambda i: requests.put(f"{base}/{ids[i]}/user", timeout=60,
                                                   headers={"Authorization": f"Bearer {token}"}))
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 100 and statuses.count(422) == 1, statuses
    refused = answers[statuses.index(422)]
    assert refused.json() == {"error": "Unprocessable Entity",
                              "description": "User already has reached the maximum of 100 devices."}
    instance = next(i for i in state(device_emulator.url, "beams")["instances"] if i["instance_id"] == BEAMS_INSTANCE)
    owned = {d["id"] for d in instance["devices"] if d.get("user_id") == "par-user"}
    assert len(owned) == 100 and ids[statuses.index(422)] not in owned


def test_parallel_applovin_creates_with_one_name_give_exactly_one_200(device_emulator):
    url = f"{device_emulator.url}/devices/create"
    answers = parallel(30, lambda i: requests.get(url, params={"api_key": APPLOVIN_KEY, "name": "Same Name"},
                                                  timeout=60))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [406] * 29, statuses
    lists = [lst for lst in state(device_emulator.url, "applovin")["accounts"][0]["device_lists"]
             if lst["name"] == "Same Name"]
    assert len(lists) == 1


def test_parallel_applovin_appends_to_one_list_all_land(device_emulator):
    url = f"{device_emulator.url}/devices/append"
    params = {"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST}
    answers = parallel(40, lambda i: requests.post(url, params=params, data=f"PAR-{i}\nPAR-SHARED\n", timeout=60))
    assert all(r.status_code == 200 and r.json()["processed_devices"] == 2 for r in answers), \
        [r.text for r in answers]
    lst = next(x for x in state(device_emulator.url, "applovin")["accounts"][0]["device_lists"]
               if x["device_list_id"] == APPLOVIN_LIST)
    assert set(lst["devices"]) >= {f"PAR-{i}" for i in range(40)} | {"PAR-SHARED"}
    assert lst["devices"].count("PAR-SHARED") == 1 and len(lst["devices"]) == 3 + 40 + 1


def test_11_parallel_jpush_alias_binds_give_10_successes_and_one_7015(device_emulator):
    """An alias holds at most 10 devices: 11 devices racing for it leave exactly 10 bound."""
    rids = [f"relalias{i:02d}" for i in range(11)]
    device_emulator.load({"jpush": {"apps": [{"app_key": JPUSH_KEY, "master_secret": JPUSH_SECRET,
                                              "devices": [{"registration_id": r, "platform": "android"} for r in rids]}]}})
    answers = parallel(11, lambda i: requests.post(f"{device_emulator.url}/v3/devices/{rids[i]}", json={"alias": "racer"},
                                                   headers=jpush_auth(), timeout=60))
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 10 and statuses.count(400) == 1, [r.text for r in answers]
    assert answers[statuses.index(400)].json()["error"]["code"] == 7015
    bound = requests.get(f"{device_emulator.url}/v3/aliases/racer", headers=jpush_auth(), timeout=30).json()
    assert len(bound["registration_ids"]) == 10 and rids[statuses.index(400)] not in bound["registration_ids"]


def test_50_parallel_moengage_attribute_merges_on_one_customer_all_land(device_emulator):
    url = f"{device_emulator.url}/v1/customer/{MOENGAGE_APP}"
    headers = {**moengage_auth(), "Content-Type": "application/json"}
    answers = parallel(50, lambda i: requests.post(url, headers=headers, timeout=60, json={
        "type": "customer", "customer_id": "emulator-user-1", "attributes": {f"attr_{i}": i}}))
    assert [r.status_code for r in answers] == [200] * 50, [r.text for r in answers if r.status_code != 200]
    customer = next(c for c in device_emulator.state("moengage")["workspaces"][0]["customers"]
                    if c["customer_id"] == "emulator-user-1")
    assert {f"attr_{i}": i for i in range(50)}.items() <= customer["attributes"].items()
    assert customer["attributes"]["name"] == "Emulator User"


def test_parallel_beams_interest_adds_stop_exactly_at_5000(device_emulator):
    """A device holding 4,990 interests, 20 parallel adds of new ones: exactly 10 land, 10 are
    refused with 400 Interest set too large, and the device ends with 5,000."""
    base = f"{device_emulator.url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm"
    device_id = requests.post(base, json={"token": beams_fcm_token("interest-race")}, timeout=30).json()["id"]
    r = requests.put(f"{base}/{device_id}/interests", json={"interests": [f"i{n}" for n in range(4990)]}, timeout=60)
    assert r.status_code == 200, r.text
    answers = parallel(20, lambda i: requests.post(f"{base}/{device_id}/interests/race-{i}", timeout=60))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 10 + [400] * 10, [r.text for r in answers]
    assert all(r.json()["error"] == "Interest set too large" for r in answers if r.status_code == 400)
    instance = next(i for i in state(device_emulator.url, "beams")["instances"] if i["instance_id"] == BEAMS_INSTANCE)
    device = next(d for d in instance["devices"] if d["id"] == device_id)
    assert len(device["interests"]) == 5000
