"""The device-side endpoints the capacitor-updater plugin calls: POST /updates, POST /stats, the
health GETs. Each test names the source function it follows in Cap-go/capgo@4bc7d83f
(``supabase/functions/_backend/plugin_runtime/``, "PR/" below).

Expectations changed from the earlier emulator because the source shows otherwise:
unknown apps answer 429 ``on_premise_app`` (PR/utils/appStatus.ts), schema failures say
``Cannot parse body`` with a ``parseResult`` (PR/utils/plugin_parser.ts), missing
``is_emulator``/``is_prod`` are defaulted, every /updates refusal carries ``kind``
(PR/utils/update.ts getUpdateResponseKind), channels default to ``disable_auto_update: major``,
a ``defaultChannel`` that is private and not self-assignable is not used (no fallback), and plugin
4.x is refused.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.capgo.capgo_helpers import APP, dev

DEFAULT_URL = "https://bundles.capgo.emulator.invalid/com.example.app/{}.zip"
PLUGIN = "8.51.14"


def info(device_id: str = dev(1), **fields: Any) -> dict[str, Any]:
    """The info object plugin 8.51.14 sends (CapgoUpdater.createInfoObject); ``...`` drops a key."""
    body = {"platform": "android", "device_id": device_id, "app_id": APP, "version_build": "1.0.0",
            "version_code": "1", "version_os": "14", "version_name": "builtin", "plugin_version": PLUGIN,
            "is_emulator": False, "is_prod": True, "install_source": "com.android.vending"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def bundle(name: str) -> dict[str, Any]:
    return {"version": name, "url": DEFAULT_URL.format(name), "session_key": "", "checksum": None}


def err(code: str, message: str, more_info: dict) -> dict:
    return {"error": code, "message": message, "moreInfo": more_info}


def schema(code: str, *issues: tuple[str, str]) -> dict:
    return err(code, "Cannot parse body", {"parseResult": {"success": False, "error": {
        "issues": [{"message": m, "path": [p] if p else [], "code": "custom"} for p, m in issues],
        "name": "SchemaError"}}})


def post(capgo, path: str, body: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{capgo.url}{path}", data=data, timeout=30)


def device_of(capgo, device_id: str = dev(1), app_id: str = APP) -> dict | None:
    return next((d for d in capgo.app_state(app_id)["devices"] if d["device_id"] == device_id), None)


def stats_of(capgo, app_id: str = APP) -> list[tuple[str, str, str | None]]:
    return [(s["device_id"], s["action"], s.get("version_name")) for s in capgo.app_state(app_id)["stats"]]


def channels(capgo, *rows: dict) -> None:
    capgo.load_devices([], channels=list(rows))


def link(capgo, device_id: str, channel: str) -> None:
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "overrides": [{"device_id": device_id,
                                                                         "channel": channel}]}]}})


# -- health: PR/plugins/updates.ts, PR/plugins/stats.ts app.get('/') --------------------------------

@pytest.mark.parametrize("path", ["/updates", "/stats"])
def test_health(capgo, path):
    r = requests.get(f"{capgo.url}{path}", timeout=30)
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


# -- request parsing: PR/utils/hono.ts parseBody, PR/utils/plugin_parser.ts parsePluginBody ---------

PARSE_ERRORS = [
    (b"{nope", err("invalid_json_parse_body", "Invalid JSON body", {"e": {}})),
    (b"{}", err("invalid_json_body", "Cannot parse body", {"body": {}})),
    (b"[]", err("invalid_json_body", "Cannot parse body", {"body": []})),
    (b"5", err("invalid_json_body", "Cannot parse body", {"body": 5})),
    (b"null", err("invalid_json_body", "Cannot parse body", {"body": None})),
    (b"[1]", err("missing_device_id", "Cannot find device_id", {"body": [1]})),
    ({"app_id": APP}, err("missing_device_id", "Cannot find device_id", {"body": {"app_id": APP}})),
    ({"device_id": dev(1), "app_id": ""},
     err("missing_app_id", "Cannot find app_id", {"body": {"device_id": dev(1), "app_id": ""}})),
    (info(version_build="abc"), err("semver_error", "Native version: abc doesn't follow semver convention, please "
                                    "check https://capgo.app/semver_tester/ to learn more about semver usage in "
                                    "Capgo", {"version_build": "abc"})),
    (info(version_build="1.02.3"), err("semver_error", "Native version: 1.02.3 doesn't follow semver convention, "
                                       "please check https://capgo.app/semver_tester/ to learn more about semver "
                                       "usage in Capgo", {"version_build": "1.02.3"})),
    (info(app_id="badappid"), schema("invalid_json_body", ("app_id", "App ID must be a reverse domain string"))),
    (info(device_id="not-a-uuid"), schema("invalid_json_body", ("device_id", "Device ID must be a valid UUID string"))),
    (info(device_id="0" * 37), schema("invalid_json_body", ("device_id", "String must contain at most 36 character(s)"))),
    (info(is_prod="yes", key_id="k" * 21, platform="windows"), schema(
        "invalid_json_body", ("is_prod", "is_prod must be a boolean"), ("platform", "Platform is not supported or invalid"),
        ("key_id", "String must contain at most 20 character(s)"))),
    (info(plugin_version=...), schema("invalid_json_body", ("plugin_version", "plugin_version is required"))),
    (info(plugin_version="six"), schema("invalid_json_body", ("plugin_version", "Plugin version is invalid"))),
    (info(version_name=""), schema("invalid_json_body", ("version_name", "Version name is required"))),
    (info(version_build=..., version_name="builtin"),
     schema("invalid_json_body", ("version_name", "Version name is required"),
            ("version_build", "Version build is required"))),
    (info(platform=...), schema("invalid_json_body", ("platform", "Platform is required"))),
    (info(install_source=7), schema("invalid_json_body", ("install_source", "install_source must be a string"))),
]


@pytest.mark.parametrize("body, error", PARSE_ERRORS)
def test_updates_parse_errors_record_nothing(capgo, body, error):
    before = capgo.state()
    r = post(capgo, "/updates", body)
    assert (r.status_code, r.json()) == (400, error)
    assert capgo.state() == before


def test_updates_defaults_and_normalisation(capgo):
    """parsePluginBody: ``is_emulator``/``is_prod`` default to false/true (plugins < 5), the native
    version is padded to semver (``v`` dropped), ``builtin`` becomes the native version, and
    ``custom_id``/``version_os`` are not checked on /updates (updateRequestSchema)."""
    r = post(capgo, "/updates", info(is_emulator=..., is_prod=None, version_build="v1", custom_id=5,
                                     device_id=dev(1).upper()))
    assert (r.status_code, r.json()) == (200, {"error": "no_new_version_available",
                                               "message": "No new version available", "kind": "up_to_date"})
    stored = device_of(capgo)
    assert (stored["version_build"], stored["version_name"], stored["is_emulator"], stored["is_prod"],
            stored["custom_id"]) == ("1.0.0", "1.0.0", False, True, "")


# -- POST /updates: PR/utils/update.ts updateWithPG ----------------------------------------------------

def test_unknown_app_is_on_premise_and_records_nothing(capgo):
    """appStatus.ts: an app the service does not host; 429 with no moreInfo and no kind."""
    before = capgo.state()
    r = post(capgo, "/updates", info(app_id="com.unknown.app"))
    assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    assert capgo.state() == before


def test_open_auth_creates_the_unknown_app(capgo):
    capgo.emulator.set_options({"auth": "open"})
    r = post(capgo, "/updates", info(app_id="com.new.app"))
    assert r.json() == {"error": "no_channel", "message": "no default channel or override", "kind": "failed"}
    assert [d["device_id"] for d in capgo.app_state("com.new.app")["devices"]] == [dev(1)]


def test_success_answer_device_and_stat(capgo):
    """resToVersion: version, url, session_key (always), checksum (always); the device row gets
    the bundle being served; stat ``get``."""
    capgo.load_devices([], versions=[{"name": "1.1.0", "url": "https://cdn.example/b.zip", "checksum": "abc",
                                      "session_key": "iv:key"}],
                       channels=[{"name": "production", "public": True, "version": "1.1.0"}])
    r = post(capgo, "/updates", info(version_name="1.0.0", custom_id=" me "))
    assert (r.status_code, r.json()) == (200, {"version": "1.1.0", "url": "https://cdn.example/b.zip",
                                               "session_key": "iv:key", "checksum": "abc"})
    stored = device_of(capgo)
    assert (stored["version_name"], stored["custom_id"], stored["install_source"], stored["plugin_version"]) == \
        ("1.1.0", "me", "com.android.vending", PLUGIN)
    assert stats_of(capgo) == [(dev(1), "get", "1.1.0")]


def test_no_channel(capgo):
    capgo.emulator.load({"capgo": {"apps": [{"app_id": "com.bare.app", "versions": ["1.0.0"],
                                             "channels": [{"name": "empty", "public": False}]}]}})
    r = post(capgo, "/updates", info(app_id="com.bare.app"))
    assert (r.status_code, r.json()) == (200, {"error": "no_channel", "message": "no default channel or override",
                                               "kind": "failed"})
    assert device_of(capgo, app_id="com.bare.app")["version_name"] == "1.0.0"
    assert stats_of(capgo, "com.bare.app") == [(dev(1), "NoChannelOrOverride", "1.0.0")]


def test_no_new_version(capgo):
    assert post(capgo, "/updates", info()).json() == \
        {"error": "no_new_version_available", "message": "No new version available", "kind": "up_to_date"}
    assert stats_of(capgo) == [(dev(1), "noNew", "1.0.0")]


def test_plugin_v4_is_refused(capgo):
    r = post(capgo, "/updates", info(plugin_version="4.13.0", version_name="0.9.0"))
    assert r.json() == {"error": "unsupported_plugin_version", "kind": "failed",
                        "message": "Plugin version 4.13.0 (v4) is no longer supported. Please upgrade to v5.10.0 or later."}
    assert stats_of(capgo) == [(dev(1), "backend_refusal", "0.9.0")]


@pytest.mark.parametrize("plugin_version, answer", [
    ("6.2.0", {"error": "already_on_builtin", "message": "Already on builtin", "version": "builtin",
               "kind": "up_to_date"}),
    ("5.40.0", {"error": "revert_to_builtin_plugin_version_too_old",
                "message": "revert_to_builtin used, but plugin version is too old", "kind": "failed"}),
])
def test_channel_without_bundle_means_builtin(capgo, plugin_version, answer):
    """requestInfosChannelPostgres: a channel with no version yields the bundle ``builtin``; no
    stat and no device write for these two."""
    channels(capgo, {"name": "production", "public": True, "version": None})
    assert post(capgo, "/updates", info(version_name="1.1.0", plugin_version=plugin_version)).json() == answer
    assert (device_of(capgo), stats_of(capgo)) == (None, [])


def test_default_channel_selection(capgo):
    """requestInfosChannelPostgres: ``defaultChannel`` must be enabled for the platform and public
    or self-assignable, with no fallback; otherwise the first public channel by name."""
    channels(capgo, {"name": "production", "public": True, "ios": False},
             {"name": "aaa-ios", "public": True, "android": False, "version": "1.2.0"},
             {"name": "zzz-ios", "public": True, "android": False, "version": "1.1.0"},
             {"name": "self", "public": False, "allow_device_self_set": True, "version": "1.1.0"})
    assert post(capgo, "/updates", info(dev(1), platform="ios", version_name="1.0.0")).json() == bundle("1.2.0")
    assert post(capgo, "/updates", info(dev(2), version_name="0.9.0")).json() == \
        bundle("1.0.0")
    assert post(capgo, "/updates", info(dev(3), defaultChannel="self")).json() == bundle("1.1.0")
    assert post(capgo, "/updates", info(dev(4), defaultChannel="beta")).json() == \
        {"error": "no_channel", "message": "no default channel or override", "kind": "failed"}


def test_override_beats_default_channel(capgo):
    link(capgo, dev(1), "beta")
    assert post(capgo, "/updates", info(defaultChannel="production", version_name="1.0.0")).json() == bundle("1.1.0")


REFUSALS = [  # (channel fields, request fields, answer, stat)
    ({"android": False}, {}, {"error": "disabled_platform_android", "message": "Cannot update, android is disabled",
                              "version": "1.1.0", "old": "1.0.0"}, "disablePlatformAndroid"),
    ({"ios": False}, {"platform": "ios"}, {"error": "disabled_platform_ios", "message": "Cannot update, ios it's disabled",
                                           "version": "1.1.0", "old": "1.0.0"}, "disablePlatformIos"),
    ({"electron": False}, {"platform": "electron"},
     {"error": "disabled_platform_electron", "message": "Cannot update, electron is disabled", "version": "1.1.0",
      "old": "1.0.0"}, "disablePlatformElectron"),
    ({"allow_prod": False}, {}, {"error": "disable_prod_build", "message": "Cannot update, prod build is disabled",
                                 "version": "1.1.0", "old": "1.0.0"}, "disableProdBuild"),
    ({"allow_dev": False}, {"is_prod": False}, {"error": "disable_dev_build",
                                                "message": "Cannot update, dev build is disabled",
                                                "version": "1.1.0", "old": "1.0.0"}, "disableDevBuild"),
    ({"allow_device": False}, {}, {"error": "disable_device", "message": "Cannot update, device is disabled",
                                   "version": "1.1.0", "old": "1.0.0"}, "disableDevice"),
    ({"allow_emulator": False}, {"is_emulator": True},
     {"error": "disable_emulator", "message": "Cannot update, emulator is disabled", "version": "1.1.0",
      "old": "1.0.0"}, "disableEmulator"),
    # prod is checked before dev (the earlier emulator had them the other way round)
    ({"allow_prod": False, "allow_device": False}, {},
     {"error": "disable_prod_build", "message": "Cannot update, prod build is disabled", "version": "1.1.0",
      "old": "1.0.0"}, "disableProdBuild"),
    ({"disable_auto_update": "minor"}, {},
     {"error": "disable_auto_update_to_minor", "message": "Cannot upgrade minor version", "major": True,
      "version": "1.1.0", "old": "1.0.0"}, "disableAutoUpdateToMinor"),
]


@pytest.mark.parametrize("flags, fields, answer, stat", REFUSALS)
def test_channel_refusals(capgo, flags, fields, answer, stat):
    """updateWithPG checks 5-17 on the device's linked channel; every refusal is HTTP 200 with
    ``kind: blocked``, writes the device and records the stat."""
    channels(capgo, {"name": "beta", "public": False, **flags})
    link(capgo, dev(1), "beta")
    r = post(capgo, "/updates", info(version_name="1.0.0", **fields))
    assert (r.status_code, r.json()) == (200, {**answer, "kind": "blocked"})
    assert stats_of(capgo) == [(dev(1), stat, "1.1.0")]
    assert device_of(capgo)["version_name"] == "1.0.0"


@pytest.mark.parametrize("policy, build, bundle_name, answer", [
    ("major", "1.0.0", "2.0.0", {"error": "disable_auto_update_to_major", "message": "Cannot upgrade major version",
                                 "major": True, "version": "2.0.0", "old": "1.0.0", "kind": "blocked"}),
    ("minor", "1.0.0", "1.1.0", {"error": "disable_auto_update_to_minor", "message": "Cannot upgrade minor version",
                                 "major": True, "version": "1.1.0", "old": "1.0.0", "kind": "blocked"}),
    ("patch", "1.1.0", "1.1.1", {"error": "disable_auto_update_to_patch", "message": "Cannot upgrade patch version",
                                 "major": True, "version": "1.1.1", "old": "1.1.0", "kind": "blocked"}),
    ("version_number", "1.0.0", "1.1.0", {"error": "misconfigured_channel",
                                          "message": "Channel production is misconfigured", "version": "1.1.0",
                                          "old": "1.0.0", "kind": "failed"}),
    ("none", "2.0.0", "1.1.0", {"error": "disable_auto_update_under_native",
                                "message": "Cannot revert under native version", "version": "1.1.0",
                                "old": "1.0.0", "kind": "blocked"}),
    ("none", "1.0.0", "2.0.0", None),
    ("major", "1.0.0", "1.9.9", None),
    ("minor", "1.1.0", "1.1.5", None),
])
def test_update_policies(capgo, policy, build, bundle_name, answer):
    """disable_auto_update (compared with the NATIVE version) and disable_auto_update_under_native."""
    capgo.load_devices([], versions=[bundle_name],
                       channels=[{"name": "production", "public": True, "disable_auto_update": policy,
                                  "version": bundle_name}])
    body = post(capgo, "/updates", info(version_build=build, version_name="1.0.0")).json()
    assert body == (answer or bundle(bundle_name))


def test_version_number_policy(capgo):
    """check 12b: the bundle's ``min_update_version`` against the native version."""
    capgo.load_devices([], versions=[{"name": "1.5.0", "min_update_version": "1.2.0"}],
                       channels=[{"name": "production", "public": True, "disable_auto_update": "version_number",
                                  "version": "1.5.0"}])
    assert post(capgo, "/updates", info(version_build="1.1.0", version_name="1.1.0")).json() == {
        "error": "disable_auto_update_to_metadata", "message": "Cannot upgrade version, min update version > current "
        "version", "major": True, "version": "1.5.0", "old": "1.1.0", "kind": "blocked"}
    assert post(capgo, "/updates", info(dev(2), version_build="1.2.0", version_name="1.2.0")).json() == \
        bundle("1.5.0")


def test_under_native_can_be_switched_off(capgo):
    channels(capgo, {"name": "production", "public": True, "disable_auto_update": "none",
                     "disable_auto_update_under_native": False})
    assert post(capgo, "/updates", info(version_build="2.0.0", version_name="2.0.0")).json() == bundle("1.0.0")


@pytest.mark.parametrize("plugin_version, answer", [
    ("8.41.0", {"error": "key_id_mismatch", "message": "Device encryption key does not match bundle encryption key. "
                "The device may have a different public key than the one used to encrypt this bundle.",
                "deviceKeyId": "devkey", "bundleKeyId": "bundlekey", "kind": "blocked"}),
    ("8.40.7", bundle("1.1.0")),
])
def test_key_id_mismatch(capgo, plugin_version, answer):
    capgo.load_devices([], versions=[{"name": "1.1.0", "key_id": "bundlekey"}],
                       channels=[{"name": "production", "public": True, "version": "1.1.0"}])
    assert post(capgo, "/updates", info(key_id="devkey", plugin_version=plugin_version,
                                        version_name="1.0.0")).json() == answer


def test_bundle_url_must_be_http(capgo):
    capgo.load_devices([], versions=[{"name": "1.1.0", "url": "ftp://x/b.zip"}],
                       channels=[{"name": "production", "public": True, "version": "1.1.0"}])
    assert post(capgo, "/updates", info(version_name="1.0.0")).json() == \
        {"error": "no_bundle_url", "message": "Cannot get bundle url", "kind": "failed"}
    assert stats_of(capgo) == [(dev(1), "cannotGetBundle", "1.1.0")]


def test_documented_version_pin_beats_the_channel(capgo):
    """The documented API's version pin (not in today's service) is served as the device's bundle."""
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "overrides": [{"device_id": dev(8), "channel": "beta",
                                                                         "version": "1.2.0"}]}]}})
    assert post(capgo, "/updates", info(dev(8), version_name="1.0.0")).json() == bundle("1.2.0")


# -- one app's life, as plugin 8.51.14 lives it ----------------------------------------------------------

def test_plugin_life_end_to_end(capgo):
    """First launch check-in, stats batch, channel list and self-assign, update offered, download
    stats, set, next launch. Each answer is read the way CapgoUpdater / CapacitorUpdaterPlugin
    read it (field names and JSON types)."""
    capgo.load_devices([], versions=[{"name": "1.1.0", "url": "https://cdn.example/1.1.0.zip", "checksum": "c0ffee"}],
                       channels=[{"name": "beta", "public": False, "allow_device_self_set": True}])
    device = "A1B2C3D4-0000-4000-8000-0000000000AA"  # the plugin's UUID; the server lower-cases it
    stored_id = device.lower()

    # 1. first launch: getLatest with the builtin bundle -> a refusal the plugin reads by ``kind``
    r = post(capgo, "/updates", info(device))
    latest = r.json()
    assert r.status_code == 200 and latest["kind"] == "up_to_date" and isinstance(latest["message"], str)
    assert latest["error"] == "no_new_version_available" and "version" not in latest

    # 2. the stats queue flushes as a JSON array; the plugin reads only the status code
    r = post(capgo, "/stats", [info(device, action="app_launch_start", old_version_name="", timestamp=1),
                               info(device, action="app_moved_to_foreground", old_version_name="", timestamp=2)])
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "results": [{"status": "ok", "index": 0}, {"status": "ok", "index": 1}]}

    # 3. listChannels: GET with the info object as query; ``id`` must be a number
    query = {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in info(device).items()}
    listed = requests.get(f"{capgo.url}/channel_self", params=query, timeout=30).json()
    assert [(type(c["id"]), c["name"], c["public"], c["allow_self_set"]) for c in listed] == \
        [(int, "production", True, False), (int, "beta", False, True)]

    # 4. setChannel: POST with ``channel``; the plugin keeps the channel and sends it as defaultChannel
    r = requests.post(f"{capgo.url}/channel_self", json=info(device, channel="beta"), timeout=30)
    assert (r.status_code, r.json()) == (200, {"status": "ok", "allowSet": True})
    r = requests.put(f"{capgo.url}/channel_self", json=info(device, defaultChannel="beta"), timeout=30)
    assert (r.status_code, r.json()) == (200, {"channel": "beta", "status": "default"})

    # 5. the update is offered: version, url, session_key and checksum as strings
    offer = post(capgo, "/updates", info(device, defaultChannel="beta")).json()
    assert offer == {"version": "1.1.0", "url": "https://cdn.example/1.1.0.zip", "session_key": "",
                     "checksum": "c0ffee"}
    assert all(isinstance(offer[k], str) for k in ("version", "url", "session_key", "checksum"))
    assert "error" not in offer and "kind" not in offer
    assert device_of(capgo, stored_id)["version_name"] == "1.1.0"  # the device row names the bundle served

    # 6. download progress and completion, then 7. the bundle is set
    downloads = [info(device, defaultChannel="beta", version_name="1.1.0", action=f"download_{n}",
                      old_version_name="", timestamp=n) for n in (10, 50, 90)]
    downloads.append(info(device, defaultChannel="beta", version_name="1.1.0", action="download_complete",
                          old_version_name="", timestamp=100))
    assert post(capgo, "/stats", downloads).json()["results"] == [{"status": "ok", "index": i} for i in range(4)]
    r = post(capgo, "/stats", [info(device, defaultChannel="beta", version_name="1.1.0", action="set",
                                    old_version_name="builtin", timestamp=101)])
    assert r.json() == {"status": "ok", "results": [{"status": "ok", "index": 0}]}

    # 8. next launch: the plugin reports the new bundle and is up to date
    latest = post(capgo, "/updates", info(device, defaultChannel="beta", version_name="1.1.0")).json()
    assert (latest["kind"], latest["error"]) == ("up_to_date", "no_new_version_available")

    assert stats_of(capgo) == [
        (stored_id, "noNew", "1.0.0"), (stored_id, "app_launch_start", "1.0.0"),
        (stored_id, "app_moved_to_foreground", "1.0.0"), (stored_id, "setChannel", "1.0.0"),
        (stored_id, "getChannel", "1.0.0"), (stored_id, "get", "1.1.0"), (stored_id, "download_10", "1.1.0"),
        (stored_id, "download_50", "1.1.0"), (stored_id, "download_90", "1.1.0"),
        (stored_id, "download_complete", "1.1.0"), (stored_id, "set", "1.1.0"), (stored_id, "noNew", "1.1.0")]
    stored = device_of(capgo, stored_id)
    assert (stored["version_name"], stored["default_channel"], stored["plugin_version"]) == ("1.1.0", "beta", PLUGIN)


def test_invalid_plan(capgo):
    """updateWithPG: an app whose plan is not valid answers like an unknown app (429, no kind), but
    records ``needPlanUpgrade`` and the device first."""
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "plan_valid": False}]}})
    r = post(capgo, "/updates", info())
    assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    assert stats_of(capgo) == [(dev(1), "needPlanUpgrade", "1.0.0")]
    assert device_of(capgo)["plugin_version"] == PLUGIN


def test_custom_id_refused_by_the_app(capgo):
    """makeDevice(body, allow_device_custom_id=false): the custom id is not stored."""
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "allow_device_custom_id": False}]}})
    post(capgo, "/updates", info(custom_id="me"))
    assert device_of(capgo)["custom_id"] == ""
