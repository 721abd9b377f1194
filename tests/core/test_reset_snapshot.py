"""Reset restores a snapshot of what the start-up fixtures produce (emulator/storage.py, "reset by snapshot"):
the state after every reset is exactly the freshly loaded one, whatever was changed, cascaded
or reset per vendor; a fixture load that depends on the clock keeps being loaded each time."""
from __future__ import annotations

import json

import pytest
import requests

from emulator.config import Config
from emulator.fixtures import DEFAULT_FIXTURES
from emulator.pytest_plugin import DeviceEmulator
from emulator.server import BackgroundServer

BEAMS_INSTANCE = "8f2b6d1c-3e4a-4b5c-9d6e-7f8091a2b3c4"
JPUSH_APP = "emu0jpush0appkey00000001"


@pytest.fixture
def served(tmp_path):
    def start(fixtures, db=None):
        server = BackgroundServer(Config(host="127.0.0.1", port=0, db=db or str(tmp_path / "snap.db"),
                                         fixtures=[str(f) for f in fixtures], log_level="warning")).start()
        started.append(server)
        return server, DeviceEmulator(server.url)
    started: list[BackgroundServer] = []
    yield start
    for server in started:
        server.stop()


def _changes() -> dict:
    """A merge touching four vendors, parents and children."""
    return {
        "beams": {"instances": [{"instance_id": BEAMS_INSTANCE, "secret_key": "A" * 64,
                                 "devices": [{"id": "web-1", "platform": "web", "token": "tok", "interests": ["a", "b"]}]}]},
        "jpush": {"apps": [{"app_key": JPUSH_APP, "master_secret": "emu0jpush0master00secret",
                            "devices": [{"registration_id": "snapshot0001", "platform": "android",
                                         "tags": ["t1"], "alias": "al"}]}]},
        "capgo": {"apps": [{"app_id": "com.example.other", "versions": ["2.0.0"]}]},
        "moengage": {"workspaces": [{"app_id": "EMULATORWORKSPACE0000001", "api_key": "other-key",
                                     "customers": [{"customer_id": "c2"}]}]},
    }


@pytest.mark.parametrize("db", [None, ":memory:"], ids=["file", "memory"])
def test_reset_restores_exactly_the_loaded_state_by_snapshot(served, db):
    server, emu = served([DEFAULT_FIXTURES], db)
    fresh = emu.state()
    emu.reset()  # the first full reset loads the fixtures and keeps the snapshot
    assert server.context.reset_snapshot.usable is True
    assert emu.state() == fresh
    emu.load(_changes())
    changed = emu.state()
    assert changed != fresh
    assert changed["jpush"]["apps"][0]["devices"][-1]["registration_id"] == "snapshot0001"
    emu.reset()
    assert emu.state() == fresh
    # a reset with nothing changed is still exact
    emu.reset()
    assert emu.state() == fresh


def test_a_cascading_delete_is_restored_too(served):
    server, emu = served([DEFAULT_FIXTURES])
    fresh = emu.state()
    emu.reset()
    # replacing the state with only JPush deletes every parent row: the children cascade
    emu.replace_state({"jpush": {"apps": []}})
    assert emu.state()["beams"] == {"instances": []}
    emu.reset()
    assert emu.state() == fresh
    status = requests.get(f"{server.url}/v3/devices/1507bfd3f7c466c355c", timeout=10,
                          auth=(JPUSH_APP, "emu0jpush0master00secret")).status_code
    assert status == 200


def test_a_changed_parent_is_restored_with_its_untouched_children(served):
    """Only a JPush app row changes (its devices reference it without ON DELETE CASCADE): the
    restore empties the devices before the app and refills them after it, so each statement keeps
    the foreign keys and none are deferred (no vendor's tables need it)."""
    server, emu = served([DEFAULT_FIXTURES])
    fresh = emu.state()
    emu.reset()
    assert server.context.reset_snapshot.needs_deferral is False
    device = f"{server.url}/v3/devices/1507bfd3f7c466c355c"
    assert requests.get(device, timeout=10, auth=(JPUSH_APP, "emu0jpush0master00secret")).status_code == 200
    emu.load({"jpush": {"apps": [{"app_key": JPUSH_APP, "master_secret": "0" * 24}]}})
    changed = emu.state()
    assert changed["jpush"]["apps"][0]["master_secret"] == "0" * 24
    assert changed["jpush"]["apps"][0]["devices"] == fresh["jpush"]["apps"][0]["devices"]
    # the credentials the vendor remembered between writes are not used after this one
    refused = requests.get(device, timeout=10, auth=(JPUSH_APP, "emu0jpush0master00secret"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, 7004)
    assert requests.get(device, timeout=10, auth=(JPUSH_APP, "0" * 24)).status_code == 200
    emu.reset()
    assert emu.state() == fresh
    assert requests.get(device, timeout=10, auth=(JPUSH_APP, "emu0jpush0master00secret")).status_code == 200
    assert requests.get(device, timeout=10, auth=(JPUSH_APP, "0" * 24)).status_code == 401


def test_reset_of_one_vendor_restores_only_that_vendor(served):
    server, emu = served([DEFAULT_FIXTURES])
    fresh = emu.state()
    emu.reset()
    emu.load(_changes())
    changed = emu.state()
    emu.reset(vendor="beams")
    after = emu.state()
    assert after["beams"] == fresh["beams"]
    for vendor in ("jpush", "capgo", "moengage"):
        assert after[vendor] == changed[vendor]
    emu.reset()
    assert emu.state() == fresh


def test_a_clock_stamped_fixture_is_loaded_again_at_every_reset(served, tmp_path):
    doc = json.loads(DEFAULT_FIXTURES.read_text())
    doc["capgo"]["apps"][0]["devices"] = [{"device_id": "stamped-1", "platform": "ios", "version_name": "1.0.0"}]
    path = tmp_path / "stamped.json"
    path.write_text(json.dumps(doc))
    server, emu = served([path])
    emu.reset()
    assert server.context.reset_snapshot.usable is False
    first = emu.state()["capgo"]["apps"][0]["devices"][0]["created_at"]
    emu.advance_clock(86400 * 365)
    emu.load({"capgo": {"apps": [{"app_id": doc["capgo"]["apps"][0]["app_id"], "devices": [
        {"device_id": "stamped-2", "platform": "ios", "version_name": "1.0.0"}]}]}})
    emu.reset()  # the clock is restored first, then the fixtures load again with its time
    devices = emu.state()["capgo"]["apps"][0]["devices"]
    assert [d["device_id"] for d in devices] == ["stamped-1"]
    assert devices[0]["created_at"][:10] == first[:10]  # stamped anew, a year before the advanced clock
