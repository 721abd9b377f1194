"""The delivery ledger for Beams: every publish to interests or users is resolved to devices when
it is accepted; each selected device gets a delivery (or a failed one, with the reason), and the
control plane explains why any other device of the instance got nothing."""
from __future__ import annotations

import json

import pytest
import requests

from emulator.pytest_plugin import EmulatorError
from tests.beams.beams_helpers import INSTANCE, OTHER_INSTANCE, SECRET, assert_error, server_post

FCM = {"notification": {"title": "Hi", "body": "fcm"}}
APNS = {"aps": {"alert": {"title": "Hi", "body": "apns"}}}
WEB = {"notification": {"title": "Hi", "body": "web"}}


def device(device_id: str, platform: str, *, user: str | None = None, interests: tuple[str, ...] = ()) -> dict:
    return {"id": device_id, "platform": platform, "token": f"tok-{device_id}", "user_id": user,
            "interests": list(interests)}


@pytest.fixture
def loaded(beams):
    beams.emulator.load({"beams": {"instances": [{"instance_id": INSTANCE, "secret_key": SECRET, "devices": [
        device("fcm-news", "fcm", user="alice", interests=("news",)),
        device("apns-both", "apns", user="bob", interests=("sports", "news")),
        device("web-sports", "web", interests=("sports",)),
        device("fcm-none", "fcm", user="carol"),
        device("web-alice", "web", user="alice"),
    ]}]}})
    return beams


def publish(beams, target: str, body: dict) -> str:
    resp = server_post(beams.emulator, f"/publishes/{target}", body)
    assert resp.status_code == 200, resp.text
    return json.loads(resp.content)["publishId"]


def rows(beams, publish_id: str) -> list[tuple]:
    return sorted((d["device_id"], d["platform"], d["status"], d["reason"], json.dumps(d["matched_by"]),
                   json.dumps(d["payload"]))
                  for d in beams.emulator.deliveries(vendor="beams", publish_id=publish_id))


def explain(beams, publish_id: str, device_id: str) -> tuple[bool, str]:
    answer = beams.emulator.explain(publish_id, device_id, vendor="beams", tenant=INSTANCE)
    return answer["delivered"], answer["reason"]


def test_an_interests_publish_reaches_every_subscribed_device_with_its_platform_payload(loaded):
    pid = publish(loaded, "interests", {"interests": ["sports", "news"], "fcm": FCM, "apns": APNS})
    assert rows(loaded, pid) == sorted([
        ("apns-both", "apns", "delivered", "subscribed to sports", '{"interest": "sports"}', json.dumps(APNS)),
        ("fcm-news", "fcm", "delivered", "subscribed to news", '{"interest": "news"}', json.dumps(FCM)),
        ("web-sports", "web", "failed", "the publish has no web payload", '{"interest": "sports"}', "null"),
    ])
    entries = loaded.emulator.deliveries(vendor="beams", publish_id=pid)
    assert {e["tenant"] for e in entries} == {INSTANCE}
    # the recorded publish keeps the devices it was delivered to
    [recorded] = loaded.state()["publishes"]
    assert recorded["device_ids"] == ["apns-both", "fcm-news"]
    assert explain(loaded, pid, "fcm-news") == (True, "subscribed to news")
    assert explain(loaded, pid, "web-sports") == (False, "the publish has no web payload")
    assert explain(loaded, pid, "fcm-none") == (False, "not subscribed to any of sports, news")


def test_a_users_publish_reaches_every_device_of_each_user(loaded):
    pid = publish(loaded, "users", {"users": ["alice", "bob", "nobody"], "fcm": FCM, "web": WEB})
    assert rows(loaded, pid) == sorted([
        ("apns-both", "apns", "failed", "the publish has no apns payload", '{"user": "bob"}', "null"),
        ("fcm-news", "fcm", "delivered", "device of user alice", '{"user": "alice"}', json.dumps(FCM)),
        ("web-alice", "web", "delivered", "device of user alice", '{"user": "alice"}', json.dumps(WEB)),
    ])
    assert loaded.state()["publishes"][0]["device_ids"] == ["fcm-news", "web-alice"]
    assert explain(loaded, pid, "fcm-none") == (False, "device of user carol, not one of alice, bob, nobody")
    assert explain(loaded, pid, "web-sports") == (False, "device has no user; the publish targets alice, bob, nobody")


def test_a_device_deleted_before_the_publish_is_explained(loaded):
    assert requests.delete(f"{loaded.url}/customer_api/v1/instances/{INSTANCE}/users/bob",
                           headers={"Authorization": f"Bearer {SECRET}"}, timeout=30).status_code == 200
    assert loaded.request("DELETE", "/devices/web/web-sports").status_code == 200
    pid = publish(loaded, "users", {"users": ["bob"], "apns": APNS})
    assert rows(loaded, pid) == []
    assert loaded.state()["publishes"][0]["device_ids"] == []
    assert explain(loaded, pid, "apns-both") == (False, "device of user bob, deleted before the publish")
    assert explain(loaded, pid, "web-sports") == (False, "device, deleted before the publish")


def test_a_device_registered_after_the_publish_is_explained(loaded):
    pid = publish(loaded, "interests", {"interests": ["news"], "fcm": FCM})
    loaded.emulator.advance_clock(5)
    later = loaded.register("fcm")
    assert loaded.request("POST", f"/devices/fcm/{later}/interests/news").status_code == 200
    assert explain(loaded, pid, later) == (False, "registered after the publish")


def test_an_invalidated_token_fails_the_next_delivery_and_the_device_is_removed(loaded):
    dead = loaded.emulator.invalidate_token("beams", INSTANCE, "fcm-news", "Unregistered")
    assert {k: dead[k] for k in ("vendor", "tenant", "device_id", "reason")} == {
        "vendor": "beams", "tenant": INSTANCE, "device_id": "fcm-news", "reason": "Unregistered"}
    assert loaded.device_state("fcm-news") is not None  # nothing happens until a publish reaches it
    pid = publish(loaded, "interests", {"interests": ["news"], "fcm": FCM, "apns": APNS})
    assert rows(loaded, pid) == sorted([
        ("apns-both", "apns", "delivered", "subscribed to news", '{"interest": "news"}', json.dumps(APNS)),
        ("fcm-news", "fcm", "failed", "token invalidated: Unregistered", '{"interest": "news"}', json.dumps(FCM)),
    ])
    assert loaded.state()["publishes"][0]["device_ids"] == ["apns-both"]
    assert explain(loaded, pid, "fcm-news") == (False, "token invalidated: Unregistered")
    # Pusher removes the device: its SDK's next call gets 404 and it registers again
    assert loaded.device_state("fcm-news") is None
    assert_error(loaded.request("POST", "/devices/fcm/fcm-news/interests/x"), 404, "Device not found",
                 "Could not find the device.")
    later = publish(loaded, "users", {"users": ["alice"], "fcm": FCM})
    assert explain(loaded, later, "fcm-news") == (
        False, "device of user alice, deleted before the publish (its token was reported invalid: Unregistered)")
    with pytest.raises(EmulatorError) as gone:
        loaded.emulator.invalidate_token("beams", INSTANCE, "fcm-news")
    assert gone.value.status == 404


def test_a_dead_token_on_a_platform_without_payload_is_not_reported_and_the_device_stays(loaded):
    loaded.emulator.invalidate_token("beams", INSTANCE, "web-sports", "NotRegistered")
    pid = publish(loaded, "interests", {"interests": ["sports"], "apns": APNS})
    assert explain(loaded, pid, "web-sports") == (False, "the publish has no web payload")
    assert loaded.device_state("web-sports") is not None  # nothing was sent, so nothing was reported


def test_a_refreshed_fcm_token_is_alive_again(loaded):
    loaded.emulator.invalidate_token("beams", INSTANCE, "fcm-news")
    assert loaded.request("PUT", "/devices/fcm/fcm-news/token", json={"token": "fresh:token"}).status_code == 200
    pid = publish(loaded, "interests", {"interests": ["news"], "fcm": FCM})
    assert explain(loaded, pid, "fcm-news") == (True, "subscribed to news")


def test_explain_refuses_unknown_publishes_and_devices_and_other_instances(loaded):
    pid = publish(loaded, "interests", {"interests": ["news"], "fcm": FCM})
    for publish_id, device_id, tenant in ((pid, "fcm-unknown", INSTANCE), ("pubid-unknown", "fcm-news", INSTANCE),
                                          (pid, "fcm-news", OTHER_INSTANCE)):
        with pytest.raises(EmulatorError) as refused:
            loaded.emulator.explain(publish_id, device_id, vendor="beams", tenant=tenant)
        assert refused.value.status == 404
    with pytest.raises(EmulatorError) as other:
        loaded.emulator.invalidate_token("beams", OTHER_INSTANCE, "fcm-news")
    assert other.value.status == 404


def test_a_refused_publish_records_no_delivery(loaded):
    before = loaded.state()
    resp = server_post(loaded.emulator, "/publishes/interests", {"interests": ["news"]})
    assert resp.status_code == 422
    assert loaded.emulator.deliveries(vendor="beams") == []
    assert loaded.state() == before
