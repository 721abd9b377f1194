"""Device API: register, get, delete, metadata, FCM token, the VAPID key, under both prefixes."""
from __future__ import annotations

import base64
import re

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from tests.beams.beams_helpers import (APNS_TOKEN, FCM_TOKEN, REGISTER_BODIES, UNKNOWN_INSTANCE, assert_error,
                                       assert_go_404, make_jwt, web_token)

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


@pytest.mark.parametrize("platform", ["apns", "fcm", "web"])
def test_register_returns_prefixed_id_and_initial_interest_set(beams_any_prefix, platform):
    resp = beams_any_prefix.request("POST", f"/devices/{platform}", json=REGISTER_BODIES[platform])
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert set(body) == {"id", "initialInterestSet"}
    assert re.fullmatch(f"{platform}-{UUID4}", body["id"])
    assert body["initialInterestSet"] == []
    stored = beams_any_prefix.device_state(body["id"])
    assert stored["platform"] == platform
    assert stored["token"] == REGISTER_BODIES[platform]["token"]
    assert stored["interests"] == [] and stored["user_id"] is None


def test_register_keeps_only_the_platform_metadata_fields(beams):
    device = beams.register("apns", metadata={"sdkVersion": "4", "macosVersion": "14", "extra": "dropped"})
    assert beams.request("GET", f"/devices/apns/{device}").json() == {
        "id": device, "userId": None, "metadata": {"sdkVersion": "4", "macosVersion": "14"}}


def test_register_accepts_charset_and_no_bundle_for_fcm(beams):
    resp = beams.request("POST", "/devices/fcm", data=b'{"token":"abc:DEF_123"}',
                         headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 200


def test_reregistering_a_token_returns_the_same_device_with_its_interests_and_user(beams):
    """Pusher's Swift integration test against production (push-notifications-swift
    Tests/Integration/DeviceInterestsTest.swift, testLocalInterestsSetShouldBeMergedAfterDeviceRegistration)
    registers one APNs token twice without deleting the device and expects the same device id
    back, with the server's interests in ``initialInterestSet``. The record is found again, not
    made again, so its user stays; bundle id and metadata come from the new registration."""
    first = beams.request("POST", "/devices/apns", json=REGISTER_BODIES["apns"])
    device = first.json()["id"]
    assert first.json() == {"id": device, "initialInterestSet": []}
    for name in ("zebra", "panda"):
        assert beams.request("POST", f"/devices/apns/{device}/interests/{name}").status_code == 200
    assert beams.set_user("apns", device, make_jwt("alice")).status_code == 200
    body = {**REGISTER_BODIES["apns"], "bundleIdentifier": "com.example.other",
            "metadata": {"sdkVersion": "4.0.1", "iosVersion": "18.0"}}
    again = beams.request("POST", "/devices/apns", json=body)
    assert again.status_code == 200
    assert again.content == b'{"id":"' + device.encode() + b'","initialInterestSet":["panda","zebra"]}\n'
    assert beams.state()["devices"] == [{
        "id": device, "platform": "apns", "token": APNS_TOKEN, "user_id": "alice", "interests": ["panda", "zebra"],
        "metadata": {"sdkVersion": "4.0.1", "iosVersion": "18.0"}, "bundle_identifier": "com.example.other"}]
    # the same token on another platform is another device
    other = beams.request("POST", "/devices/fcm", json={**REGISTER_BODIES["fcm"], "token": APNS_TOKEN}).json()
    assert other["id"] != device and other["initialInterestSet"] == []
    # after a delete, the token gets a new device with nothing (the SDKs' clearAllState does this)
    assert beams.request("DELETE", f"/devices/apns/{device}").status_code == 200
    fresh = beams.request("POST", "/devices/apns", json=body).json()
    assert fresh["id"] != device and fresh["initialInterestSet"] == []
    assert beams.device_state(fresh["id"])["user_id"] is None


REGISTER_ERRORS = [
    ("apns", {"bundleIdentifier": "b"}, 400, "Bad request", "Missing APNs token."),
    ("apns", {"token": "", "bundleIdentifier": "b"}, 400, "Bad request", "Missing APNs token."),
    ("apns", {"token": APNS_TOKEN}, 400, "Bad request", "Missing App Bundle Identifier."),
    ("apns", {"token": "not-hex!", "bundleIdentifier": "b"}, 401, "Unauthorized", "Incorrect APNs token supplied."),
    ("fcm", {}, 400, "Bad request", "Missing FCM token."),
    ("fcm", {"token": "bad token with spaces"}, 401, "Unauthorized", "Incorrect FCM token supplied."),
    ("web", {}, 400, "Bad request", "Missing Web Push subscription token."),
    ("web", {"token": "bm90IGpzb24="}, 401, "Token error",
     "Subscription is not registered with the given push service"),
    ("fcm", {"token": 5}, 400, "Bad request", "Failed to read body as a JSON object."),
    ("fcm", {"token": FCM_TOKEN, "metadata": "x"}, 400, "Bad request", "Failed to read body as a JSON object."),
    ("fcm", {"token": FCM_TOKEN, "metadata": {"sdkVersion": 1}}, 400, "Bad request",
     "Failed to read body as a JSON object."),
    ("fcm", {"token": FCM_TOKEN, "knownPreviousClientIds": "x"}, 400, "Bad request",
     "Failed to read body as a JSON object."),
]


@pytest.mark.parametrize("platform,body,status,title,description", REGISTER_ERRORS)
def test_register_errors(beams, platform, body, status, title, description):
    assert_error(beams.request("POST", f"/devices/{platform}", json=body), status, title, description)
    assert beams.state()["devices"] == []


def test_register_content_type_and_body_shape(beams):
    assert_error(beams.request("POST", "/devices/fcm", data=b'{"token":"t"}', headers={"Content-Type": "text/plain"}),
                 400, "Invalid content type", "Only `application/json` is supported.")
    assert_error(beams.request("POST", "/devices/fcm", data=b'{"token":"t"}'),
                 400, "Invalid content type", "Only `application/json` is supported.")
    assert_error(beams.request("POST", "/devices/fcm", json=["token"]),
                 400, "Bad request", "Failed to read body as a JSON object.")
    assert beams.state()["devices"] == []


def test_path_parameter_errors(beams):
    url = beams.url
    assert_error(requests.post(f"{url}/device_api/v1/instances//devices/fcm", json=REGISTER_BODIES["fcm"]),
                 400, "Incomplete Request", "`instance-id` param is missing from path.")
    assert_error(requests.post(f"{url}/device_api/v1/instances/not-a-uuid/devices/fcm", json=REGISTER_BODIES["fcm"]),
                 400, "Bad Request", "`instance-id` given is not valid.")
    for method in ("GET", "DELETE"):
        assert_error(beams.request(method, "/devices/fcm/"),
                     400, "Incomplete Request", "`device-id` param is missing from path.")
    assert_error(beams.request("PUT", "/devices/fcm//metadata", json={}),
                 400, "Incomplete Request", "`device-id` param is missing from path.")


DEVICE_ROUTES = [
    ("POST", "/devices/apns", REGISTER_BODIES["apns"]),
    ("GET", "/devices/apns/apns-x", None),
    ("DELETE", "/devices/apns/apns-x", None),
    ("PUT", "/devices/apns/apns-x/metadata", {}),
    ("PUT", "/devices/fcm/fcm-x/token", {"token": "t"}),
    ("GET", "/devices/web/web-x/interests", None),
    ("PUT", "/devices/web/web-x/interests", {"interests": []}),
    ("POST", "/devices/web/web-x/interests/a", None),
    ("DELETE", "/devices/web/web-x/interests/a", None),
    ("GET", "/web-vapid-public-key", None),
    ("PUT", "/devices/web/web-x/user", None),
]


@pytest.mark.parametrize("method,rest,body", DEVICE_ROUTES)
def test_instance_path_errors_on_every_device_route(beams_any_prefix, method, rest, body):
    assert_error(beams_any_prefix.with_instance("").request(method, rest, json=body),
                 400, "Incomplete Request", "`instance-id` param is missing from path.")
    assert_error(beams_any_prefix.with_instance("not-a-uuid").request(method, rest, json=body),
                 400, "Bad Request", "`instance-id` given is not valid.")


@pytest.mark.parametrize("method,rest,body", DEVICE_ROUTES)
def test_unknown_instance_on_every_device_route(beams, method, rest, body):
    resp = beams.with_instance(UNKNOWN_INSTANCE).request(method, rest, json=body)
    assert_error(resp, 404, "Instance not found", "Could not find the instance.")


def test_get_and_delete_device(beams_any_prefix):
    client = beams_any_prefix
    device = client.register("fcm")
    resp = client.request("GET", f"/devices/fcm/{device}")
    assert resp.status_code == 200
    assert resp.json() == {"id": device, "userId": None, "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}}
    # a device is only found under its own platform
    assert_error(client.request("GET", f"/devices/apns/{device}"), 404, "Device not found", "Could not find the device.")
    resp = client.request("DELETE", f"/devices/fcm/{device}")
    assert (resp.status_code, resp.content) == (200, b"")
    assert "Content-Type" not in resp.headers
    assert_error(client.request("GET", f"/devices/fcm/{device}"), 404, "Device not found", "Could not find the device.")
    # deleting again is not an error (Android and the web SDK stop() rely on it)
    assert client.request("DELETE", f"/devices/fcm/{device}").status_code == 200


def test_bodyless_routes_need_no_content_type_but_refuse_a_wrong_one(beams):
    device = beams.register("web")
    assert beams.request("GET", f"/devices/web/{device}").status_code == 200
    assert beams.request("GET", f"/devices/web/{device}", headers={"Content-Type": "application/json"}).status_code == 200
    assert_error(beams.request("GET", f"/devices/web/{device}", headers={"Content-Type": "text/html"}),
                 400, "Invalid content type", "Only `application/json` is supported.")


def test_update_metadata(beams):
    device = beams.register("apns")
    resp = beams.request("PUT", f"/devices/apns/{device}/metadata", json={"sdkVersion": "5", "iosVersion": "18"})
    assert (resp.status_code, resp.content) == (200, b"")
    assert beams.device_state(device)["metadata"] == {"sdkVersion": "5", "iosVersion": "18"}


def test_update_metadata_errors(beams):
    device = beams.register("apns")
    before = beams.state()
    path = f"/devices/apns/{device}/metadata"
    assert_error(beams.request("PUT", path, data=b"{}", headers={"Content-Type": "text/plain"}),
                 400, "Invalid content type", "Only `application/json` is supported.")
    assert_error(beams.request("PUT", path, data=b"{oops", headers={"Content-Type": "application/json"}),
                 400, "Bad request", "Failed to read body as a JSON object.")
    assert_error(beams.request("PUT", "/devices/apns/apns-missing/metadata", json={}),
                 404, "Device not found", "Could not find the device.")
    assert beams.state() == before


def test_update_fcm_token(beams):
    device = beams.register("fcm")
    resp = beams.request("PUT", f"/devices/fcm/{device}/token", json={"token": "new:token"})
    assert (resp.status_code, resp.content) == (200, b"")
    assert beams.device_state(device)["token"] == "new:token"


def test_update_fcm_token_errors(beams):
    device = beams.register("fcm")
    before = beams.state()
    path = f"/devices/fcm/{device}/token"
    assert_error(beams.request("PUT", path, json={}), 400, "Bad request",
                 "Missing token field with the FCM Registration Id.")
    assert_error(beams.request("PUT", path, json={"token": ""}), 400, "Bad request",
                 "Missing token field with the FCM Registration Id.")
    assert_error(beams.request("PUT", path, data=b"[]", headers={"Content-Type": "application/json"}),
                 400, "Bad request", "Failed to read body as a JSON object.")
    assert_error(beams.request("PUT", path, data=b"{}", headers={"Content-Type": "text/plain"}),
                 400, "Invalid content type", "Only `application/json` is supported.")
    assert_error(beams.request("PUT", "/devices/fcm//token", json={"token": "x"}),
                 400, "Incomplete Request", "`device-id` param is missing from path.")
    assert_error(beams.request("PUT", "/devices/fcm/fcm-missing/token", json={"token": "x"}),
                 404, "Device not found", "Could not find the device.")
    assert beams.state() == before
    # the token route exists for FCM only
    assert_go_404(beams.request("PUT", f"/devices/apns/{device}/token", json={"token": "x"}))


def test_vapid_public_key_is_a_real_p256_point_and_stable(beams_any_prefix):
    resp = beams_any_prefix.request("GET", "/web-vapid-public-key")
    assert resp.status_code == 200
    key = resp.json()["vapidPublicKey"]
    assert "=" not in key
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # raises if not on the curve
    assert beams_any_prefix.request("GET", "/web-vapid-public-key").json()["vapidPublicKey"] == key


def test_default_instance_has_a_fixed_vapid_key_across_resets(beams):
    """Pinned in default.json: a browser's existing push subscription keeps matching it."""
    expected = "BNLA4i8tK8puFGGqEWXfVQm3KhfpmRX_cyBtws6E7c_CmvlJN79fQi_REUZ5UHnN2amMWbOX08p8hoDmu5AyaI4"
    assert beams.request("GET", "/web-vapid-public-key").json() == {"vapidPublicKey": expected}
    beams.emulator.reset()
    assert beams.request("GET", "/web-vapid-public-key").json() == {"vapidPublicKey": expected}


def test_vapid_keys_differ_per_instance(beams):
    from tests.beams.beams_helpers import OTHER_INSTANCE
    mine = beams.request("GET", "/web-vapid-public-key").json()["vapidPublicKey"]
    other = beams.with_instance(OTHER_INSTANCE).request("GET", "/web-vapid-public-key").json()["vapidPublicKey"]
    assert mine != other


@pytest.mark.parametrize("method,rest", [
    ("GET", "/devices/huawei/x"),
    ("POST", "/devices/huawei"),
    ("GET", "/nothing/here"),
    ("GET", "/devices/fcm/x/y/z"),
])
def test_unknown_routes_answer_go_plain_text_404(beams, method, rest):
    assert_go_404(beams.request(method, rest))


def test_unknown_routes_on_other_roots(beams):
    for path in ("/device_api/v2/x", "/publish_api/v1/instances/x/other", "/customer_api/v1/instances/i/users/"):
        assert_go_404(requests.get(beams.url + path))


def test_wrong_method_is_go_405(beams):
    resp = beams.request("PATCH", "/devices/fcm")
    assert (resp.status_code, resp.content) == (405, b"Method Not Allowed\n")
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_cors_preflight_and_headers(beams):
    device = beams.register("web", token=web_token("https://push.example/1"))
    origin = "http://localhost:3000"
    pre = beams.request("OPTIONS", f"/devices/web/{device}/user",
                        headers={"Origin": origin, "Access-Control-Request-Method": "PUT",
                                 "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == origin
    assert "PUT" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.headers["Access-Control-Allow-Headers"] == "authorization"
    resp = beams.request("GET", f"/devices/web/{device}", headers={"Origin": origin})
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    resp = beams.request("GET", "/web-vapid-public-key", headers={"Origin": origin})
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    err = beams.request("GET", "/devices/web/web-missing", headers={"Origin": origin})
    assert err.status_code == 404 and err.headers["Access-Control-Allow-Origin"] == origin


#: every device-scoped call (method, path after /devices/{p}/{id}, body)
DEVICE_SCOPED = [
    ("GET", "", None),
    ("PUT", "/metadata", {"sdkVersion": "1"}),
    ("PUT", "/token", {"token": "new:token"}),
    ("PUT", "/user", None),
    ("GET", "/interests", None),
    ("PUT", "/interests", {"interests": ["a"]}),
    ("POST", "/interests/a", None),
    ("DELETE", "/interests/a", None),
]


@pytest.mark.parametrize("method,rest,body", DEVICE_SCOPED, ids=[f"{m} {r or '/'}" for m, r, _ in DEVICE_SCOPED])
def test_every_device_scoped_call_says_404_for_a_device_that_does_not_exist(beams, method, rest, body):
    """The Android and iOS SDKs re-register and replay on 404 and drop the call on 400, so a
    well-formed id of a missing device must be 404 everywhere (DELETE device aside: 200)."""
    existing = beams.register("fcm")
    before = beams.state()
    headers = {"Authorization": f"Bearer {make_jwt()}"} if rest == "/user" else {}
    resp = beams.request(method, f"/devices/fcm/fcm-00000000-0000-4000-8000-000000000000{rest}", json=body,
                         headers=headers)
    assert_error(resp, 404, "Device not found", "Could not find the device.")
    assert beams.state() == before and beams.device_state(existing) is not None
