"""Interests: get (limit + cursor pagination), replace, add and remove one, and their limits."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.beams.beams_helpers import INSTANCE, SECRET, assert_error

NOT_FOUND = (404, "Device not found", "Could not find the device.")
BAD_NAME = (400, "Invalid interest name", "`interest-name` given is not valid.")
TOO_LARGE = (400, "Interest set too large",
             "Too many interests are being set for this device. Only 5000 interests per device are allowed.")


def test_put_get_add_remove(beams_any_prefix):
    client = beams_any_prefix
    device = client.register("web")
    base = f"/devices/web/{device}/interests"
    resp = client.request("PUT", base, json={"interests": ["b", "a", "b", "hello-world_=@,.;"]})
    assert (resp.status_code, resp.content) == (200, b"")
    resp = client.request("GET", base)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"interests": ["a", "b", "hello-world_=@,.;"], "responseMetadata": {}}
    assert client.request("POST", f"{base}/c").status_code == 200
    assert client.request("POST", f"{base}/c").status_code == 200  # idempotent
    assert client.request("DELETE", f"{base}/a").status_code == 200
    assert client.request("DELETE", f"{base}/zz").status_code == 200  # absent: still fine
    assert client.request("GET", base).json()["interests"] == ["b", "c", "hello-world_=@,.;"]
    assert client.device_state(device)["interests"] == ["b", "c", "hello-world_=@,.;"]
    # PUT replaces the whole set
    client.request("PUT", base, json={"interests": []})
    assert client.request("GET", base).json() == {"interests": [], "responseMetadata": {}}


def test_url_encoded_interest_name_is_decoded(beams):
    device = beams.register("web")
    assert beams.request("POST", f"/devices/web/{device}/interests/a%3Db%40c").status_code == 200
    assert beams.device_state(device)["interests"] == ["a=b@c"]


def test_pagination_with_cursor(beams):
    device = beams.register("fcm")
    names = [f"i{n:03d}" for n in range(250)]
    assert beams.request("PUT", f"/devices/fcm/{device}/interests", json={"interests": names}).status_code == 200
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 100} if cursor is None else {"limit": 100, "cursor": cursor}
        body = beams.request("GET", f"/devices/fcm/{device}/interests", params=params).json()
        seen += body["interests"]
        pages += 1
        cursor = body["responseMetadata"].get("nextCursor")
        if cursor is None:
            break
    assert (seen, pages) == (names, 3)


def test_default_limit_is_100_and_larger_is_clamped(beams):
    device = beams.register("fcm")
    beams.request("PUT", f"/devices/fcm/{device}/interests", json={"interests": [f"x{n}" for n in range(150)]})
    assert len(beams.request("GET", f"/devices/fcm/{device}/interests").json()["interests"]) == 100
    assert len(beams.request("GET", f"/devices/fcm/{device}/interests?limit=150").json()["interests"]) == 100
    body = beams.request("GET", f"/devices/fcm/{device}/interests?limit=7").json()
    assert len(body["interests"]) == 7 and "nextCursor" in body["responseMetadata"]


@pytest.mark.parametrize("query,description", [
    ("limit=0", "`limit` given is not valid."),
    ("limit=-1", "`limit` given is not valid."),
    ("limit=abc", "`limit` given is not valid."),
    ("limit=1.5", "`limit` given is not valid."),
    ("cursor=%%%", "`cursor` given is not valid."),
    ("cursor=bm90LWEtY3Vyc29y", "`cursor` given is not valid."),
])
def test_bad_limit_and_cursor(beams, query, description):
    device = beams.register("fcm")
    assert_error(beams.request("GET", f"/devices/fcm/{device}/interests?{query}"), 400, "Bad Request", description)


def test_get_interests_errors(beams):
    assert_error(beams.request("GET", "/devices/fcm/fcm-none/interests"), *NOT_FOUND)
    assert_error(beams.request("GET", "/devices/fcm//interests"),
                 400, "Incomplete Request", "`device-id` param is missing from path.")


@pytest.mark.parametrize("body,expected", [
    ({"interests": ["ok", "bad name"]}, BAD_NAME),
    ({"interests": [""]}, BAD_NAME),
    ({"interests": ["x" * 165]}, BAD_NAME),
    ({"interests": "a"}, (400, "Bad request", "Failed to read body as a JSON object.")),
    ({"interests": [1]}, (400, "Bad request", "Failed to read body as a JSON object.")),
    ({}, (400, "Bad request", "Failed to read body as a JSON object.")),
    ({"interests": [f"n{i}" for i in range(5001)]}, TOO_LARGE),
])
def test_put_interests_errors_change_nothing(beams, body, expected):
    device = beams.register("fcm")
    beams.request("PUT", f"/devices/fcm/{device}/interests", json={"interests": ["keep"]})
    assert_error(beams.request("PUT", f"/devices/fcm/{device}/interests", json=body), *expected)
    assert beams.device_state(device)["interests"] == ["keep"]


def test_put_interests_exactly_5000_and_duplicates_count_once(beams):
    device = beams.register("fcm")
    names = [f"n{i}" for i in range(5000)]
    assert beams.request("PUT", f"/devices/fcm/{device}/interests", json={"interests": names + names[:10]}).status_code == 200
    assert_error(beams.request("POST", f"/devices/fcm/{device}/interests/one-more"), *TOO_LARGE)
    assert beams.request("POST", f"/devices/fcm/{device}/interests/n1").status_code == 200
    assert len(beams.device_state(device)["interests"]) == 5000


def test_put_interests_unknown_device_and_content_type(beams):
    assert_error(beams.request("PUT", "/devices/fcm/fcm-none/interests", json={"interests": []}), *NOT_FOUND)
    assert_error(beams.request("PUT", "/devices/fcm/fcm-none/interests", data=b'{"interests":[]}'),
                 400, "Invalid content type", "Only `application/json` is supported.")


@pytest.mark.parametrize("method,title", [("POST", "Bad Request"), ("DELETE", "Incomplete Request")])
def test_add_remove_errors(beams, method, title):
    device = beams.register("apns")
    base = f"/devices/apns/{device}/interests"
    # A well-formed id of a device that does not exist is 404, like every device-scoped route:
    # the Android and iOS SDKs read 404 as "device gone" (register again, replay the call) and
    # silently drop the call on 400 (push-notifications-android internal/ServerSyncHandler.kt,
    # push-notifications-swift Sources/Services/ServerSyncProcessHandler.swift), and Pusher's
    # own fake server answers 404 here. Only a malformed id keeps the documented 400.
    assert_error(beams.request(method, "/devices/apns/apns-none/interests/a"),
                 404, "Device not found", "Could not find the device.")
    assert_error(beams.request(method, "/devices/apns/bad!id/interests/a"),
                 400, title, "`device-id` given is not valid.")
    assert_error(beams.request(method, "/devices/apns//interests/a"),
                 400, "Incomplete Request", "`device-id` param is missing from path.")
    assert_error(beams.request(method, f"{base}/"),
                 400, "Incomplete Request", "`interest-name` param is missing from path.")
    assert_error(beams.request(method, f"{base}/bad%20name"), *BAD_NAME)
    assert_error(beams.request(method, f"{base}/{'x' * 165}"), *BAD_NAME)
    assert beams.device_state(device)["interests"] == []


def test_parallel_adds_to_one_device_lose_nothing(beams):
    device = beams.register("fcm")
    names = [f"p{i:02d}" for i in range(60)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda n: beams.request("POST", f"/devices/fcm/{device}/interests/{n}").status_code,
                              names))
    assert codes == [200] * 60
    assert beams.device_state(device)["interests"] == names


def test_parallel_adds_stop_at_exactly_5000(beams):
    device = {"id": "fcm-full", "platform": "fcm", "token": "t", "interests": [f"n{i}" for i in range(4990)]}
    beams.emulator.load({"beams": {"instances": [{"instance_id": INSTANCE, "secret_key": SECRET, "devices": [device]}]}})
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda i: beams.request("POST", f"/devices/fcm/fcm-full/interests/z{i}").status_code,
                              range(30)))
    assert codes.count(200) == 10 and codes.count(400) == 20
    assert len(beams.device_state("fcm-full")["interests"]) == 5000
