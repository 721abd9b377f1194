"""The live profile: today's api.capgo.app /device (notes §§1–4)."""
from __future__ import annotations

import orjson
import pytest
import requests

from tests.capgo.capgo_helpers import (APP, KEY_ALL, KEY_LIMITED, KEY_READ, KEY_UPLOAD, KEY_WRITE, OTHER_APP,
                                       dev, device_doc)

EMPTY_APP = "com.example.empty"
MIXED = "aBcDeF00-0000-4000-8000-000000000001"


def err(code: str, message: str, more_info: dict | None = None) -> dict:
    return {"error": code, "message": message, "moreInfo": more_info or {}}


LIMIT_MESSAGE = "limit must be a positive integer"
CANNOT_ACCESS_APP = err("cannot_access_app", "You can't access this app", {"app_id": APP})
CHANNEL_NOT_FOUND = err("channel_not_found", "Cannot find channel", {"dbError": {
    "code": "PGRST116", "details": "The result contains 0 rows", "hint": None,
    "message": "JSON object requested, multiple (or no) rows returned"}})


@pytest.fixture
def live(capgo):
    capgo.load_devices([
        device_doc(1, custom_id="custom-1", install_source="play_store", country_code="FR", key_id="ab12",
                   os_version="14", plugin_version="7.0.0", updated_at="2026-06-01T00:00:00Z"),
        device_doc(2, updated_at="2025-06-01T00:00:00Z"),
    ])
    capgo.emulator.load({"capgo": {"apps": [{"app_id": EMPTY_APP}]}})
    capgo.live()
    return capgo


def test_profile_switch_is_undone_by_reset(live):
    assert live.get({}).json()["error"] == "missing_app_id"
    live.emulator.reset()
    assert live.get({}).json() == {"error": "Missing app_id", "status": "KO"}


# -- GET ----------------------------------------------------------------------------------------

def test_get_one_device_in_the_live_key_order(live):
    r = live.get({"app_id": APP, "device_id": dev(1)})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["updated_at", "device_id", "custom_id", "is_prod", "is_emulator", "install_source",
                          "version_name", "version", "app_id", "platform", "plugin_version", "os_version",
                          "version_build", "key_id", "country_code"]
    assert body == {
        "updated_at": "2026-06-01T00:00:00.000Z", "device_id": dev(1), "custom_id": "custom-1",
        "is_prod": True, "is_emulator": False, "install_source": "play_store", "version_name": "1.0.0",
        "version": 1, "app_id": APP, "platform": "android", "plugin_version": "7.0.0", "os_version": "14",
        "version_build": "1.0.0", "key_id": "ab12", "country_code": "FR",
    }


def test_get_lower_cases_the_lookup_and_echoes_the_id_as_sent(live):
    live.load_devices([device_doc(0, device_id=MIXED.lower())])
    assert live.get({"app_id": APP, "device_id": MIXED}).json()["device_id"] == MIXED.lower()
    r = live.get({"app_id": APP, "device_id": "Invalid_Device"})
    assert (r.status_code, r.json()) == (404, err("device_not_found", "Cannot find device",
                                                  {"device_id": "Invalid_Device"}))


def test_get_list_rows_have_no_install_source_or_country(live):
    body = live.get({"app_id": APP}).json()
    assert body["hasMore"] is False and "nextCursor" not in body
    first = body["data"][0]
    assert (first["device_id"], first["install_source"], first["country_code"]) == (dev(1), None, None)


def test_empty_app_lists_nothing(live):
    assert live.get({"app_id": EMPTY_APP}).json() == {"data": [], "hasMore": False}


def test_channel_key_only_when_linked(live):
    assert "channel" not in live.get({"app_id": APP, "device_id": dev(1)}).json()
    live.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    assert live.get({"app_id": APP, "device_id": dev(1)}).json()["channel"] == "beta"
    assert live.get({"app_id": APP}).json()["data"][0]["channel"] == "beta"


def test_device_and_page_bytes_exact(live):
    """SQLite builds the device JSON (storage.LIVE_DEVICE_JSON): ``filterDeviceKeys`` order,
    ``channel`` last when linked, no ``install_source``/``country_code`` in list rows."""
    live.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    one = {"updated_at": "2026-06-01T00:00:00.000Z", "device_id": dev(1), "custom_id": "custom-1", "is_prod": True,
           "is_emulator": False, "install_source": "play_store", "version_name": "1.0.0", "version": 1,
           "app_id": APP, "platform": "android", "plugin_version": "7.0.0", "os_version": "14",
           "version_build": "1.0.0", "key_id": "ab12", "country_code": "FR", "channel": "beta"}
    assert live.get({"app_id": APP, "device_id": dev(1)}).content == orjson.dumps(one)
    listed = {**one, "install_source": None, "country_code": None}
    page = live.get({"app_id": APP, "limit": "1", "order": "desc"}).content
    assert page == orjson.dumps({"data": [listed], "nextCursor": f"2026-06-01T00:00:00.000Z|{dev(1)}",
                                 "hasMore": True})


def _walk(client, params: dict) -> list[dict]:
    """Follow nextCursor to the end; returns each page's body."""
    pages = []
    cursor = None
    while True:
        body = client.get({**params, **({"cursor": cursor} if cursor else {})}).json()
        pages.append(body)
        if not body["hasMore"]:
            assert "nextCursor" not in body
            return pages
        cursor = body["nextCursor"]


def test_cursor_pages_across_boundaries(live):
    live.load_devices([device_doc(n) for n in range(3, 123)])
    pages = _walk(live, {"app_id": APP})
    assert [len(p["data"]) for p in pages] == [50, 50, 22]
    assert [p["hasMore"] for p in pages] == [True, True, False]
    assert [d["device_id"] for p in pages for d in p["data"]] == [dev(n) for n in range(1, 123)]
    assert pages[0]["nextCursor"] == f"2026-01-01T00:00:00.000Z|{dev(50)}"
    small = _walk(live, {"app_id": APP, "limit": "7"})
    assert len(small) == 18 and [len(p["data"]) for p in small][-1] == 3


def test_page_is_ignored(live):
    assert live.get({"app_id": APP, "page": "1"}).json() == live.get({"app_id": APP}).json()


def test_order_by_time_with_device_id_tie_break(live):
    live.load_devices([device_doc(n, updated_at=f"2026-0{1 + n % 3}-01T00:00:00Z") for n in range(3, 110)])
    for order in ("asc", "desc"):
        rows = [d for p in _walk(live, {"app_id": APP, "order": order, "limit": "20"}) for d in p["data"]]
        keys = [(d["updated_at"], d["device_id"]) for d in rows]
        expected = sorted(keys, key=lambda k: k[1])
        expected.sort(key=lambda k: k[0], reverse=order == "desc")
        assert keys == expected and len(keys) == 109


def test_updated_at_keeps_later_devices(live):
    for cutoff in ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00Z", "2026-01-01 00:00:00"):
        body = live.get({"app_id": APP, "updated_at": cutoff}).json()
        assert [d["device_id"] for d in body["data"]] == [dev(1)]
    assert live.get({"app_id": APP, "updated_at": "2026-06-01T00:00:00.000Z"}).json()["data"] == []


def test_custom_id_mode_is_truthiness(live):
    for flag in ("true", "false", "1"):
        rows = live.get({"app_id": APP, "customIdMode": flag}).json()["data"]
        assert [d["device_id"] for d in rows] == [dev(1)]
    r = live.get({"app_id": APP, "device_id": dev(2), "customIdMode": "true"})
    assert (r.status_code, r.json()["error"]) == (404, "device_not_found")


def test_list_parameters_are_ignored_with_a_device_id(live):
    r = live.get({"app_id": APP, "device_id": dev(1), "limit": "1.5", "order": "sideways", "updated_at": "x"})
    assert (r.status_code, r.json()["device_id"]) == (200, dev(1))


def test_get_reads_a_json_body_instead_of_the_query(live):
    r = live.raw("GET", f"/device?app_id={OTHER_APP}", data=b'{"app_id": "com.example.app", "limit": 1}')
    assert [d["device_id"] for d in r.json()["data"]] == [dev(1)]


@pytest.mark.parametrize("params, status, body", [
    ({}, 400, err("missing_app_id", "Missing app_id", {"body": {}})),
    ({"device_id": dev(1)}, 400, err("missing_app_id", "Missing app_id", {"body": {"device_id": dev(1)}})),
    ({"app_id": "wrongformat"}, 400, err("invalid_app_id", "App ID must be a reverse domain string",
                                         {"app_id": "wrongformat"})),
    ({"app_id": "invalid_app", "device_id": dev(1)}, 400,
     err("invalid_app_id", "App ID must be a reverse domain string", {"app_id": "invalid_app"})),
    ({"app_id": "nonexistent.app.id", "device_id": dev(1)}, 400,
     err("cannot_access_app", "You can't access this app", {"app_id": "nonexistent.app.id"})),
    ({"app_id": APP, "device_id": dev(404), "version": "1.0.0"}, 404,
     err("device_not_found", "Cannot find device", {"device_id": dev(404)})),
    # messages as public/device/get.ts words them (the emulator used to say "Invalid limit" etc.)
    ({"app_id": APP, "limit": "1.5"}, 400, err("invalid_limit", LIMIT_MESSAGE, {"limit": "1.5"})),
    ({"app_id": APP, "limit": "0"}, 400, err("invalid_limit", LIMIT_MESSAGE, {"limit": "0"})),
    ({"app_id": APP, "limit": "ten"}, 400, err("invalid_limit", LIMIT_MESSAGE, {"limit": "ten"})),
    # Number("") is 0: an empty limit is not the default (get.ts reads ``body.limit == null``)
    ({"app_id": APP, "limit": ""}, 400, err("invalid_limit", LIMIT_MESSAGE, {"limit": ""})),
    ({"app_id": APP, "limit": "Infinity"}, 400, err("invalid_limit", LIMIT_MESSAGE, {"limit": "Infinity"})),
    ({"app_id": APP, "order": "sideways"}, 400, err("invalid_order", "order must be asc or desc",
                                                    {"order": "sideways"})),
    ({"app_id": APP, "updated_at": "not-a-date"}, 400,
     err("invalid_updated_at", "updated_at must be a valid ISO date", {"updated_at": "not-a-date"})),
    ({"app_id": APP, "updated_at": "2024-02-31T00:00:00.000Z"}, 400,
     err("invalid_updated_at", "updated_at must be a valid ISO date", {"updated_at": "2024-02-31T00:00:00.000Z"})),
])
def test_get_errors(live, params, status, body):
    r = live.get(params)
    assert (r.status_code, r.json()) == (status, body)


@pytest.mark.parametrize("raw, count", [("1e0", 1), (" 2 ", 2), ("0x2", 2), ("2.0", 2), ("+1", 1)])
def test_limit_is_read_as_a_javascript_number(live, raw, count):
    """get.ts: ``Number(body.limit)``, then a finite integer >= 1."""
    live.load_devices([device_doc(n) for n in (1, 2, 3)])
    r = live.get({"app_id": APP, "limit": raw})
    assert (r.status_code, len(r.json()["data"])) == (200, count)


def test_updated_at_takes_any_number_of_fraction_digits(live):
    """get.ts parseUpdatedAtFilter: ``(?:\\.\\d+)?``; a database timestamp's microseconds are fine."""
    live.load_devices([device_doc(1, updated_at="2026-01-01T00:00:00.500Z"),
                       device_doc(2, updated_at="2026-01-01T00:00:01Z")])
    r = live.get({"app_id": APP, "updated_at": "2026-01-01T00:00:00.123456Z"})
    assert [d["device_id"] for d in r.json()["data"]] == [dev(1), dev(2)]
    r = live.get({"app_id": APP, "updated_at": "2026-01-01T00:00:00.999999Z"})
    assert [d["device_id"] for d in r.json()["data"]] == [dev(2)]


# -- auth ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, body", [
    ({}, err("no_key_provided", "No key provided")),
    ({"x-api-key": KEY_ALL}, err("no_key_provided", "No key provided")),
    ({"authorization": "nope"}, err("invalid_apikey", "Invalid apikey")),
    ({"authorization": f"Bearer {KEY_ALL}"}, err("invalid_apikey", "Invalid apikey")),
    ({"capgkey": "nope", "authorization": KEY_ALL}, err("invalid_apikey", "Invalid apikey")),
])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_auth_errors_come_first(live, headers, body, method):
    r = live.raw(method, "/device", data=b"{broken", key=None, headers=headers)
    assert (r.status_code, r.json()) == (401, body)


def test_capgkey_is_read_before_authorization(live):
    r = live.raw("GET", f"/device?app_id={APP}", key=None, headers={"capgkey": KEY_READ, "authorization": "x"})
    assert r.status_code == 200


def test_an_empty_capgkey_header_still_wins(live):
    """hono_middleware.ts resolveKeyHeaders: ``capgkey ?? authorization`` (an empty string is not null)."""
    r = live.raw("GET", f"/device?app_id={APP}", key=None, headers={"capgkey": "", "authorization": KEY_ALL})
    assert (r.status_code, r.json()) == (401, err("no_key_provided", "No key provided"))


SUB_KEY = "capgo-test-sub-key"


@pytest.fixture
def subkeys(live):
    """A sub-key (same user as the default keys, limited to OTHER_APP) and another user's key."""
    live.emulator.load({"capgo": {"api_keys": [
        {"key": SUB_KEY, "mode": "read", "app_ids": [OTHER_APP], "id": 50},
        {"key": "capgo-test-unlimited", "mode": "all", "id": 51},
        {"key": "capgo-test-stranger", "mode": "all", "app_ids": [OTHER_APP], "id": 52, "user": "someone-else"}]}})
    return live


@pytest.mark.parametrize("header, key, body", [
    ("abc", None, err("invalid_subkey", "Invalid x-limited-key-id")),  # checked before the key
    ("0", KEY_ALL, err("invalid_subkey", "Invalid x-limited-key-id")),
    ("", KEY_ALL, err("invalid_subkey", "Invalid x-limited-key-id")),
    ("9007199254740992", KEY_ALL, err("invalid_subkey", "Invalid x-limited-key-id")),
    ("50", None, err("no_key_provided", "No key provided")),
    ("50", "nope", err("invalid_apikey", "Invalid apikey")),
    ("999", KEY_ALL, err("invalid_subkey", "Invalid subkey")),
    ("52", KEY_ALL, err("invalid_subkey", "Invalid subkey")),
    ("51", KEY_ALL, err("invalid_subkey", "Invalid subkey, no limited apps or orgs")),
])
def test_subkey_errors(subkeys, header, key, body):
    """hono_middleware.ts middlewareKey: getSubkeyId, resolveSubkey, validateSubkeyUser, validateSubkeyLimits."""
    headers = {"x-limited-key-id": header, **({"authorization": key} if key else {})}
    r = subkeys.raw("GET", f"/device?app_id={OTHER_APP}", key=None, headers=headers)
    assert (r.status_code, r.json()) == (401, body)


def test_a_subkey_is_the_identity(subkeys):
    """setSubkeyAuthContext: the sub-key's own scope and rights apply, not the parent key's."""
    headers = {"x-limited-key-id": "50"}
    r = subkeys.raw("GET", f"/device?app_id={OTHER_APP}", key=KEY_ALL, headers=headers)
    assert [d["device_id"] for d in r.json()["data"]] == [dev(900)]
    r = subkeys.raw("GET", f"/device?app_id={APP}", key=KEY_ALL, headers=headers)
    assert (r.status_code, r.json()) == (400, CANNOT_ACCESS_APP)
    before = subkeys.state()
    r = subkeys.raw("POST", "/device", key=KEY_ALL, headers={**headers, "content-type": "application/json"},
                    data=b'{"app_id": "com.example.other", "device_id": "' + dev(900).encode() + b'"}')
    assert (r.status_code, r.json()) == (400, err("cannot_access_app", "You can't access this app",
                                                  {"app_id": OTHER_APP}))
    assert subkeys.state() == before


def test_failed_auth_limit_per_ip(live):
    """utils/rate_limit.ts: after 20 failed authentications from an IP in 15 minutes every call is
    refused, a good key included (rate_limit option only)."""
    for _ in range(25):
        assert live.get({"app_id": APP}, key="nope").status_code == 401
    assert live.get({"app_id": APP}).status_code == 200  # off by default
    live.emulator.set_options({"capgo": {"profile": "live", "rate_limit": True}})
    for _ in range(20):
        assert live.get({"app_id": APP}, key="nope").status_code == 401
    r = live.get({"app_id": APP})
    body = r.json()
    assert (r.status_code, body["error"], body["moreInfo"]["reason"]) == (429, "too_many_requests",
                                                                          "too_many_failed_auth_attempts")
    assert r.headers["Retry-After"] == str(body["moreInfo"]["retryAfterSeconds"])
    live.emulator.advance_clock(15 * 60 + 1)
    assert live.get({"app_id": APP}).status_code == 200


# -- POST ---------------------------------------------------------------------------------------

def test_post_links_a_device_that_never_checked_in(live):
    r = live.post({"app_id": APP, "device_id": MIXED, "channel": "beta"})
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert live.app_state()["overrides"] == [{"device_id": MIXED.lower(), "channel": "beta"}]
    assert [d["device_id"] for d in live.app_state()["devices"]] == [dev(1), dev(2)]


def test_post_onto_private_channel_without_self_set_is_accepted(live):
    live.load_devices([], channels=[{"name": "locked", "public": False, "allow_device_self_set": False,
                                     "ios": False, "android": False, "electron": False}])
    assert live.post({"app_id": APP, "device_id": dev(1), "channel": "locked"}).json() == {"status": "ok"}


def test_post_without_channel_changes_nothing(live):
    before = live.state()
    assert live.post({"app_id": APP, "device_id": dev(1)}).json() == {"status": "ok"}
    assert live.state() == before


@pytest.mark.parametrize("body, key, status, error", [
    ({"app_id": APP}, KEY_ALL, 400, err("missing_device_id_or_app_id", "Missing device_id or app_id",
                                        {"body": {"app_id": APP}})),
    ({"device_id": dev(1), "channel": "beta"}, KEY_ALL, 400,
     err("missing_device_id_or_app_id", "Missing device_id or app_id", {"body": {"device_id": dev(1), "channel": "beta"}})),
    ({"app_id": "badappid", "device_id": dev(1)}, KEY_ALL, 400,
     err("invalid_app_id", "App ID must be a reverse domain string", {"app_id": "badappid"})),
    ({"app_id": APP, "device_id": dev(1), "version_id": "1.0.0"}, KEY_ALL, 400,
     err("invalid_version_id", "Cannot set version to device, use channel instead")),
    ({"app_id": APP, "device_id": dev(1), "version_id": "1.0.0", "channel": "beta"}, KEY_UPLOAD, 400,
     err("invalid_version_id", "Cannot set version to device, use channel instead")),
    ({"app_id": APP, "device_id": dev(1), "channel": "nope"}, KEY_ALL, 404, CHANNEL_NOT_FOUND),
    ({"app_id": "com.nope.app", "device_id": dev(1), "channel": "beta"}, KEY_ALL, 404, CHANNEL_NOT_FOUND),
    ({"app_id": "com.nope.app", "device_id": dev(1)}, KEY_ALL, 400,
     err("cannot_access_app", "You can't access this app", {"app_id": "com.nope.app"})),
    ({"app_id": APP, "device_id": dev(1), "channel": "production"}, KEY_ALL, 400,
     err("public_channel_override", "Cannot set channel override for public channel")),
    ({"app_id": APP, "device_id": dev(1), "channel": "beta"}, KEY_READ, 400,
     err("cannot_access_channel", "You can't manage forced devices for this channel",
         {"app_id": APP, "channel": "beta"})),
    ({"app_id": APP, "device_id": dev(1), "channel": "beta"}, KEY_UPLOAD, 400,
     err("cannot_access_channel", "You can't manage forced devices for this channel",
         {"app_id": APP, "channel": "beta"})),
    ({"app_id": APP, "device_id": dev(1)}, KEY_READ, 400, CANNOT_ACCESS_APP),
    ({"app_id": APP, "device_id": dev(1)}, KEY_UPLOAD, 400, CANNOT_ACCESS_APP),
    ({"app_id": APP, "device_id": dev(1), "channel": "beta"}, KEY_LIMITED, 404, CHANNEL_NOT_FOUND),
    ({"app_id": APP, "device_id": dev(1)}, KEY_LIMITED, 400, CANNOT_ACCESS_APP),
])
def test_post_errors_change_nothing(live, body, key, status, error):
    before = live.state()
    r = live.post(body, key=key)
    assert (r.status_code, r.json()) == (status, error)
    assert live.state() == before


def test_post_body_that_is_not_json(live):
    r = live.raw("POST", "/device", data=b"{nope")
    assert (r.status_code, r.json()) == (400, err("invalid_json_parse_body", "Invalid JSON body", {"e": {}}))


# -- DELETE -------------------------------------------------------------------------------------

def test_delete_removes_the_link_and_keeps_the_device(live):
    live.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    r = live.delete({"app_id": APP, "device_id": dev(1), "channel": "ignored"})
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert live.app_state()["overrides"] == []
    assert "channel" not in live.get({"app_id": APP, "device_id": dev(1)}).json()


def test_delete_lower_cases_and_reads_the_query(live):
    live.post({"app_id": APP, "device_id": MIXED, "channel": "beta"})
    r = live.raw("DELETE", f"/device?app_id={APP}&device_id={MIXED.upper()}")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert live.app_state()["overrides"] == []


@pytest.mark.parametrize("device_id", [dev(2), "invalid_device"])
def test_delete_without_override_is_ok(live, device_id):
    assert live.delete({"app_id": APP, "device_id": device_id}).json() == {"status": "ok"}


@pytest.mark.parametrize("request_args, key, status, error", [
    ({"data": b""}, KEY_ALL, 400, err("invalid_json_parse_body", "Invalid JSON body")),
    ({"data": b"{}"}, KEY_ALL, 400, err("invalid_json_parse_body", "Invalid JSON body")),
    ({"data": b'{"device_id": "x"}'}, KEY_ALL, 400, err("missing_app_id", "Missing app_id",
                                                         {"body": {"device_id": "x"}})),
    ({"data": b'{"app_id": "com.example.app"}'}, KEY_ALL, 400,
     err("missing_device_id", "Missing device_id", {"body": {"app_id": APP}})),
    ({"params": {"app_id": "bad", "device_id": dev(1)}}, KEY_ALL, 400,
     err("invalid_app_id", "App ID must be a reverse domain string", {"app_id": "bad"})),
    ({"params": {"app_id": "com.nope.app", "device_id": dev(1)}}, KEY_ALL, 400,
     err("cannot_access_app", "You can't access this app", {"app_id": "com.nope.app"})),
    ({"params": {"app_id": APP, "device_id": dev(1)}}, KEY_READ, 400, CANNOT_ACCESS_APP),
    ({"params": {"app_id": APP, "device_id": dev(1)}}, KEY_UPLOAD, 400, CANNOT_ACCESS_APP),
    ({"params": {"app_id": APP, "device_id": dev(1)}}, KEY_LIMITED, 400, CANNOT_ACCESS_APP),
])
def test_delete_errors_change_nothing(live, request_args, key, status, error):
    live.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    before = live.state()
    r = live.raw("DELETE", "/device", key=key, **request_args)
    assert (r.status_code, r.json()) == (status, error)
    assert live.state() == before


# -- key modes for every method -------------------------------------------------------------------

@pytest.mark.parametrize("key, manages", [(KEY_ALL, True), (KEY_WRITE, True), (KEY_READ, False),
                                          (KEY_UPLOAD, False)])
def test_key_modes(live, key, manages):
    assert live.get({"app_id": APP}, key=key).status_code == 200  # every legacy mode maps to a reading role
    link = live.post({"app_id": APP, "device_id": dev(1), "channel": "beta"}, key=key)
    unlink = live.delete({"app_id": APP, "device_id": dev(1)}, key=key)
    assert (link.status_code == 200, unlink.status_code == 200) == (manages, manages)


def test_limited_key_reads_only_its_app(live):
    r = live.get({"app_id": APP}, key=KEY_LIMITED)
    assert (r.status_code, r.json()) == (400, CANNOT_ACCESS_APP)
    assert [d["device_id"] for d in live.get({"app_id": OTHER_APP}, key=KEY_LIMITED).json()["data"]] == [dev(900)]
    assert live.post({"app_id": OTHER_APP, "device_id": dev(900), "channel": "qa"}, key=KEY_LIMITED).status_code == 200


# -- unknown routes -----------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [("PUT", "/device"), ("PATCH", "/device"), ("GET", f"/device/{APP}"),
                                          # GET /stats is the health route (plugins/stats.ts app.get('/'))
                                          ("PUT", "/stats"), ("GET", "/updates/x")])
def test_unknown_routes(live, method, path):
    r = live.raw(method, path)
    assert (r.status_code, r.json()) == (404, {"error": "not_found", "message": "Not found"})


def test_trailing_slash_is_the_same_route(live):
    assert live.raw("GET", f"/device/?app_id={APP}").json() == live.get({"app_id": APP}).json()


# -- optional production rate limits --------------------------------------------------------------

def test_rate_limits_are_off_by_default(live):
    codes = {live.post({"app_id": APP, "device_id": dev(1), "channel": "beta"}).status_code for _ in range(12)}
    assert codes == {200}


def test_identical_link_within_a_minute_is_429(live):
    live.emulator.set_options({"capgo": {"rate_limit": True}})
    link = {"app_id": APP, "device_id": dev(1), "channel": "beta"}
    assert live.post(link).status_code == 200
    r = live.post(link)
    assert r.status_code == 429
    body = r.json()
    reset_at = body["moreInfo"]["rateLimitResetAt"]
    assert body == err("too_many_requests", "Too many requests", {
        "app_id": APP, "device_id": dev(1), "rateLimitResetAt": reset_at,
        "retryAfterSeconds": body["moreInfo"]["retryAfterSeconds"]})
    assert 1 <= body["moreInfo"]["retryAfterSeconds"] <= 60
    assert r.headers["Retry-After"] == str(body["moreInfo"]["retryAfterSeconds"])
    assert r.headers["X-RateLimit-Reset"] == str(reset_at // 1000)
    assert live.post({**link, "device_id": dev(2)}).status_code == 200  # another device has its own window
    live.emulator.advance_clock(61)
    assert live.post(link).status_code == 200


def test_more_than_five_calls_a_second_per_operation_is_429(live):
    """30 calls spread over at most five clock seconds put six or more into one of them."""
    live.emulator.set_options({"capgo": {"rate_limit": True}})
    one = {"app_id": APP, "device_id": dev(1)}
    codes = [live.get(one).status_code for _ in range(30)]
    assert 429 in codes and set(codes) == {200, 429}
    assert live.delete(one).status_code == 200  # DELETE is counted apart from GET
    assert live.get({"app_id": APP}).status_code == 200  # the list is not limited


def test_profile_from_the_command_line():
    from tests.support import ServerProcess

    with ServerProcess("--db", ":memory:", "--profile", "capgo=live") as server:
        r = server.get("/device", params={"app_id": APP}, headers={"authorization": KEY_ALL})
        assert r.json() == {"data": [], "hasMore": False}
        assert server.get("/device").json() == err("no_key_provided", "No key provided")


def test_per_key_limit(live):
    """utils/rate_limit.ts: usage is recorded, then refused once it reaches 2000 in a minute."""
    live.emulator.set_options({"capgo": {"profile": "live", "rate_limit": True}})
    apps = (APP, EMPTY_APP, OTHER_APP)  # three apps: each stays under the 1000/min per-app IP limit
    with requests.Session() as s:
        statuses = [s.get(f"{live.url}/device", params={"app_id": apps[n % 3]}, headers={"authorization": KEY_READ},
                          timeout=30).status_code for n in range(2000)]
    assert statuses == [200] * 1999 + [429]
    r = live.get({"app_id": APP}, key=KEY_READ)
    body = r.json()
    assert (r.status_code, body["moreInfo"]["reason"], body["moreInfo"]["apikey_id"]) == \
        (429, "api_key_rate_limit_exceeded", 3)
    assert live.get({"app_id": APP}, key=KEY_ALL).status_code == 200  # another key has its own count
