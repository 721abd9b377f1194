"""Server-side routes, recorded in the state: publishes (interests, users, the older path),
user deletion (customer_api and user_api), reporting events; Pusher's Python and Node SDKs."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import requests

import pusher_push_notifications
from pusher_push_notifications import PushNotifications, PusherAuthError
from tests.beams.beams_helpers import (INSTANCE, OTHER_INSTANCE, OTHER_SECRET, SECRET, UNKNOWN_INSTANCE, assert_error,
                                       assert_go_404, error_body, make_jwt, npm_packages,
                                       server_post)

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
FCM_PAYLOAD = {"fcm": {"notification": {"title": "Hi", "body": "there"}}}


def _seed_devices(beams):
    """Three devices: fcm+web subscribed to 'news' (web also to 'sport'), apns owned by bob."""
    fcm = beams.register("fcm")
    web = beams.register("web")
    ios = beams.register("apns")
    beams.request("PUT", f"/devices/fcm/{fcm}/interests", json={"interests": ["news"]})
    beams.request("PUT", f"/devices/web/{web}/interests", json={"interests": ["news", "sport"]})
    beams.set_user("apns", ios, make_jwt("bob"))
    beams.set_user("fcm", fcm, make_jwt("bob"))
    return fcm, web, ios


def test_publish_to_interests_records_reached_devices(beams):
    fcm, web, ios = _seed_devices(beams)
    body = {"interests": ["news", "sport"], "fcm": {"notification": {"title": "x"}}, "web": {"notification": {}}}
    resp = server_post(beams.emulator, "/publishes/interests", body)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    publish_id = resp.json()["publishId"]
    assert re.fullmatch(f"pubid-{UUID4}", publish_id)
    [record] = beams.state()["publishes"]
    assert record["publish_id"] == publish_id
    assert record["interests"] == ["news", "sport"]
    assert record["request"] == body
    assert record["device_ids"] == sorted([fcm, web])
    assert isinstance(record["time"], float)


def test_publish_reaches_only_platforms_with_a_payload(beams):
    fcm, web, _ = _seed_devices(beams)
    assert server_post(beams.emulator, "/publishes/interests", {"interests": ["news"], **FCM_PAYLOAD}).status_code == 200
    assert beams.state()["publishes"][0]["device_ids"] == [fcm]


def test_older_unsuffixed_publish_path(beams):
    fcm, web, _ = _seed_devices(beams)
    resp = server_post(beams.emulator, "/publishes", {"interests": ["sport"], "web": {"notification": {}}})
    assert resp.status_code == 200
    assert beams.state()["publishes"][0]["device_ids"] == [web]


def test_publish_to_users(beams):
    fcm, web, ios = _seed_devices(beams)
    body = {"users": ["bob", "nobody"], "apns": {"aps": {"alert": "hi"}}, **FCM_PAYLOAD}
    resp = server_post(beams.emulator, "/publishes/users", body)
    assert resp.status_code == 200
    [record] = beams.state()["publishes"]
    assert record["users"] == ["bob", "nobody"] and record["device_ids"] == sorted([fcm, ios])


SCHEMA_CASES = [
    ("/publishes/interests", {**FCM_PAYLOAD}, "`interests`: interests is required"),
    ("/publishes/interests", {"interests": "news", **FCM_PAYLOAD},
     "`interests`: Invalid type. Expected: array, given: string"),
    ("/publishes/interests", {"interests": [], **FCM_PAYLOAD}, "`interests`: Array must have at least 1 items"),
    ("/publishes/interests", {"interests": [f"i{n}" for n in range(101)], **FCM_PAYLOAD},
     "`interests`: Array must have at most 100 items"),
    ("/publishes/interests", {"interests": ["ok", "bad name"], **FCM_PAYLOAD},
     "`interests.1`: Does not match pattern '^[a-zA-Z0-9_\\-=@,.;]+$'"),
    ("/publishes/interests", {"interests": [7], **FCM_PAYLOAD}, "`interests.0`: Invalid type. Expected: string, given: integer"),
    ("/publishes/interests", {"interests": ["x" * 165], **FCM_PAYLOAD},
     "`interests.0`: String length must be less than or equal to 164"),
    ("/publishes/interests", {"interests": ["news"]}, "`(root)`: Must validate at least one schema (anyOf)"),
    ("/publishes/interests", {"interests": ["news"], "fcm": "x"}, "`fcm`: Invalid type. Expected: object, given: string"),
    ("/publishes/interests", {"interests": ["news"], "webhookUrl": 1, **FCM_PAYLOAD},
     "`webhookUrl`: Invalid type. Expected: string, given: integer"),
    ("/publishes/users", {**FCM_PAYLOAD}, "`users`: users is required"),
    ("/publishes/users", {"users": [f"u{n}" for n in range(1001)], **FCM_PAYLOAD},
     "`users`: Array must have at most 1000 items"),
    ("/publishes/users", {"users": [""], **FCM_PAYLOAD}, "`users.0`: String length must be greater than or equal to 1"),
    ("/publishes/users", {"users": ["u" * 165], **FCM_PAYLOAD},
     "`users.0`: String length must be less than or equal to 164"),
]


@pytest.mark.parametrize("path,body,description", SCHEMA_CASES)
def test_publish_schema_errors(beams, path, body, description):
    assert_error(server_post(beams.emulator, path, body), 422, "Unprocessable Entity", description)
    assert beams.state()["publishes"] == []


def test_publish_limits_at_the_boundary_are_accepted(beams):
    assert server_post(beams.emulator, "/publishes/interests",
                       {"interests": [f"i{n}" for n in range(100)], **FCM_PAYLOAD}).status_code == 200
    assert server_post(beams.emulator, "/publishes/users",
                       {"users": [f"u{n}" for n in range(1000)], **FCM_PAYLOAD}).status_code == 200


def test_publish_body_size_limits(beams):
    big = {"interests": ["news"], "fcm": {"data": {"blob": "x" * (10 * 1024)}}}
    assert_error(server_post(beams.emulator, "/publishes/interests", big), 400, "Bad request",
                 "Request body size is too large (max 10KiB).")
    assert server_post(beams.emulator, "/publishes/users", {**big, "users": ["u"]}).status_code == 200
    huge = {"users": ["u"], "fcm": {"data": {"blob": "x" * (200 * 1024)}}}
    assert_error(server_post(beams.emulator, "/publishes/users", huge), 400, "Bad request",
                 "Request body size is too large (max 200KiB).")
    assert len(beams.state()["publishes"]) == 1


def test_publish_auth_and_request_errors(beams):
    em = beams.emulator
    body = {"interests": ["news"], **FCM_PAYLOAD}
    url = f"{em.url}/publish_api/v1/instances/{INSTANCE}/publishes/interests"
    assert_error(requests.post(url, json=body), 400, "Incomplete Request", "Authorization header is missing.")
    assert_error(server_post(em, "/publishes/interests", body, secret="wrong"), 401, "Unauthorized",
                 "Incorrect Secret Key")
    assert_error(requests.post(url, json=body, headers={"Authorization": f"Basic {SECRET}"}), 401, "Unauthorized",
                 "Incorrect Secret Key")
    assert_error(server_post(em, "/publishes/interests", body, instance=UNKNOWN_INSTANCE), 404, "Instance not found",
                 "Could not find the instance")
    assert_error(server_post(em, "/publishes/interests", body, instance="not-a-uuid"), 404, "Instance not found",
                 "Could not find the instance")
    assert_error(requests.post(f"{em.url}/publish_api/v1/instances//publishes/interests", json=body,
                               headers={"Authorization": f"Bearer {SECRET}"}),
                 400, "Incomplete Request", "`instance-id` param is missing from path.")
    assert_error(requests.post(url, data=json.dumps(body), headers={"Authorization": f"Bearer {SECRET}"}),
                 400, "Invalid content type", "Only `application/json` is supported.")
    assert_error(requests.post(url, data=b"[1]", headers={"Authorization": f"Bearer {SECRET}",
                                                          "Content-Type": "application/json"}),
                 400, "Bad request", "Failed to read body as a JSON object.")
    assert beams.state()["publishes"] == []


def test_secret_of_one_instance_cannot_publish_to_another(beams):
    body = {"interests": ["news"], **FCM_PAYLOAD}
    assert_error(server_post(beams.emulator, "/publishes/interests", body, secret=OTHER_SECRET), 401, "Unauthorized",
                 "Incorrect Secret Key")
    assert server_post(beams.emulator, "/publishes/interests", body, secret=OTHER_SECRET,
                       instance=OTHER_INSTANCE).status_code == 200
    assert beams.state()["publishes"] == []


def test_rate_limit_option(beams):
    """Off by default; set to N it refuses the (N+1)th call within a second (100 is the real
    value). The emulator's clock is frozen, so the one-second window cannot slide mid-test."""
    emulator = beams.emulator
    emulator.freeze_clock()
    emulator.set_options({"beams": {"rate_limit": 3}})
    body = {"interests": ["news"], **FCM_PAYLOAD}
    for _ in range(3):
        assert server_post(emulator, "/publishes/interests", body).status_code == 200
    resp = requests.delete(f"{emulator.url}/customer_api/v1/instances/{INSTANCE}/users/u",
                           headers={"Authorization": f"Bearer {SECRET}"})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    assert resp.content == error_body("Rate Limited",
                                      "Too many requests being made in quick succession (max 3 RPS).")
    state = beams.state()
    assert len(state["publishes"]) == 3 and state["deleted_users"] == []
    emulator.advance_clock(1.5)
    assert server_post(emulator, "/publishes/interests", body).status_code == 200


def test_rate_limit_is_off_by_default(beams):
    body = {"interests": ["news"], **FCM_PAYLOAD}
    assert {server_post(beams.emulator, "/publishes/interests", body).status_code for _ in range(120)} == {200}


@pytest.mark.parametrize("root", ["customer_api", "user_api"])
def test_delete_user_deletes_their_devices(beams, root):
    fcm, web, ios = _seed_devices(beams)
    url = f"{beams.url}/{root}/v1/instances/{INSTANCE}/users/bob"
    resp = requests.delete(url, headers={"Authorization": f"Bearer {SECRET}"})
    assert (resp.status_code, resp.content) == (200, b"")
    state = beams.state()
    assert [d["id"] for d in state["devices"]] == [web]
    [deleted] = state["deleted_users"]
    assert deleted["user_id"] == "bob" and deleted["device_ids"] == sorted([fcm, ios])
    assert_error(beams.request("GET", f"/devices/fcm/{fcm}"), 404, "Device not found", "Could not find the device.")
    # unknown user: still 200
    assert requests.delete(url.replace("/bob", "/nobody"), headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200


def test_delete_user_errors(beams):
    fcm, _, _ = _seed_devices(beams)
    base = f"{beams.url}/customer_api/v1/instances"
    auth = {"Authorization": f"Bearer {SECRET}"}
    assert_error(requests.delete(f"{base}/{INSTANCE}/users/bob"), 400, "Incomplete Request",
                 "Authorization header is missing.")
    assert_error(requests.delete(f"{base}/{INSTANCE}/users/bob", headers={"Authorization": "Bearer nope"}), 401,
                 "Unauthorized", "Incorrect Secret Key")
    assert_error(requests.delete(f"{base}/{UNKNOWN_INSTANCE}/users/bob", headers=auth), 404, "Instance not found",
                 "Could not find the instance")
    assert_error(requests.delete(f"{base}/{INSTANCE}/users/{'u' * 165}", headers=auth), 400, "Bad request",
                 "'User id' is too long, max length is 164")
    assert_go_404(requests.delete(f"{base}/{INSTANCE}/users/", headers=auth))
    assert beams.device_state(fcm)["user_id"] == "bob"
    assert beams.state()["deleted_users"] == []


def test_delete_user_with_encoded_id(beams):
    device = beams.register("fcm")
    beams.set_user("fcm", device, make_jwt("a b/c"))
    resp = requests.delete(f"{beams.url}/user_api/v1/instances/{INSTANCE}/users/{urllib.parse.quote('a b/c', safe='')}",
                           headers={"Authorization": f"Bearer {SECRET}"})
    assert resp.status_code == 200
    assert beams.device_state(device) is None
    # '+' in a path is not a space: "a+b" is its own user
    spaced = beams.register("web")
    beams.set_user("web", spaced, make_jwt("a b"))
    requests.delete(f"{beams.url}/user_api/v1/instances/{INSTANCE}/users/a+b", headers={"Authorization": f"Bearer {SECRET}"})
    assert beams.device_state(spaced)["user_id"] == "a b"
    assert beams.state()["deleted_users"][-1]["user_id"] == "a+b"


# -- reporting ---------------------------------------------------------------------------------
def _report(beams, body, instance=INSTANCE, **kw):
    return requests.post(f"{beams.url}/reporting_api/v2/instances/{instance}/events", json=body, timeout=30, **kw)


def test_reporting_events_are_recorded(beams):
    web_event = {"publishId": "pubid-1", "event": "delivery", "deviceId": "web-1", "userId": None,
                 "timestampSecs": 1700000000, "appInBackground": True, "hasDisplayableContent": True, "hasData": False}
    android_event = {"event": "Open", "instanceId": INSTANCE, "publishId": "pubid-1", "deviceId": "fcm-1",
                     "timestampSecs": 1700000001}
    for event in (web_event, android_event):
        resp = _report(beams, event)
        assert (resp.status_code, resp.content) == (200, b"")
    assert [e["body"] for e in beams.state()["events"]] == [web_event, android_event]


@pytest.mark.parametrize("body,description", [
    ({"publishId": "p", "deviceId": "d", "timestampSecs": 1}, "`event` is missing from body."),
    ({"event": "delivery", "deviceId": "d", "timestampSecs": 1}, "`publishId` is missing from body."),
    ({"event": "delivery", "publishId": "p", "timestampSecs": 1}, "`deviceId` is missing from body."),
    ({"event": "delivery", "publishId": "p", "deviceId": "d"}, "`timestampSecs` is missing from body."),
    ({"event": "delivery", "publishId": "p", "deviceId": "d", "timestampSecs": 1.5},
     "Failed to read body as a JSON object."),
    ({"event": "delivery", "publishId": "p", "deviceId": "d", "timestampSecs": 1, "hasData": "yes"},
     "Failed to read body as a JSON object."),
    ({"event": "clicked", "publishId": "p", "deviceId": "d", "timestampSecs": 1},
     "`event` must be one of: delivery, open."),
])
def test_reporting_body_errors(beams, body, description):
    assert_error(_report(beams, body), 400, "Bad request", description)
    assert beams.state()["events"] == []


def test_reporting_path_and_content_type_errors(beams):
    ok = {"event": "open", "publishId": "p", "deviceId": "d", "timestampSecs": 1}
    assert_error(_report(beams, ok, instance="nope"), 400, "Bad request",
                 "The instance id given is invalid. It is expected to be in this format: "
                 "426abfc7-41fe-492f-bcf1-27586fa9bd3f .")
    assert_error(_report(beams, ok, instance=""), 400, "Incomplete Request", "`instance-id` param is missing from path.")
    assert_error(_report(beams, ok, instance=UNKNOWN_INSTANCE), 404, "Instance not found", "Could not find the instance.")
    assert_error(requests.post(f"{beams.url}/reporting_api/v2/instances/{INSTANCE}/events", data=json.dumps(ok)),
                 400, "Invalid content type", "Only `application/json` is supported.")
    assert beams.state()["events"] == []


# -- official server SDKs -----------------------------------------------------------------------
def test_python_sdk_publishes_and_deletes_over_http(beams, monkeypatch):
    """The Python SDK forces https; its one URL builder is patched to http (see docs/vendors/beams.md)."""
    fcm, web, ios = _seed_devices(beams)
    real = pusher_push_notifications._make_url
    monkeypatch.setattr(pusher_push_notifications, "_make_url", lambda scheme, host, path: real("http", host, path))
    host = urllib.parse.urlsplit(beams.url).netloc
    client = PushNotifications(instance_id=INSTANCE, secret_key=SECRET, endpoint=host)
    publish_id = client.publish_to_interests(["news"], {"web": {"notification": {"title": "x"}}})["publishId"]
    client.publish_to_users(["bob"], FCM_PAYLOAD)
    client.delete_user("bob")
    state = beams.state()
    assert [p["device_ids"] for p in state["publishes"]] == [[web], [fcm]]
    assert state["publishes"][0]["publish_id"] == publish_id
    assert state["deleted_users"][0]["device_ids"] == sorted([fcm, ios])
    with pytest.raises(PusherAuthError, match="Unauthorized: Incorrect Secret Key"):
        PushNotifications(instance_id=INSTANCE, secret_key="wrong", endpoint=host).delete_user("x")


NODE_SCRIPT = r"""
const PushNotifications = require('@pusher/push-notifications-server');
const cfg = JSON.parse(process.argv[2]);
const client = new PushNotifications({instanceId: cfg.instance, secretKey: cfg.secret,
                                      endpoint: cfg.host, port: cfg.port});
const bad = new PushNotifications({instanceId: cfg.instance, secretKey: 'wrong', endpoint: cfg.host, port: cfg.port});
(async () => {
  const out = {};
  out.interests = await client.publishToInterests(['news'], {web: {notification: {title: 'hi'}}});
  out.users = await client.publishToUsers(['bob'], {apns: {aps: {alert: 'hi'}}});
  out.deleted = (await client.deleteUser('bob')) === undefined;
  out.token = client.generateToken('node-user').token;
  try { await bad.publishToInterests(['news'], {fcm: {}}); out.error = null; }
  catch (e) { out.error = e.message; }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    """@pusher/push-notifications-server, installed by the test itself."""
    return npm_packages("server-sdk", ["@pusher/push-notifications-server@1"])


def test_node_sdk_publishes_to_interests_and_users_and_deletes_a_user(beams, node_sdk):
    fcm, web, ios = _seed_devices(beams)
    parts = urllib.parse.urlsplit(beams.url)
    script = node_sdk / "beams_sdk_check.js"
    script.write_text(NODE_SCRIPT)
    cfg = {"instance": INSTANCE, "secret": SECRET, "host": parts.hostname, "port": parts.port}
    run = subprocess.run(["node", str(script), json.dumps(cfg)], capture_output=True, text=True, timeout=60,
                         cwd=node_sdk)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert re.fullmatch(f"pubid-{UUID4}", out["interests"]["publishId"])
    assert out["deleted"] is True
    assert out["error"] == "401 Unauthorized - Incorrect Secret Key"
    state = beams.state()
    assert [(p.get("interests"), p.get("users"), p["device_ids"]) for p in state["publishes"]] == [
        (["news"], None, [web]), (None, ["bob"], [ios])]
    assert state["publishes"][0]["publish_id"] == out["interests"]["publishId"]
    assert state["deleted_users"][0]["user_id"] == "bob"
    assert {d["id"] for d in state["devices"]} == {web}
    # the SDK's own token (it adds iat) is accepted by PUT .../user
    assert beams.set_user("web", web, out["token"]).status_code == 200
    journal = beams.emulator.requests("beams", method="DELETE")
    assert journal[0]["path"] == f"/user_api/v1/instances/{INSTANCE}/users/bob"
    assert journal[0]["request_headers"]["X-Pusher-Library"].startswith("pusher-push-notifications-node")
