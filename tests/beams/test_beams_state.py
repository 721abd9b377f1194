"""Fixtures (validation with JSON paths, merge, export round-trip), restarts, open auth mode,
tenant isolation, hostile input and injected faults."""
from __future__ import annotations

import copy
import json
import random

import pytest
import requests

from emulator.pytest_plugin import EmulatorError
from tests.beams.beams_helpers import (INSTANCE, OTHER_INSTANCE, OTHER_SECRET, SECRET, UNKNOWN_INSTANCE, BeamsClient,
                                       assert_error, make_jwt, server_post)
from tests.support import ServerProcess

VAPID = "2uIodsYKmcIckjv0MuMEcbjUnl633aeQypJzGVZXFF4"
DEVICE = {"id": "fcm-fixture-1", "platform": "fcm", "token": "tok:1", "user_id": "zoe", "interests": ["b", "a"],
          "metadata": {"sdkVersion": "1.0"}}


def full_instance() -> dict:
    return {
        "instance_id": OTHER_INSTANCE, "secret_key": OTHER_SECRET, "vapid_private_key": VAPID,
        "devices": [DEVICE],
        "publishes": [{"publish_id": "pubid-1", "interests": ["a"], "request": {"interests": ["a"], "fcm": {}},
                       "device_ids": ["fcm-fixture-1"], "time": 1.5}],
        "events": [{"body": {"event": "open"}, "time": 2.0}],
        "deleted_users": [{"user_id": "gone", "device_ids": [], "time": 3.0}],
    }


def test_fixture_devices_are_served(beams):
    beams.emulator.load({"beams": {"instances": [full_instance()]}})
    other = beams.with_instance(OTHER_INSTANCE)
    assert other.request("GET", "/devices/fcm/fcm-fixture-1").json() == {
        "id": "fcm-fixture-1", "userId": "zoe", "metadata": {"sdkVersion": "1.0"}}
    assert other.request("GET", "/devices/fcm/fcm-fixture-1/interests").json()["interests"] == ["a", "b"]


def test_export_round_trips_through_put_state(beams):
    beams.emulator.load({"beams": {"instances": [full_instance()]}})
    device = beams.register("apns")
    beams.set_user("apns", device, make_jwt("amy"))
    for n in range(5):
        beams.register("fcm", token=f"round:trip:{n}")
    server_post(beams.emulator, "/publishes/users", {"users": ["amy"], "apns": {"aps": {}}})
    exported = beams.emulator.state()
    beams.emulator.replace_state(exported)
    assert beams.emulator.state() == exported
    # merging the same document again changes nothing
    beams.emulator.load({"beams": exported["beams"]})
    assert beams.emulator.state() == exported
    # the VAPID key survived
    key_a = beams.with_instance(OTHER_INSTANCE).request("GET", "/web-vapid-public-key").json()
    beams.emulator.replace_state(exported)
    assert beams.with_instance(OTHER_INSTANCE).request("GET", "/web-vapid-public-key").json() == key_a


def test_merge_updates_fields_and_adds_without_removing(beams):
    beams.emulator.load({"beams": {"instances": [full_instance()]}})
    beams.emulator.load({"beams": {"instances": [{
        "instance_id": OTHER_INSTANCE, "secret_key": "NEW-KEY",
        "devices": [{"id": "fcm-fixture-1", "platform": "fcm", "token": "tok:2"},
                    {"id": "web-new", "platform": "web", "token": "w"}],
        "events": [{"body": {"event": "open"}, "time": 2.0}, {"body": {"event": "delivery"}, "time": 4.0}]}]}})
    inst = next(i for i in beams.emulator.state("beams")["instances"] if i["instance_id"] == OTHER_INSTANCE)
    assert inst["secret_key"] == "NEW-KEY" and inst["vapid_private_key"] == VAPID
    first = inst["devices"][0]
    assert (first["token"], first["user_id"], first["interests"]) == ("tok:2", "zoe", ["a", "b"])
    assert [d["id"] for d in inst["devices"]] == ["fcm-fixture-1", "web-new"]
    assert len(inst["publishes"]) == 1 and len(inst["events"]) == 2


BAD_FIXTURES = [
    ({"instances": {}}, "$.beams.instances", "expected an array"),
    ({"instances": [{"secret_key": "k"}]}, "$.beams.instances[0].instance_id", "is required"),
    ({"instances": [{"instance_id": "nope", "secret_key": "k"}]}, "$.beams.instances[0].instance_id", "does not match"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": ""}]}, "$.beams.instances[0].secret_key", "does not match"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k", "vapid_private_key": "abc"}]},
     "$.beams.instances[0].vapid_private_key", "P-256"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k", "devices": [{**DEVICE, "platform": "huawei"}]}]},
     "$.beams.instances[0].devices[0].platform", "expected one of"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k", "devices": [{**DEVICE, "interests": ["bad name"]}]}]},
     "$.beams.instances[0].devices[0].interests[0]", "does not match"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k", "devices": [{**DEVICE, "user_id": "u" * 165}]}]},
     "$.beams.instances[0].devices[0].user_id", "longer than 164"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k", "devices": [{**DEVICE, "colour": "red"}]}]},
     "$.beams.instances[0].devices[0].colour", "unknown field"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k", "devices": [DEVICE, DEVICE]}]},
     "$.beams.instances[0].devices[1].id", "duplicate"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k",
                     "publishes": [{"publish_id": "p", "request": {}, "device_ids": [], "time": 1}]}]},
     "$.beams.instances[0].publishes[0]", "exactly one of"),
    ({"instances": [{"instance_id": INSTANCE, "secret_key": "k"}, {"instance_id": INSTANCE, "secret_key": "j"}]},
     "$.beams.instances[1].instance_id", "duplicate"),
]


@pytest.mark.parametrize("part,path,message", BAD_FIXTURES)
def test_bad_fixture_is_refused_with_its_path_and_changes_nothing(beams, part, path, message):
    before = beams.emulator.state()
    with pytest.raises(EmulatorError) as exc:
        beams.emulator.replace_state({"beams": part})
    assert exc.value.status == 400
    assert exc.value.body["path"] == path and message in exc.value.body["error"]
    with pytest.raises(EmulatorError):
        beams.emulator.load({"beams": part})
    assert beams.emulator.state() == before


def test_vapid_key_and_devices_survive_a_restart(tmp_path):
    db = str(tmp_path / "beams.db")
    with ServerProcess("--db", db) as first:
        client = BeamsClient(type("E", (), {"url": first.url})())
        key = client.request("GET", "/web-vapid-public-key").json()["vapidPublicKey"]
        device = client.register("web")
        first.terminate()
    with ServerProcess("--db", db) as second:
        client = BeamsClient(type("E", (), {"url": second.url})())
        assert client.request("GET", "/web-vapid-public-key").json()["vapidPublicKey"] == key
        assert client.request("GET", f"/devices/web/{device}").status_code == 200


def test_open_auth_mode_creates_unknown_instances(beams):
    beams.emulator.set_options({"auth": "open"})
    fresh = beams.with_instance(UNKNOWN_INSTANCE)
    device = fresh.register("fcm")
    assert fresh.request("GET", f"/devices/fcm/{device}").status_code == 200
    inst = fresh.state()
    assert len(inst["secret_key"]) == 64
    # publishing to an unknown instance claims it with the presented key
    other = "11111111-2222-4333-8444-555555555555"
    assert server_post(beams.emulator, "/publishes/interests", {"interests": ["a"], "fcm": {}}, secret="MY-KEY",
                       instance=other).status_code == 200
    assert beams.with_instance(other).state()["secret_key"] == "MY-KEY"
    # a known instance still checks its key
    assert server_post(beams.emulator, "/publishes/interests", {"interests": ["a"], "fcm": {}}, secret="other",
                       instance=other).status_code == 401
    # invalid ids are still refused
    assert_error(beams.with_instance("nope").request("GET", "/web-vapid-public-key"),
                 400, "Bad Request", "`instance-id` given is not valid.")


def test_instances_are_isolated(beams):
    other = beams.with_instance(OTHER_INSTANCE)
    mine = beams.register("fcm")
    assert_error(other.request("GET", f"/devices/fcm/{mine}"), 404, "Device not found", "Could not find the device.")
    assert_error(other.request("PUT", f"/devices/fcm/{mine}/interests", json={"interests": ["x"]}),
                 404, "Device not found", "Could not find the device.")
    # 404, not 400: a device unknown to the instance is "device gone" for the mobile SDKs
    # (see test_beams_interests.test_add_remove_errors)
    assert_error(other.request("POST", f"/devices/fcm/{mine}/interests/x"),
                 404, "Device not found", "Could not find the device.")
    assert other.request("DELETE", f"/devices/fcm/{mine}").status_code == 200
    assert_error(other.set_user("fcm", mine, make_jwt(secret=OTHER_SECRET, instance=OTHER_INSTANCE)),
                 404, "Device not found", "Could not find the device.")
    assert beams.device_state(mine) == {**beams.device_state(mine), "user_id": None, "interests": []}
    assert beams.request("GET", f"/devices/fcm/{mine}").status_code == 200
    # a user deletion on the other instance leaves this one alone
    beams.set_user("fcm", mine, make_jwt("same-user"))
    requests.delete(f"{beams.url}/customer_api/v1/instances/{OTHER_INSTANCE}/users/same-user",
                    headers={"Authorization": f"Bearer {OTHER_SECRET}"})
    assert beams.device_state(mine)["user_id"] == "same-user"


BAD_BODY = (400, "Bad request", "Failed to read body as a JSON object.")
#: refused the same way by every device route with a body
HOSTILE = [
    (b"", BAD_BODY),
    (b"   ", BAD_BODY),
    (b"null", BAD_BODY),
    (b"[]", BAD_BODY),
    (b'"token"', BAD_BODY),
    (b"12", BAD_BODY),
    (b"{", BAD_BODY),
    (b'{"token": "\xff\xfe"}', BAD_BODY),
    (b"[" * 20000 + b"]" * 20000, BAD_BODY),
    (b'{"token": "' + b"a" * (70 * 1024) + b'"}', (400, "Bad request", "Request body size is too large (max 64KiB).")),
]
#: wrong JSON types for the register body's fields
HOSTILE_REGISTER = [
    b'{"token": {"nested": true}}',
    b'{"token": ["a"]}',
    b'{"token": 1e400}',
    b'{"token": "a", "metadata": [1]}',
    b'{"token": "a", "bundleIdentifier": false}',
    b'{"token": "a", "metadata": {"androidVersion": {"x": 1}}}',
]


def _refused_without_change(beams, method, path, data, expected):
    before = beams.state()
    resp = beams.request(method, path, data=data, headers={"Content-Type": "application/json"})
    assert_error(resp, *expected)
    assert beams.state() == before


@pytest.mark.parametrize("route", ["/devices/fcm", "/devices/fcm/{id}/metadata", "/devices/fcm/{id}/token",
                                   "/devices/fcm/{id}/interests"])
@pytest.mark.parametrize("data,expected", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_bodies_get_beams_errors(beams, route, data, expected):
    device = beams.register("fcm")
    method = "POST" if route == "/devices/fcm" else "PUT"
    if route.endswith("/interests") and expected is not BAD_BODY:
        data = b'{"interests": ["' + b"a" * (1025 * 1024) + b'"]}'
        expected = (400, "Bad request", "Request body size is too large (max 1MiB).")
    _refused_without_change(beams, method, route.format(id=device), data, expected)


@pytest.mark.parametrize("data", HOSTILE_REGISTER)
def test_hostile_register_field_types(beams, data):
    _refused_without_change(beams, "POST", "/devices/fcm", data, BAD_BODY)


@pytest.mark.parametrize("path", ["/publishes/interests", "/publishes/users"])
@pytest.mark.parametrize("data", [b"", b"nul", b"\xff", b"[1]", b'{"interests": {"a": 1}', b"1e999999"])
def test_hostile_publish_bodies(beams, path, data):
    resp = server_post(beams.emulator, path, data=data, headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422)
    assert set(resp.json()) == {"error", "description"}
    assert beams.state()["publishes"] == []


def test_injected_faults_use_the_beams_error_shape(beams):
    beams.emulator.fault(vendor="beams", path="/device_api/v1/instances/*/devices/fcm", status=500, times=1)
    assert_error(beams.request("POST", "/devices/fcm", json={"token": "t"}), 500, "Something went wrong",
                 "Internal server error.")
    beams.emulator.fault(vendor="beams", path="/publish_api/*", status=429, times=1)
    assert_error(server_post(beams.emulator, "/publishes/interests", {}), 429, "Rate Limited",
                 "Too many requests being made in quick succession (max 100 RPS).")
    beams.emulator.fault(vendor="beams", path="/instances/*", status=503, times=1)
    assert_error(BeamsClient(beams.emulator, prefix="/instances").request("GET", "/web-vapid-public-key"),
                 503, "Something went wrong", "Service Unavailable.")


def test_state_keeps_per_instance_records_separate(beams):
    server_post(beams.emulator, "/publishes/interests", {"interests": ["a"], "fcm": {}})
    server_post(beams.emulator, "/publishes/interests", {"interests": ["b"], "fcm": {}}, secret=OTHER_SECRET,
                instance=OTHER_INSTANCE)
    doc = copy.deepcopy(beams.emulator.state("beams"))
    by_id = {i["instance_id"]: [p["interests"] for p in i["publishes"]] for i in doc["instances"]}
    assert by_id == {INSTANCE: [["a"]], OTHER_INSTANCE: [["b"]]}
    assert SECRET in {i["secret_key"] for i in doc["instances"]}


def _random_json(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 1.5, 1e308])
    if kind == 3:
        return rng.choice(["", "a", "bad name", "x" * 200, "\u0000", "é", "news"])
    if kind == 4:
        return rng.choice([[], {}])
    if kind == 5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["token", "bundleIdentifier", "metadata", "interests", "users", "fcm", "apns", "web", "event",
            "publishId", "deviceId", "timestampSecs", "sdkVersion", "knownPreviousClientIds"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def test_seeded_fuzz_never_yields_a_500(beams):
    """Random JSON and bytes at every body route, random queries at the list route: always a
    Beams answer below 500, errors always in the Beams shape."""
    rng = random.Random(4)
    device = beams.register("fcm")
    auth = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
    targets = [
        ("POST", beams.path("/devices/fcm"), {"Content-Type": "application/json"}),
        ("POST", beams.path("/devices/web"), {"Content-Type": "application/json"}),
        ("PUT", beams.path(f"/devices/fcm/{device}/metadata"), {"Content-Type": "application/json"}),
        ("PUT", beams.path(f"/devices/fcm/{device}/token"), {"Content-Type": "application/json"}),
        ("PUT", beams.path(f"/devices/fcm/{device}/interests"), {"Content-Type": "application/json"}),
        ("POST", f"{beams.url}/publish_api/v1/instances/{INSTANCE}/publishes/interests", auth),
        ("POST", f"{beams.url}/publish_api/v1/instances/{INSTANCE}/publishes/users", auth),
        ("POST", f"{beams.url}/reporting_api/v2/instances/{INSTANCE}/events", {"Content-Type": "application/json"}),
    ]
    for _ in range(40):
        for method, url, headers in targets:
            if rng.random() < 0.2:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
            else:
                data = json.dumps(_random_json(rng)).encode()
            resp = requests.request(method, url, data=data, headers=headers, timeout=30)
            assert resp.status_code < 500, (url, data, resp.content)
            if resp.status_code >= 400:
                assert set(resp.json()) == {"error", "description"}
        query = "&".join(f"{rng.choice(['limit', 'cursor', 'x'])}={rng.choice(['', '0', '7', 'zz', '%FF', '-3'])}"
                         for _ in range(rng.randrange(3)))
        resp = beams.request("GET", f"/devices/fcm/{device}/interests?{query}")
        assert resp.status_code in (200, 400), resp.content
