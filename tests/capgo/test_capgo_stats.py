"""POST /stats as Cap-go/capgo@4bc7d83f answers it
(supabase/functions/_backend/plugin_runtime/plugins/stats.ts, "stats.ts" below): one event or a
JSON array of events (plugin 8.x always sends an array, CapgoUpdater flushStatsQueue)."""
from __future__ import annotations

import pytest

from tests.capgo.capgo_helpers import APP, dev
from tests.capgo.test_capgo_plugin import device_of, err, info, post, schema, stats_of

#: stats_actions.ts ALLOWED_STATS_ACTIONS in its own order (the order of the error message)
ACTIONS = (
    "ping, delete, reset, set, get, set_fail, update_fail, download_fail, windows_path_fail, canonical_path_fail, "
    "directory_path_fail, unzip_fail, low_mem_fail, download_0, download_10, download_20, download_30, download_40, "
    "download_50, download_60, download_70, download_80, download_90, download_complete, download_manifest_start, "
    "download_manifest_complete, download_zip_start, download_zip_complete, download_manifest_file_fail, "
    "download_manifest_checksum_fail, download_manifest_brotli_fail, finish_download_fail, manifest_path_fail, "
    "decrypt_fail, checksum_required, insufficient_disk_space, app_moved_to_foreground, app_moved_to_background, "
    "app_launch_start, app_launch_ready, app_launch_timeout, uninstall, needPlanUpgrade, missingBundle, noNew, "
    "disablePlatformIos, disablePlatformAndroid, disableAutoUpdateToMajor, cannotUpdateViaPrivateChannel, "
    "disableAutoUpdateToMinor, disableAutoUpdateToPatch, channelMisconfigured, disableAutoUpdateMetadata, "
    "disableAutoUpdateUnderNative, disableDevBuild, disableProdBuild, disableEmulator, disableDevice, "
    "cannotGetBundle, checksum_fail, NoChannelOrOverride, setChannel, getChannel, rateLimited, rate_limit_reached, "
    "disableAutoUpdate, keyMismatch, InvalidIp, blocked_by_server_url, backend_refusal, disablePlatformElectron, "
    "customIdBlocked, app_crash, app_crash_native, app_anr, app_killed_low_memory, "
    "app_killed_excessive_resource_usage, app_initialization_failure, app_memory_warning, webview_javascript_error, "
    "webview_unhandled_rejection, webview_resource_error, webview_security_policy_violation, "
    "webview_unclean_restart, webview_render_process_gone, webview_content_process_terminated, "
    "webview_dom_content_loaded, webview_page_loaded, set_next, os_version_changed, native_app_version_changed")


def event(device_id: str = dev(1), **fields) -> dict:
    """One queued event: the info object plus action, old_version_name, timestamp (plugin 8.51.14)."""
    return info(device_id, **{"action": "app_launch_start", "old_version_name": "", "timestamp": 1767225600000,
                              **fields})


def test_single_event_records_the_stat_and_the_device(capgo):
    r = post(capgo, "/stats", event(metadata={"reason": "cold"}))
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert capgo.app_state()["stats"] == [{"device_id": dev(1), "action": "app_launch_start", "version_name": "1.0.0",
                                           "metadata": {"reason": "cold"},
                                           "created_at": capgo.app_state()["stats"][0]["created_at"]}]
    stored = device_of(capgo)
    assert (stored["version_name"], stored["os_version"], stored["version_build"], stored["install_source"]) == \
        ("1.0.0", "14", "1.0.0", "com.android.vending")


def test_batch_answers_per_event(capgo):
    """stats.ts app.post: each event on its own; validation errors carry no moreInfo,
    ``version_not_found`` keeps its moreInfo."""
    batch = [event(dev(1)), event(dev(2), version_name="9.9.9"), event(device_id=...),
             event(dev(4), action="download_37"), event(dev(5), action="set", version_name="1.1.0",
                                                         old_version_name="1.0.0")]
    r = post(capgo, "/stats", batch)
    assert (r.status_code, r.json()) == (200, {"status": "ok", "results": [
        {"status": "ok", "index": 0},
        {"status": "error", "error": "version_not_found", "message": "Version not found", "index": 1,
         "moreInfo": {"app_id": APP, "version_name": "9.9.9"}},
        {"status": "error", "error": "missing_device_id", "message": "Cannot find device_id", "index": 2},
        {"status": "error", "error": "invalid_json_body", "message": "Cannot parse body", "index": 3},
        {"status": "ok", "index": 4},
    ]})
    # a ``set`` on a prod device also records the ``uninstall`` of the previous bundle
    assert stats_of(capgo) == [(dev(1), "app_launch_start", "1.0.0"), (dev(5), "uninstall", "1.0.0"),
                               (dev(5), "set", "1.1.0")]
    assert sorted(d["device_id"] for d in capgo.app_state()["devices"]) == [dev(1), dev(5)]


def test_empty_batch(capgo):
    r = post(capgo, "/stats", [])
    assert (r.status_code, r.json()) == (200, {"status": "ok", "results": []})


@pytest.mark.parametrize("body, status, answer", [
    ({}, 400, err("invalid_app_id", "App ID is required", {})),
    (None, 400, err("invalid_app_id", "App ID is required", {})),
    ([1], 400, err("invalid_app_id", "App ID is required", {})),
    ([{"app_id": 5}], 400, err("invalid_app_id", "App ID is required", {})),
    ({"app_id": "bad"}, 400, err("invalid_app_id", "App ID must be a reverse domain string", {})),
    ([{"app_id": APP}, {"device_id": dev(1)}], 200, {"error": "invalid_app_id", "message": "App ID is required"}),
    ([{"app_id": APP}, {"app_id": "bad"}], 200,
     {"error": "invalid_app_id", "message": "App ID must be a reverse domain string"}),
    ([{"app_id": APP}, {"app_id": "com.other.app"}], 200,
     {"error": "mixed_app_ids", "message": "All events in a batch must have the same app_id"}),
])
def test_app_id_checks_come_first(capgo, body, status, answer):
    before = capgo.state()
    r = post(capgo, "/stats", body)
    assert (r.status_code, r.json()) == (status, answer)
    assert capgo.state() == before


@pytest.mark.parametrize("body, answer", [
    (b"{nope", err("invalid_json_parse_body", "Invalid JSON body", {"e": {}})),
    ({"app_id": APP}, err("missing_device_id", "Cannot find device_id", {"body": {"app_id": APP}})),
    (event(action="dance"), schema("invalid_json_body", ("action", "action must be one of: " + ACTIONS))),
    (event(action=5), schema("invalid_json_body", ("action", "action must be a string"))),
    (event(version_os=..., platform="windows"), schema("invalid_json_body", ("version_os", "Version OS is required"))),
    (event(metadata=[]), schema("invalid_json_body", ("metadata", "metadata must be an object with string values"))),
    (event(metadata={f"k{i}": "v" for i in range(31)}),
     schema("invalid_json_body", ("metadata", "metadata must contain at most 30 fields"))),
    (event(metadata={"k" * 65: "v", "n": 1, "long": "x" * 2049}), schema(
        "invalid_json_body", ("metadata." + "k" * 65, "metadata keys must contain at most 64 characters"),
        ("metadata.n", "metadata values must be strings"),
        ("metadata.long", "metadata values must contain at most 2048 characters"))),
    (event(custom_id="x" * 37, channel=1, is_emulator="no"), schema(
        "invalid_json_body", ("is_emulator", "is_emulator must be a boolean"), ("channel", "channel must be a string"),
        ("custom_id", "String must contain at most 36 character(s)"))),
    # our choice: the real service throws a TypeError (500) for an event with no action
    (event(action=...), schema("invalid_json_body", ("action", "Action is required"))),
])
def test_single_event_errors_record_nothing(capgo, body, answer):
    before = capgo.state()
    r = post(capgo, "/stats", body)
    assert (r.status_code, r.json()) == (400, answer)
    assert capgo.state() == before


def test_unknown_app(capgo):
    """``post`` for an on-premise app: 429 for one event, an error per event in a batch."""
    before = capgo.state()
    r = post(capgo, "/stats", event(app_id="com.unknown.app"))
    assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    r = post(capgo, "/stats", [event(app_id="com.unknown.app"), event(app_id="com.unknown.app", device_id=...)])
    assert (r.status_code, r.json()) == (200, {"status": "ok", "results": [
        {"status": "error", "error": "on_premise_app", "message": "On-premise app detected", "index": 0},
        {"status": "error", "error": "missing_device_id", "message": "Cannot find device_id", "index": 1}]})
    assert capgo.state() == before


def test_version_not_found_single(capgo):
    r = post(capgo, "/stats", event(version_name="7.7.7:main.js"))
    assert (r.status_code, r.json()) == (200, {"error": "version_not_found", "message": "Version not found",
                                               "app_id": APP, "version_name": "7.7.7:main.js"})
    assert device_of(capgo) is None


def test_composite_and_internal_version_names(capgo):
    assert post(capgo, "/stats", event(version_name="1.1.0:main.js", action="download_manifest_file_fail")).json() == \
        {"status": "ok"}
    assert post(capgo, "/stats", event(dev(2), version_name="unknown")).json() == {"status": "ok"}
    assert stats_of(capgo) == [(dev(1), "download_manifest_file_fail", "1.1.0:main.js"),
                               (dev(2), "app_launch_start", "unknown")]


def test_failure_actions_do_not_touch_the_device(capgo):
    """sendStatsAndDevice(..., action.endsWith('_fail')): the failed bundle is not the running one."""
    post(capgo, "/stats", event(version_name="1.0.0"))
    first = device_of(capgo)
    capgo.emulator.advance_clock(60)
    assert post(capgo, "/stats", event(version_name="1.1.0", action="update_fail")).json() == {"status": "ok"}
    assert device_of(capgo) == first
    assert stats_of(capgo)[-1] == (dev(1), "update_fail", "1.1.0")


@pytest.mark.parametrize("plugin_version, recorded", [("7.16.0", False), ("6.14.25", True), ("7.17.0", True)])
def test_download_fail_from_old_plugins_is_ignored(capgo, plugin_version, recorded):
    """shouldRecordStatsAction: older plugins sent download_fail when there was nothing to download."""
    r = post(capgo, "/stats", event(action="download_fail", plugin_version=plugin_version, version_name="1.1.0"))
    assert r.json() == {"status": "ok"}
    assert stats_of(capgo) == ([(dev(1), "download_fail", "1.1.0")] if recorded else [])


def test_updated_at_moves_only_when_something_changed(capgo):
    post(capgo, "/stats", event(custom_id="me"))
    first = device_of(capgo)
    capgo.emulator.advance_clock(60)
    post(capgo, "/stats", event(custom_id="  "))  # an empty custom_id keeps the stored one
    assert device_of(capgo) == first
    post(capgo, "/stats", event(version_name="1.1.0"))
    second = device_of(capgo)
    assert (second["version_name"], second["custom_id"]) == ("1.1.0", "me")
    assert second["updated_at"] > first["updated_at"] and second["created_at"] == first["created_at"]


def test_batch_event_without_action(capgo):
    """Where the real post() throws a TypeError (``action.endsWith``), the batch item carries it."""
    r = post(capgo, "/stats", [event(action=...), event(dev(2))])
    assert r.json() == {"status": "ok", "results": [
        {"status": "error", "error": "processing_error",
         "message": "Cannot read properties of undefined (reading 'endsWith')", "index": 0},
        {"status": "ok", "index": 1}]}
    assert stats_of(capgo) == [(dev(2), "app_launch_start", "1.0.0")]


def test_invalid_plan_and_blocked_custom_id(capgo):
    """stats.ts post(): an invalid plan records needPlanUpgrade (and customIdBlocked) then answers 429;
    in a batch the whole answer is that 429."""
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "plan_valid": False, "allow_device_custom_id": False}]}})
    r = post(capgo, "/stats", event(custom_id="me"))
    assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    r = post(capgo, "/stats", [event(device_id=...), event(dev(2))])
    assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    assert stats_of(capgo) == [(dev(1), "needPlanUpgrade", "1.0.0"), (dev(1), "customIdBlocked", "1.0.0"),
                               (dev(2), "needPlanUpgrade", "1.0.0")]
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "plan_valid": True}]}})
    assert post(capgo, "/stats", event(dev(3), custom_id="me")).json() == {"status": "ok"}
    assert stats_of(capgo)[-2:] == [(dev(3), "customIdBlocked", "1.0.0"), (dev(3), "app_launch_start", "1.0.0")]
    assert device_of(capgo, dev(3))["custom_id"] == ""
