"""Capgo's fixture part, hostile input, concurrency, open auth and injected faults."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from emulator.pytest_plugin import EmulatorError
from tests.capgo.capgo_helpers import APP, KEY_ALL, OTHER_APP, dev, device_doc
from tests.credentials import CAPGO_KEYS

# -- fixtures -----------------------------------------------------------------------------------

def test_default_fixture_export(capgo):
    capgo.emulator.reset()
    assert capgo.state() == {
        # keys carry the numeric id that x-limited-key-id names, and their owner
        "api_keys": [{"key": CAPGO_KEYS[m], "mode": m, "id": i, "user": "default"}
                     for i, m in enumerate(("all", "write", "read", "upload"), start=1)],
        "apps": [{
            "app_id": APP, "plan_valid": True, "allow_device_custom_id": True,
            "versions": [{"name": "1.0.0", "id": 1}, {"name": "1.1.0", "id": 2}, {"name": "1.2.0", "id": 3}],
            "channels": [
                # omitted fields take the real channels table's defaults
                # (Cap-go/capgo@4bc7d83f supabase/migrations/20260708000000_prod_baseline.sql)
                {"name": "production", "public": True, "ios": True, "android": True, "electron": True,
                 "allow_device_self_set": False, "allow_emulator": True, "allow_device": True, "allow_dev": True,
                 "allow_prod": True, "disable_auto_update_under_native": True, "disable_auto_update": "major",
                 "version": "1.0.0"},
                {"name": "beta", "public": False, "ios": True, "android": True, "electron": True,
                 "allow_device_self_set": False, "allow_emulator": True, "allow_device": True, "allow_dev": True,
                 "allow_prod": True, "disable_auto_update_under_native": True, "disable_auto_update": "major",
                 "version": "1.1.0"},
            ],
            "devices": [], "overrides": [], "stats": [],
        }],
    }


def test_export_round_trips_through_put(capgo):
    capgo.load_devices([device_doc(1, custom_id="c"), device_doc(2)],
                       versions=[{"name": "3.0.0", "id": 77, "url": "https://x/y.zip"}],
                       overrides=[{"device_id": dev(1), "channel": "beta", "version": "3.0.0"},
                                  {"device_id": dev(3), "channel": "beta"}])
    capgo.load_devices([], versions=[{"name": "3.1.0", "min_update_version": "2.0.0", "key_id": "k1"}],
                       channels=[{"name": "rc", "public": False, "allow_device": False, "disable_auto_update": "patch",
                                  "disable_auto_update_under_native": False, "version": "3.1.0"}])
    capgo.emulator.load({"capgo": {"api_keys": [{"key": "sub", "mode": "read", "app_ids": [APP], "id": 40,
                                                 "user": "u2"}]}})
    requests.post(f"{capgo.url}/stats", json={"app_id": APP, "device_id": dev(1), "platform": "ios",
                                              "version_name": "1.0.0", "version_os": "17", "action": "set",
                                              "metadata": {"k": "v"}}, timeout=30)
    before = capgo.emulator.state()
    assert before["capgo"]["apps"][0]["stats"][0]["metadata"] == {"k": "v"}
    capgo.emulator.replace_state(before)
    assert capgo.emulator.state() == before
    capgo.emulator.load(before)  # loading the same stats again adds nothing
    assert capgo.emulator.state() == before
    assert capgo.get({"app_id": APP, "device_id": dev(1)}).json()["version_override"] == "3.0.0"


def test_fixture_timestamps_are_normalised_to_utc_milliseconds(capgo):
    capgo.load_devices([device_doc(1, created_at="2026-03-01 05:00:00+02:00", updated_at="2026-03-01T03:00:00.5Z")])
    device = capgo.app_state()["devices"][0]
    assert (device["created_at"], device["updated_at"]) == ("2026-03-01T03:00:00.000Z", "2026-03-01T03:00:00.500Z")


def test_version_ids_from_the_fixture_are_served(capgo):
    capgo.load_devices([device_doc(1, version_name="3.0.0")], versions=[{"name": "3.0.0", "id": 77}])
    assert capgo.get({"app_id": APP, "device_id": dev(1)}).json()["version"] == {"id": 77, "name": "3.0.0"}
    capgo.live()
    assert capgo.get({"app_id": APP, "device_id": dev(1)}).json()["version"] == 77


def test_merge_updates_field_by_field_and_removes_nothing(capgo):
    capgo.load_devices([device_doc(1, custom_id="a", os_version="13")],
                       overrides=[{"device_id": dev(1), "channel": "beta", "version": "1.2.0"}])
    capgo.load_devices([{"device_id": dev(1), "os_version": "14"}], overrides=[{"device_id": dev(1), "version": None}],
                       channels=[{"name": "beta", "public": False, "ios": False}])
    app = capgo.app_state()
    device = app["devices"][0]
    assert (device["custom_id"], device["os_version"]) == ("a", "14")
    assert app["overrides"] == [{"device_id": dev(1), "channel": "beta"}]
    beta = next(c for c in app["channels"] if c["name"] == "beta")
    assert (beta["ios"], beta["android"], beta["version"]) == (False, True, "1.1.0")
    assert [k["key"] for k in capgo.state()["api_keys"]][:4] == [CAPGO_KEYS[m] for m in
                                                                  ("all", "write", "read", "upload")]


@pytest.mark.parametrize("part, path", [
    ({"api_keys": [{"key": "k", "mode": "admin"}]}, "$.capgo.api_keys[0].mode"),
    ({"api_keys": [{"key": "k", "mode": "all", "app_ids": "x"}]}, "$.capgo.api_keys[0].app_ids"),
    ({"api_keys": [{"key": "k", "mode": "all"}, {"key": "k", "mode": "read"}]}, "$.capgo.api_keys[1].key"),
    ({"apps": [{"app_id": APP, "versions": [1]}]}, "$.capgo.apps[0].versions[0]"),
    ({"apps": [{"app_id": APP, "versions": [{"name": "1", "id": 0}]}]}, "$.capgo.apps[0].versions[0].id"),
    ({"apps": [{"app_id": APP, "versions": ["1", "1"]}]}, "$.capgo.apps[0].versions[1]"),
    ({"apps": [{"app_id": APP, "channels": [{"name": "c"}]}]}, "$.capgo.apps[0].channels[0].public"),
    ({"apps": [{"app_id": APP, "channels": [{"name": "c", "public": True, "disable_auto_update": "always"}]}]},
     "$.capgo.apps[0].channels[0].disable_auto_update"),
    ({"apps": [{"app_id": APP, "channels": [{"name": "c", "public": True, "allow_device": 1}]}]},
     "$.capgo.apps[0].channels[0].allow_device"),
    ({"api_keys": [{"key": "a", "mode": "all", "id": 9}, {"key": "b", "mode": "all", "id": 9}]},
     "$.capgo.api_keys[1].id"),
    ({"api_keys": [{"key": "a", "mode": "all", "id": 0}]}, "$.capgo.api_keys[0].id"),
    ({"apps": [{"app_id": APP, "plan_valid": "no"}]}, "$.capgo.apps[0].plan_valid"),
    ({"apps": [{"app_id": APP, "stats": [{"device_id": "d", "action": "set"}]}]}, "$.capgo.apps[0].stats[0].created_at"),
    ({"apps": [{"app_id": APP, "stats": [{"device_id": "d", "action": "set", "created_at": "2026-01-01T00:00:00Z",
                                          "metadata": {"k": 1}}]}]}, "$.capgo.apps[0].stats[0].metadata.k"),
    ({"apps": [{"app_id": APP, "channels": [{"name": "c", "public": "yes"}]}]}, "$.capgo.apps[0].channels[0].public"),
    ({"apps": [{"app_id": APP, "channels": [{"name": "c", "public": True, "version": "9"}]}]},
     "$.capgo.apps[0].channels[0].version"),
    ({"apps": [{"app_id": APP, "devices": [{"device_id": "d", "platform": "windows"}]}]},
     "$.capgo.apps[0].devices[0].platform"),
    ({"apps": [{"app_id": APP, "devices": [{"device_id": "d", "updated_at": "yesterday"}]}]},
     "$.capgo.apps[0].devices[0].updated_at"),
    ({"apps": [{"app_id": APP, "devices": [{"device_id": "d", "created_at": "2024-02-31T00:00:00Z"}]}]},
     "$.capgo.apps[0].devices[0].created_at"),
    ({"apps": [{"app_id": APP, "devices": [{"device_id": "d", "custom_id": "x" * 37}]}]},
     "$.capgo.apps[0].devices[0].custom_id"),
    ({"apps": [{"app_id": APP, "devices": [{"device_id": "d"}, {"device_id": "d"}]}]},
     "$.capgo.apps[0].devices[1].device_id"),
    ({"apps": [{"app_id": APP, "devices": [{"device_id": "d", "colour": "red"}]}]},
     "$.capgo.apps[0].devices[0].colour"),
    ({"apps": [{"app_id": APP, "overrides": [{"device_id": "d", "channel": "nope"}]}]},
     "$.capgo.apps[0].overrides[0].channel"),
    ({"apps": [{"app_id": APP, "versions": [{"name": "9", "id": 5}]},
               {"app_id": OTHER_APP, "versions": [{"name": "9", "id": 5}]}]}, "$.capgo.apps[1].versions[0].id"),
    ({"apps": {}}, "$.capgo.apps"),
    ({"devices": []}, "$.capgo.devices"),
])
def test_bad_fixture_is_refused_with_its_path_and_changes_nothing(capgo, part, path):
    before = capgo.emulator.state()
    for call in (capgo.emulator.load, capgo.emulator.replace_state):
        with pytest.raises(EmulatorError) as info:
            call({"capgo": part})
        assert info.value.status == 400 and info.value.body["path"] == path
        assert capgo.emulator.state() == before


def test_merge_refuses_a_version_id_held_by_another_app(capgo):
    before = capgo.emulator.state()
    with pytest.raises(EmulatorError) as info:
        capgo.emulator.load({"capgo": {"apps": [{"app_id": OTHER_APP, "versions": [{"name": "9.0.0", "id": 1}]}]}})
    assert info.value.body == {"error": "version id 1 already belongs to com.example.app '1.0.0'",
                               "path": "$.capgo.apps[0].versions[0].id"}
    assert capgo.emulator.state() == before


# -- hostile input ------------------------------------------------------------------------------

HUGE = b'{"app_id": "' + b"a" * (1024 * 1024 + 10) + b'"}'
HOSTILE_BODIES = [
    b"\xff\xfe{not utf-8}",
    b'{"app_id": "com.example.app", "device_id": "\xc3\x28"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"app_id": {"$gt": ""}, "device_id": ["x"], "channel": {"a": 1}, "version_id": 7}',
    b'{"app_id": "com.example.app", "device_id": 12345, "channel": "beta"}',
    b'{"app_id": "com.example.app", "device_id": null, "channel": null}',
    b"null",
    b'"text"',
    b"1e999999",
    b'{"app_id": "com.example.app", "device_id": "' + "\u0000\u202e".encode() + b'", "channel": "beta"}',
    HUGE,
]


@pytest.mark.parametrize("profile", ["documented", "live"])
@pytest.mark.parametrize("method, path", [("POST", "/device"), ("DELETE", "/device"), ("GET", "/device"),
                                          ("POST", "/stats"), ("POST", "/updates")])
def test_hostile_bodies_get_capgo_errors_never_500(capgo, profile, method, path):
    capgo.emulator.set_options({"capgo": {"profile": profile}})
    before = capgo.state()
    for body in HOSTILE_BODIES:
        r = capgo.raw(method, path, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (body[:40], r.status_code, r.text)
        shape = r.json()
        assert isinstance(shape, dict), (body[:40], shape)
        if r.status_code >= 400:
            expected_keys = {"error", "status"} if profile == "documented" and path == "/device" else \
                {"error", "message", "moreInfo"}
            assert set(shape) == expected_keys, (body[:40], shape)
    assert capgo.state() == before


@pytest.mark.parametrize("profile, body", [
    ("documented", {"error": "Payload too large", "status": "KO"}),
    ("live", {"error": "payload_too_large", "message": "Payload too large", "moreInfo": {}}),
])
def test_huge_body_is_413_in_the_profile_shape(capgo, profile, body):
    capgo.emulator.set_options({"capgo": {"profile": profile}})
    r = capgo.raw("POST", "/device", data=HUGE)
    assert (r.status_code, r.json()) == (413, body)


@pytest.mark.parametrize("query", ["app_id=%FF%FE", "app_id=com.example.app&page=99999999999999999999",
                                   "app_id=com.example.app&limit=99999999999999999999",
                                   "app_id=com.example.app&cursor=%00|%00", "app_id=com.example.app&order[]=x",
                                   "app_id=com.example.app&app_id=other.app&device_id="])
@pytest.mark.parametrize("profile", ["documented", "live"])
def test_hostile_queries_never_500(capgo, profile, query):
    capgo.emulator.set_options({"capgo": {"profile": profile}})
    r = capgo.raw("GET", f"/device?{query}")
    assert r.status_code < 500
    assert set(r.json()) in ({"error", "status"}, {"error", "message", "moreInfo"}, {"data"}, {"data", "hasMore"})


# -- concurrency --------------------------------------------------------------------------------

def test_parallel_links_to_one_device_leave_exactly_one_override(capgo):
    capgo.load_devices([device_doc(1)], channels=[{"name": f"ch{i}", "public": False} for i in range(10)])
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(
            lambda i: capgo.post({"app_id": APP, "device_id": dev(1), "channel": f"ch{i % 10}"}).status_code,
            range(60)))
    assert results == [200] * 60
    overrides = capgo.app_state()["overrides"]
    assert len(overrides) == 1 and overrides[0]["channel"].startswith("ch")


def test_parallel_check_ins_lose_no_device(capgo):
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda n: capgo.stats(dev(n)).status_code, range(1, 81)))
        same = list(pool.map(lambda _: capgo.updates(dev(1)).status_code, range(20)))
    assert codes == [200] * 80 and same == [200] * 20
    assert sorted(d["device_id"] for d in capgo.app_state()["devices"]) == [dev(n) for n in range(1, 81)]


# -- open auth, faults, documentation -----------------------------------------------------------

@pytest.mark.parametrize("profile", ["documented", "live"])
def test_open_auth_creates_unknown_keys_with_every_right(capgo, profile):
    capgo.emulator.set_options({"auth": "open", "capgo": {"profile": profile}})
    capgo.load_devices([device_doc(1)])
    assert capgo.post({"app_id": APP, "device_id": dev(1), "channel": "beta"}, key="brand-new").status_code == 200
    assert {"key": "brand-new", "mode": "all"} in [{k: key[k] for k in ("key", "mode")} for key in capgo.state()["api_keys"]
                                                   if "app_ids" not in key]


@pytest.mark.parametrize("profile, body", [
    ("documented", {"error": "Service unavailable", "status": "KO"}),
    ("live", {"error": "service_unavailable", "message": "Service unavailable", "moreInfo": {}}),
])
def test_injected_fault_uses_the_profile_shape(capgo, profile, body):
    capgo.emulator.set_options({"capgo": {"profile": profile}})
    capgo.emulator.fault(vendor="capgo", path="/device", status=503, times=1)
    r = capgo.get({"app_id": APP})
    assert (r.status_code, r.json()) == (503, body)
    assert capgo.get({"app_id": APP}).status_code == 200


def test_routes_are_in_the_openapi_document(capgo):
    doc = requests.get(f"{capgo.url}/_emulator/openapi.json", timeout=30).json()
    assert {"get", "post", "delete"} <= set(doc["paths"]["/device"])
    assert "post" in doc["paths"]["/stats"] and "post" in doc["paths"]["/updates"]


def test_contract_string_versions_stay_valid(capgo):
    capgo.emulator.load({"capgo": {"apps": [{"app_id": "com.strings.app", "versions": ["1.0.0", "1.1.0"],
                                             "channels": [{"name": "production", "public": True},
                                                          {"name": "beta", "public": False}],
                                             "devices": [{"device_id": "d1", "platform": "ios",
                                                          "version_name": "1.0.0"}]}]}})
    got = capgo.get({"app_id": "com.strings.app", "device_id": "d1"}).json()
    assert got["version"]["name"] == "1.0.0" and isinstance(got["version"]["id"], int)
    assert json.dumps(capgo.app_state("com.strings.app")["versions"]).count('"name"') == 2


def test_check_ins_and_links_survive_a_restart(tmp_path):
    from tests.support import ServerProcess

    db = str(tmp_path / "capgo.db")
    body = {"app_id": APP, "device_id": dev(5), "platform": "ios", "version_name": "1.0.0", "version_build": "1.0",
            "is_emulator": False, "is_prod": True, "plugin_version": "6.0.0"}
    headers = {"authorization": KEY_ALL}
    with ServerProcess("--db", db) as first:
        assert first.post("/updates", json=body).json()["error"] == "no_new_version_available"
        assert first.post("/device", json={"app_id": APP, "device_id": dev(5), "channel": "beta"},
                          headers=headers).json() == {"status": "ok"}
        first.kill()
    with ServerProcess("--db", db) as second:
        got = second.get("/device", params={"app_id": APP, "device_id": dev(5)}, headers=headers).json()
        assert (got["device_id"], got["channel"], got["platform"]) == (dev(5), "beta", "ios")
        assert second.post("/updates", json=body).json()["version"] == "1.1.0"
