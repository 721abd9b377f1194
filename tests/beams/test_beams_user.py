"""PUT .../user: the Beams JWT (HS256 over the secret key), its claim errors, the per-user
device limit, and a token made by Pusher's own Python server SDK."""
from __future__ import annotations

import base64
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from pusher_push_notifications import PushNotifications

from emulator.vendors.beams.rules import go_duration

from tests.beams.beams_helpers import (INSTANCE, OTHER_INSTANCE, OTHER_SECRET, SECRET, assert_error, make_jwt)


def test_set_user_takes_the_id_from_sub(beams_any_prefix):
    client = beams_any_prefix
    device = client.register("fcm")
    resp = client.set_user("fcm", device, make_jwt("alice"))
    assert (resp.status_code, resp.content) == (200, b"")
    assert client.request("GET", f"/devices/fcm/{device}").json()["userId"] == "alice"
    assert client.device_state(device)["user_id"] == "alice"


def test_python_sdk_token_is_accepted_and_foreign_key_refused(beams):
    device = beams.register("apns")
    token = PushNotifications(instance_id=INSTANCE, secret_key=SECRET).generate_token("sdk-user")["token"]
    assert beams.set_user("apns", device, token).status_code == 200
    assert beams.device_state(device)["user_id"] == "sdk-user"

    other = beams.register("web")
    forged = PushNotifications(instance_id=INSTANCE, secret_key="A" * 64).generate_token("sdk-user")["token"]
    assert_error(beams.set_user("web", other, forged), 401, "Unauthorized", "Invalid JWT: signature is invalid")
    assert beams.device_state(other)["user_id"] is None


def _unsigned(header: dict, payload: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc(header)}.{enc(payload)}.c2ln"


def jwt_cases():
    now = int(time.time())
    missing = ("Unauthorized", "`Authorization` header token is missing.")
    malformed = ("Unauthorized", "`Authorization` header token is malformed.")
    return [
        ("no header", None, 401, *missing),
        ("empty header", "", 401, *missing),
        ("basic scheme", "Basic YTpi", 401, *malformed),
        ("bearer without token", "Bearer", 401, *malformed),
        ("not a jwt", "Bearer abc", 401, *malformed),
        ("bad base64 segments", "Bearer a.b.c", 401, *malformed),
        ("wrong key", f"Bearer {make_jwt(secret='0' * 40)}", 401, "Unauthorized", "Invalid JWT: signature is invalid"),
        ("alg none", f"Bearer {_unsigned({'alg': 'none'}, {'sub': 'a'})}", 401, "Unauthorized",
         "Invalid JWT: signing method none is invalid"),
        ("iat in the future", f"Bearer {make_jwt(iat=now + 600)}", 401, "Unauthorized",
         "Invalid JWT claims: Token used before issued"),
        ("nbf in the future", f"Bearer {make_jwt(nbf=now + 600)}", 401, "Unauthorized",
         "Invalid JWT claims: Token is not valid yet"),
        ("no exp", f"Bearer {make_jwt(drop=('exp',))}", 400, "Bad Request", "Missing expiration (exp) field in JWT"),
        ("no sub", f"Bearer {make_jwt(drop=('sub',))}", 400, "Bad Request", "Missing subject (sub) field in JWT"),
        ("empty sub", f"Bearer {make_jwt('')}", 400, "Bad Request",
         "JWT subject (sub) must be between 1-164 characters long"),
        ("long sub", f"Bearer {make_jwt('u' * 165)}", 400, "Bad Request",
         "JWT subject (sub) must be between 1-164 characters long"),
        ("no iss", f"Bearer {make_jwt(drop=('iss',))}", 400, "Bad Request", "Missing issuer (iss) field in JWT"),
        ("wrong iss", f"Bearer {make_jwt(iss='https://other.pushnotifications.pusher.com')}", 403, "Forbidden",
         "Invalid JWT issuer."),
        ("bare-host iss", f"Bearer {make_jwt(iss=f'{INSTANCE}.pushnotifications.pusher.com')}", 403, "Forbidden",
         "Invalid JWT issuer."),
        ("other instance's token", f"Bearer {make_jwt(secret=OTHER_SECRET, instance=OTHER_INSTANCE)}", 401,
         "Unauthorized", "Invalid JWT: signature is invalid"),
    ]


@pytest.mark.parametrize("name,header,status,title,description", jwt_cases(), ids=[c[0] for c in jwt_cases()])
def test_jwt_errors(beams, name, header, status, title, description):
    device = beams.register("fcm")
    headers = {} if header is None else {"Authorization": header}
    assert_error(beams.request("PUT", f"/devices/fcm/{device}/user", headers=headers), status, title, description)
    assert beams.device_state(device)["user_id"] is None


def test_164_character_user_id_is_accepted(beams):
    device = beams.register("fcm")
    assert beams.set_user("fcm", device, make_jwt("é" * 164)).status_code == 200


def test_expired_token_says_by_how_much_in_go_duration_format(beams):
    device = beams.register("fcm")
    resp = beams.set_user("fcm", device, make_jwt(exp=int(time.time()) - 3600))
    assert (resp.status_code, resp.json()["error"]) == (401, "Unauthorized")
    assert re.fullmatch(r"Invalid JWT claims: token is expired by 1h0m[0-9]s", resp.json()["description"])
    assert beams.device_state(device)["user_id"] is None


def test_expiry_follows_the_emulator_clock(beams):
    device = beams.register("fcm")
    token = make_jwt(exp=int(time.time()) + 60)
    beams.emulator.advance_clock(125)
    resp = beams.set_user("fcm", device, token)
    assert resp.status_code == 401
    assert resp.json()["description"].startswith("Invalid JWT claims: token is expired by 1m")


def test_user_already_set_and_other_refusals(beams):
    device = beams.register("apns")
    assert beams.set_user("apns", device, make_jwt("alice")).status_code == 200
    # The same user again is 200 with an empty body: the iOS SDK sends PUT user on every
    # setUserId call and the web SDK on every setUserId with the stored id (push-notifications-swift
    # Sources/PushNotifications.swift, push-notifications-web src/push-notifications.js), and
    # Pusher's docs tell apps to call setUserId on every launch; a 400 would fail each of those.
    again = beams.set_user("apns", device, make_jwt("alice"))
    assert (again.status_code, again.content) == (200, b"")
    assert_error(beams.set_user("apns", device, make_jwt("bob")), 400, "Bad Request",
                 "A User Id is already associated with this device.")
    assert beams.device_state(device)["user_id"] == "alice"
    assert_error(beams.set_user("apns", "apns-missing", make_jwt()), 404, "Device not found",
                 "Could not find the device.")
    assert_error(beams.set_user("apns", "bad!id", make_jwt()), 400, "Bad Request", "Invalid device id.")
    assert_error(beams.request("PUT", "/devices/apns//user", headers={"Authorization": f"Bearer {make_jwt()}"}),
                 400, "Incomplete Request", "`device-id` param is missing from path.")


def _devices_for(emulator, count: int, platform: str, user: str | None = None) -> list[dict]:
    return [{"id": f"{platform}-d{i:04d}", "platform": platform, "token": f"tok{i}", "user_id": user}
            for i in range(count)]


def test_101st_device_of_a_user_on_one_platform_is_refused(beams):
    beams.emulator.load({"beams": {"instances": [{
        "instance_id": INSTANCE, "secret_key": SECRET,
        "devices": _devices_for(beams.emulator, 100, "fcm", "carol")}]}})
    extra = beams.register("fcm", token="fresh:token")
    assert_error(beams.set_user("fcm", extra, make_jwt("carol")), 422, "Unprocessable Entity",
                 "User already has reached the maximum of 100 devices.")
    assert beams.device_state(extra)["user_id"] is None
    # the limit is per platform
    ios = beams.register("apns")
    assert beams.set_user("apns", ios, make_jwt("carol")).status_code == 200


def test_same_user_again_on_a_user_at_the_device_limit_is_200(beams):
    """The same user again does not count the device a second time."""
    beams.emulator.load({"beams": {"instances": [{
        "instance_id": INSTANCE, "secret_key": SECRET,
        "devices": _devices_for(beams.emulator, 100, "fcm", "carol")}]}})
    resp = beams.set_user("fcm", "fcm-d0007", make_jwt("carol"))
    assert (resp.status_code, resp.content) == (200, b"")
    assert sum(1 for d in beams.state()["devices"] if d["user_id"] == "carol") == 100


def test_parallel_set_user_allows_exactly_100_devices(beams):
    beams.emulator.load({"beams": {"instances": [{
        "instance_id": INSTANCE, "secret_key": SECRET, "devices": _devices_for(beams.emulator, 110, "web")}]}})
    token = make_jwt("dave")
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: beams.set_user("web", f"web-d{i:04d}", token).status_code, range(110)))
    assert sorted(set(statuses)) == [200, 422]
    assert statuses.count(200) == 100
    assert sum(1 for d in beams.state()["devices"] if d["user_id"] == "dave") == 100


def test_jwt_from_pyjwt_with_iat_as_node_sdk_signs(beams):
    device = beams.register("web")
    token = jwt.encode({"sub": "erin", "iss": f"https://{INSTANCE}.pushnotifications.pusher.com",
                        "iat": int(time.time()) - 5, "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256")
    assert beams.set_user("web", device, token).status_code == 200


def test_put_user_refuses_a_non_json_content_type(beams):
    device = beams.register("fcm")
    resp = beams.request("PUT", f"/devices/fcm/{device}/user",
                         headers={"Authorization": f"Bearer {make_jwt()}", "Content-Type": "text/plain"})
    assert_error(resp, 400, "Invalid content type", "Only `application/json` is supported.")
    assert beams.device_state(device)["user_id"] is None


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (59, "59s"), (90, "1m30s"), (3600, "1h0m0s"),
                                          (90061, "25h1m1s")])
def test_go_duration_format(seconds, text):
    assert go_duration(seconds) == text
