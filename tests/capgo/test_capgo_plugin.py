"""Device check-ins: POST /stats and POST /updates, and the overrides seen end to end."""
from __future__ import annotations

import json

import pytest
import requests

from tests.capgo.capgo_helpers import APP, check_in, dev

DEFAULT_URL = "https://bundles.capgo.emulator.invalid/com.example.app/{}.zip"


def bundle(name: str) -> dict:
    """What /updates answers a 6.x plugin for a bundle loaded without url/checksum/session_key."""
    return {"version": name, "url": DEFAULT_URL.format(name), "session_key": "", "checksum": None}


def err(code: str, message: str, more_info: dict) -> dict:
    return {"error": code, "message": message, "moreInfo": more_info}


def device_of(capgo, device_id: str) -> dict:
    return next(d for d in capgo.app_state()["devices"] if d["device_id"] == device_id)


# -- the flow the issue asks for, in both profiles -------------------------------------------------

@pytest.mark.parametrize("profile", ["documented", "live"])
def test_stats_then_link_then_updates_then_unlink(capgo, profile):
    capgo.emulator.set_options({"capgo": {"profile": profile}})
    device = dev(7)
    r = capgo.stats(device, version_name="builtin", version_build="0.9")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert capgo.updates(device, version_name="builtin", version_build="0.9").json() == bundle("1.0.0")
    assert capgo.post({"app_id": APP, "device_id": device, "channel": "beta"}).json() == {"status": "ok"}
    assert capgo.updates(device, version_name="1.0.0").json() == bundle("1.1.0")
    assert capgo.delete({"app_id": APP, "device_id": device}).json() == {"status": "ok"}
    assert capgo.updates(device, version_name="1.1.0").json() == bundle("1.0.0")


def test_documented_version_pin_beats_the_channel_link(capgo):
    device = dev(8)
    capgo.stats(device)
    assert capgo.post({"app_id": APP, "device_id": device, "channel": "beta", "version_id": "1.2.0"}).json() == \
        {"status": "ok"}
    assert capgo.updates(device).json() == bundle("1.2.0")
    capgo.delete({"app_id": APP, "device_id": device})
    assert capgo.updates(device, version_name="1.2.0").json() == bundle("1.0.0")


def test_device_reported_with_upper_case_id_is_stored_lower_case(capgo):
    upper = "ABCDEF00-0000-4000-8000-00000000000A"
    capgo.stats(upper)
    assert capgo.get({"app_id": APP, "device_id": upper.lower()}).status_code == 200
    capgo.post({"app_id": APP, "device_id": upper.lower(), "channel": "beta"})
    assert capgo.updates(upper).json() == bundle("1.1.0")


# -- /stats -------------------------------------------------------------------------------------

def test_stats_creates_the_device_record(capgo):
    capgo.stats(dev(1), custom_id="me", install_source="Play_Store", key_id="k1", defaultChannel="beta",
                version_os="14", plugin_version="6.1.0", version_build="2.3")
    stored = device_of(capgo, dev(1))
    now = stored["created_at"]
    assert stored == {
        "device_id": dev(1), "custom_id": "me", "version_name": "1.0.0", "platform": "android",
        "plugin_version": "6.1.0", "os_version": "14", "version_build": "2.3.0", "is_prod": True,
        "is_emulator": False, "install_source": "play_store", "key_id": "k1", "country_code": None,
        "default_channel": "beta", "created_at": now, "updated_at": now,
    }


def test_updated_at_moves_only_when_something_changed(capgo):
    capgo.stats(dev(1), custom_id="me")
    first = device_of(capgo, dev(1))
    capgo.emulator.advance_clock(60)
    capgo.stats(dev(1), custom_id="")  # same report; an empty custom_id keeps the stored one
    assert device_of(capgo, dev(1)) == first
    capgo.stats(dev(1), version_name="1.1.0")
    second = device_of(capgo, dev(1))
    assert second["version_name"] == "1.1.0" and second["custom_id"] == "me"
    assert second["updated_at"] > first["updated_at"] and second["created_at"] == first["created_at"]


def test_stats_for_an_unknown_app_records_nothing(capgo):
    before = capgo.state()
    r = capgo.stats(dev(1), app_id="com.unknown.app")
    assert (r.status_code, r.json()) == (200, {"error": "app_not_found", "message": "App not found"})
    assert capgo.state() == before


def test_open_auth_creates_unknown_apps_on_check_in(capgo):
    capgo.emulator.set_options({"auth": "open"})
    assert capgo.stats(dev(1), app_id="com.new.app").json() == {"status": "ok"}
    assert [d["device_id"] for d in capgo.app_state("com.new.app")["devices"]] == [dev(1)]
    assert capgo.updates(dev(1), app_id="com.new.app").json() == \
        {"error": "no_channel", "message": "no default channel or override"}


def _post(capgo, path: str, data: bytes) -> requests.Response:
    return requests.post(f"{capgo.url}{path}", data=data, timeout=30)


def _stats_body(**fields) -> dict:
    body = {**check_in(dev(1), version_os="14", action="ping"), **fields}
    return {k: v for k, v in body.items() if v is not ...}


STATS_ERRORS = [
    (b"{nope", err("invalid_json_parse_body", "Invalid JSON body", {"e": {}})),
    (b"[1]", err("invalid_json_body", "Cannot parse body", {"body": [1]})),
    (b"{}", err("invalid_json_body", "Cannot parse body", {"body": {}})),
    ({"app_id": APP}, err("missing_device_id", "Cannot find device_id", {"body": {"app_id": APP}})),
    ({"device_id": dev(1)}, err("missing_app_id", "Cannot find app_id", {"body": {"device_id": dev(1)}})),
    (_stats_body(version_build="abc"), err("semver_error", "Native version doesn't follow semver convention, "
                                           "please check https://capgo.app/semver_tester/ to learn more about "
                                           "semver usage in Capgo", {"version_build": "abc"})),
    (_stats_body(app_id="badappid"), err("invalid_json_body", "Invalid JSON body", {"issues": [
        {"path": "app_id", "message": "App ID must be a reverse domain string"}]})),
    (_stats_body(device_id="not-a-uuid"), err("invalid_json_body", "Invalid JSON body", {"issues": [
        {"path": "device_id", "message": "Device ID must be a valid UUID string"}]})),
    (_stats_body(is_prod="yes", custom_id="x" * 37), err("invalid_json_body", "Invalid JSON body", {"issues": [
        {"path": "is_prod", "message": "is_prod must be a boolean"},
        {"path": "custom_id", "message": "String must contain at most 36 character(s)"}]})),
    (_stats_body(version_os=...), err("invalid_json_body", "Invalid JSON body", {"issues": [
        {"path": "version_os", "message": "Version OS is required"}]})),
]


@pytest.mark.parametrize("body, error", STATS_ERRORS)
def test_stats_errors_record_nothing(capgo, body, error):
    before = capgo.state()
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = _post(capgo, "/stats", data)
    assert (r.status_code, r.json()) == (400, error)
    assert capgo.state() == before


def test_stats_rejects_an_unknown_action(capgo):
    r = _post(capgo, "/stats", json.dumps(_stats_body(action="dance")).encode())
    assert r.status_code == 400
    assert r.json()["moreInfo"]["issues"][0]["path"] == "action"


# -- /updates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, error", [
    ({"plugin_version": ...}, {"path": "plugin_version", "message": "Plugin version is required"}),
    ({"plugin_version": "six"}, {"path": "plugin_version", "message": "Plugin version is invalid"}),
    ({"platform": "windows"}, {"path": "platform", "message": "Platform is not supported or invalid"}),
    ({"version_name": ""}, {"path": "version_name", "message": "Version name is required"}),
    ({"is_emulator": ...}, {"path": "is_emulator", "message": "is_emulator must be a boolean"}),
])
def test_updates_validation(capgo, fields, error):
    before = capgo.state()
    r = requests.post(f"{capgo.url}/updates", json=check_in(dev(1), **fields), timeout=30)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_json_body", "message": "Invalid JSON body",
                                               "moreInfo": {"issues": [error]}})
    assert capgo.state() == before


def test_updates_on_the_current_bundle(capgo):
    r = capgo.updates(dev(1), version_name="1.0.0")
    assert (r.status_code, r.json()) == (200, {"error": "no_new_version_available",
                                               "message": "No new version available"})
    assert device_of(capgo, dev(1))["plugin_version"] == "6.0.0"


def test_updates_for_an_unknown_app(capgo):
    assert capgo.updates(dev(1), app_id="com.unknown.app").json() == \
        {"error": "app_not_found", "message": "App not found"}


def test_default_channel_must_allow_self_association(capgo):
    r = capgo.updates(dev(1), defaultChannel="beta")
    assert r.json() == {"error": "cannot_update_via_private_channel",
                        "message": "Cannot update via a private channel. Please ensure your defaultChannel has "
                                   "\"Allow devices to self associate\" set to true",
                        "version": "1.1.0", "old": "1.0.0"}
    capgo.load_devices([], channels=[{"name": "beta", "public": False, "allow_device_self_set": True}])
    assert capgo.updates(dev(1), defaultChannel="beta").json() == bundle("1.1.0")


def test_public_channel_is_chosen_by_platform(capgo):
    capgo.load_devices([], channels=[{"name": "production", "public": True, "ios": False},
                                     {"name": "ios-only", "public": True, "android": False, "version": "1.2.0"}])
    assert capgo.updates(dev(1), platform="ios").json() == bundle("1.2.0")
    assert capgo.updates(dev(2), platform="android", version_name="0.9.0").json() == bundle("1.0.0")


@pytest.mark.parametrize("channel_flags, fields, error, message", [
    ({"android": False}, {}, "disabled_platform_android", "Cannot update, android is disabled"),
    ({"ios": False}, {"platform": "ios"}, "disabled_platform_ios", "Cannot update, ios it's disabled"),
    ({"allow_emulator": False}, {"is_emulator": True}, "disable_emulator", "Cannot update, emulator is disabled"),
    ({"allow_dev": False}, {"is_prod": False}, "disable_dev_build", "Cannot update, dev build is disabled"),
    ({"allow_prod": False}, {}, "disable_prod_build", "Cannot update, prod build is disabled"),
])
def test_linked_channel_rules(capgo, channel_flags, fields, error, message):
    capgo.load_devices([], channels=[{"name": "beta", "public": False, **channel_flags}])
    capgo.stats(dev(1))
    capgo.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    assert capgo.updates(dev(1), **fields).json() == \
        {"error": error, "message": message, "version": "1.1.0", "old": "1.0.0"}


def test_no_channel_and_no_bundle(capgo):
    capgo.emulator.load({"capgo": {"apps": [{"app_id": "com.bare.app", "versions": ["1.0.0"],
                                             "channels": [{"name": "empty", "public": False}]}]}})
    assert capgo.updates(dev(1), app_id="com.bare.app").json() == \
        {"error": "no_channel", "message": "no default channel or override"}
    assert [d["device_id"] for d in capgo.app_state("com.bare.app")["devices"]] == [dev(1)]
    capgo.emulator.load({"capgo": {"apps": [{"app_id": "com.bare.app",
                                             "channels": [{"name": "empty", "public": True}]}]}})
    assert capgo.updates(dev(1), app_id="com.bare.app").json() == {"error": "no_bundle", "message": "Cannot get bundle"}


@pytest.mark.parametrize("plugin_version, keys", [
    ("4.0.0", ["version", "url"]),
    ("4.4.0", ["version", "url", "checksum"]),
    ("5.2.1", ["version", "url", "session_key", "checksum"]),
])
def test_answer_fields_follow_the_plugin_version(capgo, plugin_version, keys):
    capgo.load_devices([], versions=[{"name": "1.1.0", "url": "https://cdn.example/b.zip", "checksum": "abc",
                                      "session_key": "iv:key"}])
    full = {"version": "1.1.0", "url": "https://cdn.example/b.zip", "session_key": "iv:key", "checksum": "abc"}
    capgo.stats(dev(1))
    capgo.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    body = capgo.updates(dev(1), plugin_version=plugin_version).json()
    assert body == {k: full[k] for k in keys}
