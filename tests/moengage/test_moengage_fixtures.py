"""The moengage fixture part: validation with JSON paths, merge, export round-trip, restarts."""
from __future__ import annotations

import pytest

from emulator.pytest_plugin import EmulatorError
from tests.credentials import MOENGAGE_APP, MOENGAGE_KEY
from tests.moengage.moengage_client import CUSTOMER, device_body

FULL = {"workspaces": [{
    "app_id": "FIXTUREAPP", "api_key": "fixture-key", "status": "active",
    "customers": [{"customer_id": "u1", "attributes": {"name": "U One"}}, {"customer_id": "u2"}],
    "devices": [{"customer_id": "u1", "device_id": "d1", "attributes": {"platform": "iOS", "push_id": "apns"}}],
    "events": [{"id": "e1", "customer_id": "u1", "action": "Login", "attributes": {"k": 1},
                "properties": {"platform": "iOS"}, "received_at": "2026-01-01T00:00:00.000Z"}],
    "dropped": [{"id": "x1", "endpoint": "device", "reason": "User doesn't exists with customer id zz",
                 "payload": {"type": "device"}, "received_at": None}],
}]}


@pytest.mark.parametrize("part,path", [
    ({"workspace": []}, "$.moengage.workspace"),
    ({"workspaces": {}}, "$.moengage.workspaces"),
    ({"workspaces": [{"api_key": "k"}]}, "$.moengage.workspaces[0].app_id"),
    ({"workspaces": [{"app_id": "A"}]}, "$.moengage.workspaces[0].api_key"),
    ({"workspaces": [{"app_id": "", "api_key": "k"}]}, "$.moengage.workspaces[0].app_id"),
    ({"workspaces": [{"app_id": "A/B", "api_key": "k"}]}, "$.moengage.workspaces[0].app_id"),
    ({"workspaces": [{"app_id": "A", "api_key": 5}]}, "$.moengage.workspaces[0].api_key"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "status": "gone"}]}, "$.moengage.workspaces[0].status"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "extra": 1}]}, "$.moengage.workspaces[0].extra"),
    ({"workspaces": [{"app_id": "A", "api_key": "k"}, {"app_id": "A", "api_key": "k"}]},
     "$.moengage.workspaces[1].app_id"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "customers": [{"customer_id": 1}]}]},
     "$.moengage.workspaces[0].customers[0].customer_id"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "customers": [{"customer_id": "u", "attributes": []}]}]},
     "$.moengage.workspaces[0].customers[0].attributes"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "customers": [{"customer_id": "u"}, {"customer_id": "u"}]}]},
     "$.moengage.workspaces[0].customers[1].customer_id"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "devices": [{"customer_id": "u"}]}]},
     "$.moengage.workspaces[0].devices[0].device_id"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "devices": [{"customer_id": "ghost", "device_id": "d"}]}]},
     "$.moengage.workspaces[0].devices[0].customer_id"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "events": [{"customer_id": "u"}]}]},
     "$.moengage.workspaces[0].events[0].action"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "events": [{"customer_id": "u", "action": "a",
                                                                  "received_at": 5}]}]},
     "$.moengage.workspaces[0].events[0].received_at"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "dropped": [{"endpoint": "sms", "reason": "r"}]}]},
     "$.moengage.workspaces[0].dropped[0].endpoint"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "dropped": [{"id": "i", "endpoint": "device", "reason": "r"},
                                                                   {"id": "i", "endpoint": "device", "reason": "r"}]}]},
     "$.moengage.workspaces[0].dropped[1].id"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "customers": [
        {"customer_id": "u", "attributes": {"name": "\udcff"}}]}]},
     "$.moengage.workspaces[0].customers[0].attributes.name"),
    ({"workspaces": [{"app_id": "A", "api_key": "k", "customers": [
        {"customer_id": "u", "attributes": {"n": float("inf")}}]}]},
     "$.moengage.workspaces[0].customers[0].attributes.n"),
])
def test_bad_fixture_is_refused_with_its_path_and_changes_nothing(device_emulator, part, path):
    before = device_emulator.state()
    with pytest.raises(EmulatorError) as info:
        device_emulator.replace_state({"moengage": part})
    assert info.value.status == 400
    assert info.value.body["path"] == path, info.value.body
    assert device_emulator.state() == before


def test_default_fixture_workspace_works_out_of_the_box(device_emulator):
    ws = device_emulator.state("moengage")["workspaces"][0]
    assert (ws["app_id"], ws["api_key"]) == (MOENGAGE_APP, MOENGAGE_KEY)
    assert ws["customers"] == [{"customer_id": CUSTOMER, "attributes": {"name": "Emulator User"}}]


def test_export_round_trips_through_put(device_emulator, api):
    device_emulator.load({"moengage": FULL})
    api.post("device", device_body(model="X"))
    api.post("event", {"type": "event", "customer_id": CUSTOMER, "actions": [{"action": "Open"}]})
    api.post("device", device_body(customer_id="ghost"))
    exported = device_emulator.state()
    device_emulator.replace_state(exported)
    assert device_emulator.state() == exported
    fixture_ws = [w for w in exported["moengage"]["workspaces"] if w["app_id"] == "FIXTUREAPP"][0]
    expected = {k: v for k, v in FULL["workspaces"][0].items() if k != "status"}  # "active" is left out
    expected["customers"] = [{"customer_id": "u1", "attributes": {"name": "U One"}},
                             {"customer_id": "u2", "attributes": {}}]
    assert fixture_ws == expected
    assert "status" not in fixture_ws  # "active" is the default and is left out


def test_load_merges_by_identity_and_removes_nothing(device_emulator):
    device_emulator.load({"moengage": FULL})
    device_emulator.load({"moengage": {"workspaces": [{
        "app_id": "FIXTUREAPP", "api_key": "rotated-key",
        "customers": [{"customer_id": "u1", "attributes": {"plan": "gold"}}, {"customer_id": "u3"}],
        "devices": [{"customer_id": "u1", "device_id": "d1", "attributes": {"push_id": "apns-2"}},
                    {"customer_id": "u3", "device_id": "d3"}],
        "events": [{"id": "e1", "customer_id": "u1", "action": "Logout"}, {"customer_id": "u2", "action": "New"}],
    }]}})
    ws = [w for w in device_emulator.state("moengage")["workspaces"] if w["app_id"] == "FIXTUREAPP"][0]
    assert ws["api_key"] == "rotated-key"
    assert {c["customer_id"]: c["attributes"] for c in ws["customers"]} == {
        "u1": {"name": "U One", "plan": "gold"}, "u2": {}, "u3": {}}
    assert ws["devices"] == [
        {"customer_id": "u1", "device_id": "d1", "attributes": {"platform": "iOS", "push_id": "apns-2"}},
        {"customer_id": "u3", "device_id": "d3", "attributes": {}}]
    assert [(e["id"], e["action"]) for e in ws["events"]][0] == ("e1", "Logout")
    assert [e["action"] for e in ws["events"]] == ["Logout", "New"]
    assert len(ws["dropped"]) == 1
    # another vendor's untouched workspace is still there
    assert MOENGAGE_APP in {w["app_id"] for w in device_emulator.state("moengage")["workspaces"]}


def test_loaded_workspace_accepts_its_credentials(device_emulator, api):
    device_emulator.load({"moengage": FULL})
    resp = api.post("device", device_body(customer_id="u2", device_id="d2"), app_id="FIXTUREAPP",
                    user="FIXTUREAPP", password="fixture-key")
    assert resp.status_code == 200


def test_state_survives_a_restart(tmp_path):
    """A 200 means committed: the device is there after the process is stopped and started."""
    import requests
    from tests.moengage.moengage_client import DataApi
    from tests.support import ServerProcess

    db = str(tmp_path / "moengage.db")
    with ServerProcess("--db", db) as server:
        assert DataApi(server.url).post("device", device_body(device_id="durable")).status_code == 200
        server.kill()
    with ServerProcess("--db", db) as server:
        state = requests.get(server.url + "/_emulator/state?vendor=moengage", timeout=10).json()
        devices = state["moengage"]["workspaces"][0]["devices"]
        assert [d["device_id"] for d in devices] == ["durable"]
