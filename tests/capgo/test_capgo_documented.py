"""The documented profile (default): the seed's /device API, its errors and key modes."""
from __future__ import annotations

import orjson
import pytest

from tests.capgo.capgo_helpers import (APP, KEY_ALL, KEY_LIMITED, KEY_READ, KEY_UPLOAD, KEY_WRITE, OTHER_APP, dev,
                      device_doc)


def ko(message: str) -> dict[str, str]:
    return {"error": message, "status": "KO"}


@pytest.fixture
def seeded(capgo):
    capgo.load_devices([device_doc(1, custom_id="test-device-1", platform="ios", os_version="17.0",
                                   plugin_version="5.0.0", version_build="1")])
    return capgo


# -- GET ----------------------------------------------------------------------------------------

def test_get_one_device_has_the_seed_fields(seeded):
    r = seeded.get({"app_id": APP, "device_id": dev(1)})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {
        "device_id": dev(1), "custom_id": "test-device-1", "version": {"id": 1, "name": "1.0.0"},
        "app_id": APP, "platform": "ios", "plugin_version": "5.0.0", "os_version": "17.0",
        "version_build": "1", "is_prod": True, "is_emulator": False,
        "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
    }


def test_get_list_wraps_devices_in_data(seeded):
    r = seeded.get({"app_id": APP})
    assert r.status_code == 200
    assert [d["device_id"] for d in r.json()["data"]] == [dev(1)]


def test_get_shows_overrides(seeded):
    assert seeded.post({"app_id": APP, "device_id": dev(1), "channel": "beta", "version_id": "1.2.0"}).json() == \
        {"status": "ok"}
    one = seeded.get({"app_id": APP, "device_id": dev(1)}).json()
    assert (one["channel"], one["version_override"]) == ("beta", "1.2.0")
    assert seeded.get({"app_id": APP}).json()["data"][0]["channel"] == "beta"


def test_version_object_has_null_id_for_unknown_bundle(capgo):
    capgo.load_devices([device_doc(2, version_name="9.9.9")])
    assert capgo.get({"app_id": APP, "device_id": dev(2)}).json()["version"] == {"id": None, "name": "9.9.9"}


def test_pages_of_fifty_across_boundaries(capgo):
    capgo.load_devices([device_doc(n) for n in range(1, 121)])
    pages = [capgo.get({"app_id": APP, "page": str(p)}).json()["data"] for p in range(4)]
    assert [len(p) for p in pages] == [50, 50, 20, 0]
    ids = [d["device_id"] for page in pages for d in page]
    assert ids == [dev(n) for n in range(1, 121)]
    assert capgo.get({"app_id": APP}).json()["data"] == pages[0]


@pytest.mark.parametrize("params, status, body", [
    ({}, 400, ko("Missing app_id")),
    ({"app_id": ""}, 400, ko("Missing app_id")),
    ({"app_id": APP, "page": "-1"}, 400, ko("Invalid page")),
    ({"app_id": APP, "page": "x"}, 400, ko("Invalid page")),
    ({"app_id": "com.nope.app"}, 404, ko("App not found")),
    ({"app_id": APP, "device_id": dev(404)}, 404, ko("Device not found")),
])
def test_get_errors(seeded, params, status, body):
    r = seeded.get(params)
    assert (r.status_code, r.json()) == (status, body)


# -- POST ---------------------------------------------------------------------------------------

def test_post_links_channel_and_replaces_it(seeded):
    seeded.load_devices([], channels=[{"name": "qa2", "public": False}])
    for channel in ("beta", "qa2"):
        r = seeded.post({"app_id": APP, "device_id": dev(1), "channel": channel})
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert seeded.app_state()["overrides"] == [{"device_id": dev(1), "channel": "qa2"}]


def test_post_pins_a_version_by_name(seeded):
    r = seeded.post({"app_id": APP, "device_id": dev(1), "version_id": "1.1.0"})
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert seeded.app_state()["overrides"] == [{"device_id": dev(1), "version": "1.1.0"}]


def test_post_accepts_a_public_channel(seeded):
    assert seeded.post({"app_id": APP, "device_id": dev(1), "channel": "production"}).status_code == 200


@pytest.mark.parametrize("body, status, error", [
    ({"device_id": dev(1), "channel": "beta"}, 400, ko("Missing app_id")),
    ({"app_id": APP, "channel": "beta"}, 400, ko("Missing device_id")),
    ({"app_id": APP, "device_id": dev(1)}, 400, ko("Missing channel or version_id")),
    ({"app_id": 5, "device_id": dev(1), "channel": "beta"}, 400, ko("Invalid app_id")),
    ({"app_id": APP, "device_id": [1], "channel": "beta"}, 400, ko("Invalid device_id")),
    ({"app_id": APP, "device_id": dev(1), "channel": 3}, 400, ko("Invalid channel")),
    ({"app_id": APP, "device_id": dev(1), "version_id": True}, 400, ko("Invalid version_id")),
    ({"app_id": "com.nope.app", "device_id": dev(1), "channel": "beta"}, 404, ko("App not found")),
    ({"app_id": APP, "device_id": dev(404), "channel": "beta"}, 404, ko("Device not found")),
    ({"app_id": APP, "device_id": dev(1), "channel": "nope"}, 404, ko("Channel not found")),
    ({"app_id": APP, "device_id": dev(1), "version_id": "9.9.9"}, 404, ko("Version not found")),
    ({"app_id": APP, "device_id": dev(1), "channel": "beta", "version_id": "9.9.9"}, 404, ko("Version not found")),
    ({"app_id": APP, "device_id": dev(1), "channel": "nope", "version_id": "1.1.0"}, 404, ko("Channel not found")),
    (None, 400, ko("Invalid JSON body")),
    ([APP], 400, ko("Invalid JSON body")),
])
def test_post_errors_change_nothing(seeded, body, status, error):
    before = seeded.state()
    r = seeded.post(body)
    assert (r.status_code, r.json()) == (status, error)
    assert seeded.state() == before


def test_post_is_case_sensitive_on_device_id(seeded):
    lower = "abcdef00-0000-4000-8000-000000000001"
    seeded.load_devices([device_doc(0, device_id=lower)])
    r = seeded.post({"app_id": APP, "device_id": lower.upper(), "channel": "beta"})
    assert (r.status_code, r.json()) == (404, ko("Device not found"))


# -- DELETE -------------------------------------------------------------------------------------

def test_delete_removes_both_overrides(seeded):
    seeded.post({"app_id": APP, "device_id": dev(1), "channel": "beta", "version_id": "1.2.0"})
    r = seeded.delete({"app_id": APP, "device_id": dev(1)})
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    one = seeded.get({"app_id": APP, "device_id": dev(1)}).json()
    assert "channel" not in one and "version_override" not in one
    assert seeded.app_state()["overrides"] == []
    assert [d["device_id"] for d in seeded.app_state()["devices"]] == [dev(1)]  # the record stays


def test_delete_reads_the_query_when_there_is_no_body(seeded):
    seeded.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    r = seeded.raw("DELETE", f"/device?app_id={APP}&device_id={dev(1)}")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert seeded.app_state()["overrides"] == []


def test_delete_without_override_is_ok(seeded):
    assert seeded.delete({"app_id": APP, "device_id": dev(1)}).json() == {"status": "ok"}


@pytest.mark.parametrize("body, status, error", [
    ({"device_id": dev(1)}, 400, ko("Missing app_id")),
    ({"app_id": APP}, 400, ko("Missing device_id")),
    ({"app_id": "com.nope.app", "device_id": dev(1)}, 404, ko("App not found")),
    ({"app_id": APP, "device_id": dev(404)}, 404, ko("Device not found")),
    ([1, 2], 400, ko("Invalid JSON body")),
])
def test_delete_errors_change_nothing(seeded, body, status, error):
    seeded.post({"app_id": APP, "device_id": dev(1), "channel": "beta"})
    before = seeded.state()
    r = seeded.delete(body)
    assert (r.status_code, r.json()) == (status, error)
    assert seeded.state() == before


# -- keys: header, modes, app limits --------------------------------------------------------------

def test_key_headers(seeded):
    ok = {"app_id": APP, "device_id": dev(1)}
    assert seeded.raw("GET", "/device", key=None, params=ok, headers={"capgkey": KEY_READ}).status_code == 200
    r = seeded.get(ok, key=None)
    assert (r.status_code, r.json()) == (401, ko("Missing API key"))
    r = seeded.raw("GET", "/device", key=None, params=ok, headers={"x-api-key": KEY_ALL})
    assert (r.status_code, r.json()) == (401, ko("Missing API key"))
    for wrong in ("nope", f"Bearer {KEY_ALL}"):
        r = seeded.get(ok, key=wrong)
        assert (r.status_code, r.json()) == (401, ko("Invalid API key"))


DENIED = (403, ko("Insufficient permissions to manage devices"))
OTHER_APP_DENIED = (403, ko("You can't access this app"))


def _call(client, method: str, key: str, app_id: str = APP, device: str = dev(1)):
    if method == "GET":
        return client.get({"app_id": app_id, "device_id": device}, key=key)
    if method == "POST":
        return client.post({"app_id": app_id, "device_id": device, "channel": "beta" if app_id == APP else "qa"},
                           key=key)
    return client.delete({"app_id": app_id, "device_id": device}, key=key)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("key, allowed", [
    (KEY_ALL, {"GET", "POST", "DELETE"}),
    (KEY_WRITE, {"GET", "POST", "DELETE"}),
    (KEY_READ, {"GET"}),
    (KEY_UPLOAD, set()),
])
def test_key_modes(seeded, method, key, allowed):
    before = seeded.state()
    r = _call(seeded, method, key)
    if method in allowed:
        assert r.status_code == 200
    else:
        assert (r.status_code, r.json()) == DENIED
        assert seeded.state() == before


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_app_limited_key_cannot_touch_other_apps(seeded, method):
    """Tenant isolation: a key limited to OTHER_APP reads and changes nothing in APP."""
    before = seeded.state()
    r = _call(seeded, method, KEY_LIMITED)
    assert (r.status_code, r.json()) == OTHER_APP_DENIED
    assert seeded.state() == before
    assert _call(seeded, method, KEY_LIMITED, app_id=OTHER_APP, device=dev(900)).status_code == 200


def test_mode_is_checked_before_the_body(seeded):
    r = seeded.raw("POST", "/device", data=b"{nope", key=KEY_READ)
    assert (r.status_code, r.json()) == DENIED


@pytest.mark.parametrize("method, path", [("PUT", "/device"), ("PATCH", "/device"), ("GET", f"/device/{APP}"),
                                          # GET /stats is the health route (plugins/stats.ts app.get('/'))
                                          ("PUT", "/stats"), ("DELETE", "/updates")])
def test_unknown_routes(seeded, method, path):
    r = seeded.raw(method, path)
    assert (r.status_code, r.json()) == (404, ko("Not found"))


def test_device_bytes_exact_with_overrides_and_escapes(seeded):
    """SQLite builds the device JSON (storage.DOCUMENTED_DEVICE_JSON): the bytes are what a JSON
    serialiser of the seed's object gives, keys in the seed's order, overrides last, text escaped."""
    odd = 'line\nbreak "quoted" \\ é 😀 \x01'
    seeded.load_devices([device_doc(2, custom_id=odd, platform=None, os_version=None, is_prod=False,
                                    is_emulator=True)])
    assert seeded.post({"app_id": APP, "device_id": dev(1), "channel": "beta", "version_id": "1.2.0"}).status_code \
        == 200
    one = {"device_id": dev(1), "custom_id": "test-device-1", "version": {"id": 1, "name": "1.0.0"}, "app_id": APP,
           "platform": "ios", "plugin_version": "5.0.0", "os_version": "17.0", "version_build": "1",
           "is_prod": True, "is_emulator": False, "created_at": "2026-01-01T00:00:00.000Z",
           "updated_at": "2026-01-01T00:00:00.000Z", "channel": "beta", "version_override": "1.2.0"}
    two = {"device_id": dev(2), "custom_id": odd, "version": {"id": 1, "name": "1.0.0"}, "app_id": APP,
           "platform": None, "plugin_version": "2.3.3", "os_version": None, "version_build": "1.0.0",
           "is_prod": False, "is_emulator": True, "created_at": "2026-01-01T00:00:00.000Z",
           "updated_at": "2026-01-01T00:00:00.000Z"}
    r = seeded.get({"app_id": APP, "device_id": dev(1)})
    assert r.content == orjson.dumps(one)
    assert seeded.get({"app_id": APP, "device_id": dev(2)}).content == orjson.dumps(two)
    assert seeded.get({"app_id": APP}).content == orjson.dumps({"data": [one, two]})
