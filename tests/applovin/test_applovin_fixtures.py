"""The ``applovin`` fixture part: validation with JSON paths, merge, export round-trip,
deleted lists, and state surviving a restart."""
from __future__ import annotations

import copy

import pytest

from emulator.pytest_plugin import EmulatorError
from tests.support import ServerProcess
from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST

LIST_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
LIST_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"


def doc(*accounts) -> dict:
    return {"applovin": {"accounts": list(accounts)}}


def a_list(list_id=LIST_A, name="Fixture List", **extra) -> dict:
    return {"device_list_id": list_id, "name": name, **extra}


P = "$.applovin"
BAD = [
    ({}, f"{P}.accounts", "is required"),
    ({"accounts": {}}, f"{P}.accounts", "expected an array, got an object"),
    ({"accounts": [], "extra": 1}, f"{P}.extra", "unknown field (allowed: accounts)"),
    ({"accounts": ["k"]}, f"{P}.accounts[0]", "expected an object, got a string"),
    ({"accounts": [{}]}, f"{P}.accounts[0].api_key", "is required"),
    ({"accounts": [{"api_key": 5}]}, f"{P}.accounts[0].api_key", "expected a string, got a number"),
    ({"accounts": [{"api_key": ""}]}, f"{P}.accounts[0].api_key", "must not be empty"),
    ({"accounts": [{"api_key": "k", "lists": []}]}, f"{P}.accounts[0].lists",
     "unknown field (allowed: api_key, device_lists)"),
    ({"accounts": [{"api_key": "k"}, {"api_key": "k"}]}, f"{P}.accounts[1].api_key",
     "duplicate api_key 'k' (first at $.applovin.accounts[0].api_key)"),
    ({"accounts": [{"api_key": "k", "device_lists": [{"name": "x"}]}]},
     f"{P}.accounts[0].device_lists[0].device_list_id", "is required"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list("ABCDEF")]}]},
     f"{P}.accounts[0].device_lists[0].device_list_id", "'ABCDEF' does not match [0-9a-f]{32}"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(name="a/b")]}]},
     f"{P}.accounts[0].device_lists[0].name", "'a/b' is not alphanumeric, _-+ or space"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(description=None)]}]},
     f"{P}.accounts[0].device_lists[0].description", "expected a string, got null"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(deleted="yes")]}]},
     f"{P}.accounts[0].device_lists[0].deleted", "expected true or false, got a string"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(devices=["ok", 3])]}]},
     f"{P}.accounts[0].device_lists[0].devices[1]", "expected a string, got a number"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(devices=["X" * 65])]}]},
     f"{P}.accounts[0].device_lists[0].devices[0]", "device is longer than 64 characters"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(devices=[" padded"])]}]},
     f"{P}.accounts[0].device_lists[0].devices[0]", "device has surrounding whitespace"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(devices=["A", "A"])]}]},
     f"{P}.accounts[0].device_lists[0].devices[1]",
     "duplicate device 'A' (first at $.applovin.accounts[0].device_lists[0].devices[0])"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(LIST_A, "N"), a_list(LIST_B, "N")]}]},
     f"{P}.accounts[0].device_lists[1].name",
     "duplicate active list name 'N' (first at $.applovin.accounts[0].device_lists[0].name)"),
    ({"accounts": [{"api_key": "k", "device_lists": [a_list(LIST_A)]},
                   {"api_key": "j", "device_lists": [a_list(LIST_A)]}]},
     f"{P}.accounts[1].device_lists[0].device_list_id",
     "duplicate device_list_id 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' (first at $.applovin.accounts[0].device_lists[0].device_list_id)"),
]


@pytest.mark.parametrize("part,path,message", BAD)
def test_bad_fixture_is_refused_with_its_path_and_changes_nothing(device_emulator, part, path, message):
    before = device_emulator.state()
    with pytest.raises(EmulatorError) as err:
        device_emulator.replace_state({"applovin": part})
    assert err.value.status == 400
    assert err.value.body == {"error": message, "path": path}
    assert device_emulator.state() == before


def test_deleted_lists_may_share_a_name_with_an_active_one(device_emulator, applovin):
    device_emulator.load(doc({"api_key": APPLOVIN_KEY, "device_lists": [
        a_list(LIST_A, "List Test", deleted=True), a_list(LIST_B, "Old", deleted=True)]}))
    assert [e["device_list_id"] for e in applovin.lists().json()["device_lists"]] == [applovin.default_list_id]
    assert applovin.devices(LIST_A).status_code == 404
    assert applovin.create("Old").status_code == 200


def test_merge_adds_accounts_and_lists_and_updates_given_fields_only(device_emulator, applovin):
    device_emulator.load(doc(
        {"api_key": APPLOVIN_KEY, "device_lists": [
            {"device_list_id": applovin.default_list_id, "name": "Renamed", "devices": ["ONLY-ONE"]},
            a_list(LIST_A, description="new", devices=["D1", "D2"])]},
        {"api_key": "second-key"}))
    lists = applovin.lists().json()
    assert lists == {"code": 200, "count": 2, "device_lists": [
        {"device_list_id": applovin.default_list_id, "name": "Renamed",
         "description": "Test Custom Device List", "device_count": 1},
        {"device_list_id": LIST_A, "name": "Fixture List", "description": "new", "device_count": 2}]}
    assert applovin.device_names(LIST_A) == ["D1", "D2"]
    assert applovin.with_key("second-key").lists().json()["count"] == 0


def test_merge_can_undelete_and_delete(device_emulator, applovin):
    list_id = applovin.create_id("Flip")
    applovin.delete(list_id)
    device_emulator.load(doc({"api_key": APPLOVIN_KEY, "device_lists": [{"device_list_id": list_id, "name": "Flip",
                                                                 "deleted": False}]}))
    assert applovin.devices(list_id).status_code == 200
    device_emulator.load(doc({"api_key": APPLOVIN_KEY, "device_lists": [{"device_list_id": list_id, "name": "Flip",
                                                                 "deleted": True}]}))
    assert applovin.devices(list_id).status_code == 404


def test_merge_refuses_moving_a_list_or_a_clashing_active_name(device_emulator):
    before = device_emulator.state()
    seed = APPLOVIN_LIST
    cases = [
        (doc({"api_key": "thief", "device_lists": [a_list(seed, "Stolen")]}),
         {"error": "already belongs to another account",
          "path": "$.applovin.accounts[0].device_lists[0].device_list_id"}),
        (doc({"api_key": APPLOVIN_KEY, "device_lists": [a_list(LIST_A, "List Test")]}),
         {"error": f"an active list {seed} of this account is already named 'List Test'",
          "path": "$.applovin.accounts[0].device_lists[0].name"}),
    ]
    for fixture, body in cases:
        with pytest.raises(EmulatorError) as err:
            device_emulator.load(fixture)
        assert (err.value.status, err.value.body) == (400, body)
        assert device_emulator.state() == before


def test_export_round_trips_through_put(device_emulator, applovin, two_accounts):
    _, other = two_accounts
    kept = applovin.create_id("Kept", "d")
    applovin.append(kept, "Z1\nZ0\nZ2")
    gone = applovin.create_id("Gone")
    applovin.delete(gone)
    other.create_id("Theirs")
    exported = device_emulator.state("applovin")
    device_emulator.replace_state({"applovin": {"accounts": []}})
    assert applovin.lists().status_code == 403
    device_emulator.replace_state({"applovin": copy.deepcopy(exported)})
    assert device_emulator.state("applovin") == exported
    assert applovin.device_names(kept) == ["Z1", "Z0", "Z2"]
    assert applovin.devices(gone).status_code == 404
    assert [e["name"] for e in other.lists().json()["device_lists"]] == ["Theirs"]


def test_state_survives_a_restart(tmp_path):
    db = str(tmp_path / "applovin.db")
    with ServerProcess("--db", db) as server:
        created = server.get("/devices/create", params={"api_key": APPLOVIN_KEY, "name": "Durable"}).json()
        list_id = created["device_list_id"]
        server.post(f"/devices/append?api_key={APPLOVIN_KEY}&device_list_id={list_id}", data=b"SM-1\nSM-2")
        assert server.terminate() == 0
    with ServerProcess("--db", db) as server:
        resp = server.get("/devices/list", params={"api_key": APPLOVIN_KEY, "device_list_id": list_id})
        assert resp.json() == {"code": 200, "devices": [{"device": "SM-1"}, {"device": "SM-2"}], "count": 2}
