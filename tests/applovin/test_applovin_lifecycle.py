"""The seed's examples end to end: create, list, append, list devices, deleteDevices, delete."""
from __future__ import annotations

import re

import requests

from tests.credentials import APPLOVIN_LIST

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_default_account_lists_the_seeds_example_list(applovin):
    resp = applovin.lists()
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"code": 200, "device_lists": [{
        "device_list_id": APPLOVIN_LIST, "name": "List Test",
        "description": "Test Custom Device List", "device_count": 3}], "count": 1}


def test_list_with_id_returns_the_devices_in_insertion_order(applovin):
    resp = applovin.devices(applovin.default_list_id)
    assert resp.status_code == 200
    assert resp.json() == {"code": 200, "devices": [
        {"device": "SM-G900F"}, {"device": "SM-G900FD"}, {"device": "SM-J100H"}], "count": 3}


def test_create_as_in_the_seeds_curl_example(applovin):
    resp = applovin.call("create", query=f"name=My%20Devices&api_key={applovin.api_key}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert list(body) == ["device_list_id"]
    assert HEX32.fullmatch(body["device_list_id"])
    lists = applovin.lists().json()
    assert lists["count"] == 2
    assert lists["device_lists"][-1] == {"device_list_id": body["device_list_id"], "name": "My Devices",
                                         "description": "", "device_count": 0}


def test_create_stores_the_description_and_issues_distinct_ids(applovin):
    first = applovin.create_id("Galaxy_S5", "Samsung flagship 2014")
    second = applovin.create_id("Galaxy-S6+")
    assert first != second
    entries = {e["device_list_id"]: e for e in applovin.lists().json()["device_lists"]}
    assert entries[first]["description"] == "Samsung flagship 2014"
    assert entries[second]["name"] == "Galaxy-S6+"


def test_whole_lifecycle_with_the_seeds_bodies(applovin, expect_error):
    list_id = applovin.create_id("Lifecycle")
    resp = applovin.append(list_id, b"SM-J100H\nHUAWEI Y520-U03\n")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"device_list_id": list_id, "processed_devices": 2, "failed_devices": 0}
    assert applovin.devices(list_id).json() == {
        "code": 200, "devices": [{"device": "SM-J100H"}, {"device": "HUAWEI Y520-U03"}], "count": 2}

    resp = applovin.delete_devices(list_id, b"SM-J100H\nHUAWEI Y520-U03\n")
    assert resp.status_code == 200
    assert resp.json() == {"device_list_id": list_id, "processed_devices": 2, "failed_devices": 0}
    assert applovin.devices(list_id).json() == {"code": 200, "devices": [], "count": 0}

    resp = applovin.delete(list_id)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Content-Length"] == "0"
    assert [e["device_list_id"] for e in applovin.lists().json()["device_lists"]] == [applovin.default_list_id]

    not_found = "The device list ID that you specified does not exist."
    expect_error(applovin.devices(list_id), 404, not_found)
    expect_error(applovin.append(list_id, b"SM-J100H"), 404, not_found)
    expect_error(applovin.delete_devices(list_id, b"SM-J100H"), 404, not_found)
    expect_error(applovin.delete(list_id), 404, not_found)


def test_device_count_follows_appends_and_removals(applovin):
    list_id = applovin.create_id("Counting")
    applovin.append(list_id, "A1\nA2\nA3")
    applovin.delete_devices(list_id, "A2")
    entry = [e for e in applovin.lists().json()["device_lists"] if e["device_list_id"] == list_id][0]
    assert entry["device_count"] == 2
    assert applovin.device_names(list_id) == ["A1", "A3"]


def test_a_deleted_lists_name_is_free_again_and_the_old_id_stays_gone(applovin, expect_error):
    old = applovin.create_id("Reusable")
    applovin.append(old, "SM-G900F")
    expect_error(applovin.create("Reusable"), 406, "An active list with the same name exists already.")
    assert applovin.delete(old).status_code == 200
    new = applovin.create_id("Reusable")
    assert new != old
    assert applovin.device_names(new) == []
    expect_error(applovin.devices(old), 404, "The device list ID that you specified does not exist.")
    names = [e["name"] for e in applovin.lists().json()["device_lists"]]
    assert names.count("Reusable") == 1


def test_deleted_lists_stay_in_the_state_marked_deleted(applovin, device_emulator):
    list_id = applovin.create_id("Soon gone", "x")
    applovin.append(list_id, "SM-G900F")
    applovin.delete(list_id)
    lists = device_emulator.state("applovin")["accounts"][0]["device_lists"]
    assert lists[-1] == {"device_list_id": list_id, "name": "Soon gone", "description": "x",
                         "devices": ["SM-G900F"], "deleted": True}


def test_success_bodies_are_plain_requests_usable(device_emulator, applovin):
    """The seed's curl flow with a bare requests session (no helper): sanity of the URL shape."""
    base = f"{device_emulator.url}/devices"
    key = applovin.api_key
    created = requests.get(f"{base}/create", params={"name": "Bare", "api_key": key}, timeout=10).json()
    appended = requests.post(f"{base}/append?device_list_id={created['device_list_id']}&api_key={key}",
                             data=b"SM-J100H\nHUAWEI Y520-U03", timeout=10).json()
    assert appended == {"device_list_id": created["device_list_id"], "processed_devices": 2, "failed_devices": 0}
