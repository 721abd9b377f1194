"""/channel_self as Cap-go/capgo@4bc7d83f answers it
(supabase/functions/_backend/plugin_runtime/plugins/channel_self.ts: post, put, deleteOverride,
listCompatibleChannels). Plugins >= 5.34/6.34/7.34 and every 8.x keep their channel on the
device ("local storage" mode: the server only validates); older ones use a server-side override."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.capgo.capgo_helpers import APP, dev
from tests.capgo.test_capgo_plugin import device_of, err, info, link, schema, stats_of

OLD = "6.10.0"


def call(capgo, method: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None):
    return requests.request(method, f"{capgo.url}/channel_self", json=body, params=query, timeout=30)


def as_query(body: dict[str, Any]) -> dict[str, str]:
    """What listChannels sends: every info key as a query parameter, booleans as true/false."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in body.items()}


def self_settable(capgo, **flags) -> None:
    capgo.load_devices([], channels=[{"name": "beta", "public": False, "allow_device_self_set": True, **flags}])


def overrides(capgo) -> list[dict]:
    return capgo.app_state()["overrides"]


# -- POST (setChannel): post() ---------------------------------------------------------------------

def test_set_local_storage_plugin(capgo):
    self_settable(capgo)
    r = call(capgo, "POST", info(channel="beta"))
    assert (r.status_code, r.json()) == (200, {"status": "ok", "allowSet": True})
    assert overrides(capgo) == []  # the device keeps it; the server only validates
    assert stats_of(capgo) == [(dev(1), "setChannel", "1.0.0")]
    assert device_of(capgo)["platform"] == "android"


@pytest.mark.parametrize("plugin_version", [PLUGIN_NEW := "8.51.14", OLD])
@pytest.mark.parametrize("channel, answer", [
    ("nope", {"error": "channel_not_found", "message": "Cannot find channel", "channel": "nope", "app_id": APP}),
    ("production", {"error": "public_channel_self_set_not_allowed",
                    "message": "This channel is public and does not allow device self-assignment. Unset the channel "
                               "and the device will automatically use the public channel.",
                    "channel": "production", "app_id": APP}),
    ("beta", {"error": "channel_self_set_not_allowed",
              "message": "This channel does not allow devices to self associate", "channel": "beta", "app_id": APP}),
    ("", {"error": "missing_channel", "message": "Cannot find channel in body"}),
])
def test_set_refusals(capgo, plugin_version, channel, answer):
    before = capgo.state()
    r = call(capgo, "POST", info(channel=channel, plugin_version=plugin_version))
    assert (r.status_code, r.json()) == (200, answer)
    assert capgo.state() == before


def test_set_old_plugin_links_then_unlinks_by_choosing_the_public_channel(capgo):
    self_settable(capgo)
    assert call(capgo, "POST", info(channel="beta", plugin_version=OLD)).json() == {"status": "ok"}
    assert overrides(capgo) == [{"device_id": dev(1), "channel": "beta"}]
    assert call(capgo, "POST", info(channel="beta", plugin_version=OLD)).json() == {"status": "ok"}  # no stat
    capgo.load_devices([], channels=[{"name": "production", "public": True, "allow_device_self_set": True}])
    assert call(capgo, "POST", info(channel="production", plugin_version=OLD)).json() == {"status": "ok"}
    assert overrides(capgo) == []
    assert [s[1] for s in stats_of(capgo)] == ["setChannel", "setChannel"]


def test_set_old_plugin_cannot_leave_a_forced_channel(capgo):
    self_settable(capgo)
    link(capgo, dev(1), "production")  # set by the dashboard; production does not allow self-set
    before = capgo.state()
    r = call(capgo, "POST", info(channel="beta", plugin_version=OLD))
    assert r.json() == {"error": "cannot_override",
                        "message": "Cannot change device override current channel don't allow it"}
    assert capgo.state() == before


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_json_body_errors(capgo, method):
    before = capgo.state()
    r = call(capgo, method, info(platform="windows", version_build=...))
    # version_name "builtin" is replaced by the (missing) native version first
    assert (r.status_code, r.json()) == (400, schema(
        "invalid_json_body", ("version_name", "Version name is required"),
        ("version_build", "Version build is required"),
        ("platform", "Platform is not supported or invalid")))
    r = requests.request(method, f"{capgo.url}/channel_self", data=b"{", timeout=30)
    assert (r.status_code, r.json()) == (400, err("invalid_json_parse_body", "Invalid JSON body", {"e": {}}))
    r = call(capgo, method, info(app_id="com.unknown.app", channel="beta"))
    assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    assert capgo.state() == before


# -- PUT (getChannel): put() --------------------------------------------------------------------------

@pytest.mark.parametrize("fields, answer", [
    ({"channel": "beta"}, {"channel": "beta", "status": "override", "allowSet": True}),
    ({"defaultChannel": "qa"}, {"channel": "qa", "status": "default"}),
    ({}, {"channel": "production", "status": "default"}),
])
def test_get_local_storage_plugin_echoes(capgo, fields, answer):
    r = call(capgo, "PUT", info(**fields))
    assert (r.status_code, r.json()) == (200, answer)
    assert stats_of(capgo) == [(dev(1), "getChannel", "1.0.0")]


def test_get_old_plugin(capgo):
    capgo.load_devices([], channels=[{"name": "ios-only", "public": True, "android": False}])
    assert call(capgo, "PUT", info(plugin_version=OLD)).json() == {"channel": "production", "status": "default"}
    assert call(capgo, "PUT", info(plugin_version=OLD, defaultChannel="beta")).json() == \
        {"channel": "beta", "status": "default"}
    assert call(capgo, "PUT", info(plugin_version=OLD, defaultChannel="nope")).json() == \
        {"error": "channel_not_found", "message": "Cannot find channel"}
    link(capgo, dev(1), "beta")
    assert call(capgo, "PUT", info(plugin_version=OLD)).json() == \
        {"channel": "beta", "status": "override", "allowSet": False}
    capgo.load_devices([], channels=[{"name": "production", "public": True, "android": False}])
    assert call(capgo, "PUT", info(dev(2), plugin_version=OLD)).json() == \
        {"error": "channel_not_found", "message": "Cannot find channel"}


# -- DELETE (query string): deleteOverride() ------------------------------------------------------------

def test_unset(capgo):
    self_settable(capgo)
    r = call(capgo, "DELETE", query=as_query(info()))
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    link(capgo, dev(1), "beta")
    r = call(capgo, "DELETE", query=as_query(info(plugin_version=OLD)))
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert overrides(capgo) == []
    r = call(capgo, "DELETE", query=as_query(info(plugin_version=OLD)))
    assert r.json() == {"error": "cannot_override",
                        "message": "Cannot change device override current channel don't allow it"}


@pytest.mark.parametrize("method", ["DELETE", "GET"])
def test_query_errors(capgo, method):
    before = capgo.state()
    r = call(capgo, method)
    assert (r.status_code, r.json()) == (400, err("invalid_query_parameters", "Cannot parse body", {"body": {}}))
    r = call(capgo, method, query={"app_id": APP, "device_id": dev(1), "platform": "web", "is_prod": "1"})
    issues = [("platform", "Platform is not supported or invalid")]
    if method == "DELETE":
        issues = [("version_name", "Version name is required"), ("version_build", "Version build is required"),
                  *issues]
    assert (r.status_code, r.json()) == (400, schema("invalid_query_parameters", *issues))
    assert capgo.state() == before


# -- GET (listChannels): listCompatibleChannels() ----------------------------------------------------------

def test_list_compatible_channels(capgo):
    capgo.load_devices([], channels=[
        {"name": "beta", "public": False, "allow_device_self_set": True},
        {"name": "ios-beta", "public": False, "allow_device_self_set": True, "android": False},
        {"name": "dev-only", "public": False, "allow_device_self_set": True, "allow_prod": False},
        {"name": "emulators", "public": False, "allow_device_self_set": True, "allow_device": False}])
    r = call(capgo, "GET", query=as_query(info()))
    assert r.status_code == 200
    body = r.json()
    ids = {c["name"]: c["id"] for c in body}
    assert all(isinstance(i, int) for i in ids.values())
    assert body == [{"id": ids["production"], "name": "production", "public": True, "allow_self_set": False},
                    {"id": ids["beta"], "name": "beta", "public": False, "allow_self_set": True}]
    names = [c["name"] for c in call(capgo, "GET", query={"app_id": APP, "platform": "android", "is_prod": "false",
                                                          "is_emulator": "true"}).json()]
    assert names == ["production", "beta", "dev-only", "emulators"]
    assert call(capgo, "GET", query={"app_id": "com.unknown.app", "platform": "ios"}).status_code == 429
    assert device_of(capgo) is None and stats_of(capgo) == []


# -- rate limits (channelSelfRateLimit.ts), behind the rate_limit option -------------------------------------

def test_rate_limits_are_off_by_default_and_on_with_the_option(capgo):
    self_settable(capgo)
    for _ in range(3):
        assert call(capgo, "POST", info(channel="beta")).status_code == 200
    capgo.emulator.set_options({"capgo": {"rate_limit": True}})
    assert call(capgo, "POST", info(dev(2), channel="beta")).status_code == 200
    r = call(capgo, "POST", info(dev(2), channel="beta"))  # the same channel again within 60 s
    body = r.json()
    assert (r.status_code, body["error"], body["message"]) == (429, "too_many_requests", "Too many requests")
    assert body["moreInfo"] == {"app_id": APP, "device_id": dev(2), "rateLimitResetAt": body["moreInfo"]["rateLimitResetAt"],
                                "retryAfterSeconds": body["moreInfo"]["retryAfterSeconds"]}
    assert r.headers["Retry-After"] == str(body["moreInfo"]["retryAfterSeconds"])
    capgo.emulator.freeze_clock()  # the six calls fall in the same second
    statuses = [call(capgo, "PUT", info(dev(3))).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_ip_limit_per_app(capgo):
    """channelSelfRateLimit.ts: 1000 calls per minute per app and client IP, across devices."""
    capgo.emulator.set_options({"capgo": {"rate_limit": True}})
    with requests.Session() as s:
        statuses = {s.put(f"{capgo.url}/channel_self", json=info(f"00000000-0000-4000-8000-{n:012d}"),
                          timeout=30).status_code for n in range(1000)}
        assert statuses == {200}
        r = s.put(f"{capgo.url}/channel_self", json=info(dev(1)), timeout=30)
    body = r.json()
    assert (r.status_code, body["error"], body["moreInfo"]["reason"], body["moreInfo"]["app_id"]) == \
        (429, "too_many_requests", "ip_rate_limit_exceeded", APP)
    capgo.emulator.advance_clock(61)
    assert call(capgo, "PUT", info(dev(1))).status_code == 200


def test_invalid_plan(capgo):
    """assertChannelSelfAppOwnerPlanValid: 429 on_premise_app after recording needPlanUpgrade."""
    self_settable(capgo)
    capgo.emulator.load({"capgo": {"apps": [{"app_id": APP, "plan_valid": False}]}})
    for method in ("POST", "PUT"):
        r = call(capgo, method, info(channel="beta"))
        assert (r.status_code, r.json()) == (429, {"error": "on_premise_app", "message": "On-premise app detected"})
    assert stats_of(capgo) == [(dev(1), "needPlanUpgrade", "1.0.0")] * 2
