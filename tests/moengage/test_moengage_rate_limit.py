"""The per-workspace sliding 60-second limits, their headers and their switches."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.credentials import MOENGAGE_APP, moengage_auth
from tests.moengage.moengage_client import CUSTOMER, DataApi, device_body, error_of, pipelined_statuses

DEVICE_429 = {"message": "Rate limits for customers exceeded. Please Try After Some Time",
              "type": "Rate Limits Exceeded"}


def rate_headers(resp) -> tuple[int, int, int]:
    h = resp.headers
    return int(h["x-ratelimit-limit"]), int(h["x-ratelimit-remaining"]), int(h["x-ratelimit-reset"])


def test_the_10001st_device_update_in_a_minute_is_refused_and_one_a_minute_later_accepted(
        device_emulator, workspace):
    """The documented default (10,000 devices per minute), counted request by request."""
    url = device_emulator.url
    headers = {**moengage_auth(), "Content-Type": "application/json"}

    def send_batch(worker: int) -> list[int]:
        bodies = [json.dumps(device_body(device_id=f"d{worker}-{i % 20}")).encode() for i in range(1250)]
        return pipelined_statuses(url, f"/v1/device/{MOENGAGE_APP}", bodies, headers)

    # 8 connections in parallel, so the server's group commit shares fsyncs between them
    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(send_batch, range(8)) for s in batch]
    assert statuses == [200] * 10_000

    client = DataApi(url)
    refused = client.post("device", device_body(device_id="one-too-many"))
    assert refused.status_code == 429
    assert error_of(refused) == DEVICE_429
    limit, remaining, reset = rate_headers(refused)
    assert (limit, remaining) == (10_000, 0) and 0 < reset <= 60
    assert "one-too-many" not in {d["device_id"] for d in workspace()["devices"]}

    device_emulator.advance_clock(61)
    accepted = client.post("device", device_body(device_id="a-minute-later"))
    assert accepted.status_code == 200
    assert rate_headers(accepted)[:2] == (10_000, 9_999)
    assert "a-minute-later" in {d["device_id"] for d in workspace()["devices"]}


@pytest.fixture
def small_limits(device_emulator):
    device_emulator.set_options({"moengage": {"device_rate_limit": 3, "customer_rate_limit": 2,
                                              "event_rate_limit": 5, "bulk_user_rate_limit": 4,
                                              "bulk_event_rate_limit": 6}})


def test_headers_count_down_on_every_response(api, small_limits):
    seen = [rate_headers(api.post("device", device_body()))[:2] for _ in range(3)]
    assert seen == [(3, 2), (3, 1), (3, 0)]
    # errors carry them too, without being charged when refused before the count
    unauthorised = api.post("device", device_body(), password="wrong")
    assert unauthorised.status_code == 401 and rate_headers(unauthorised)[:2] == (3, 0)
    no_auth = api.post("device", device_body(), headers={"Authorization": None})
    assert no_auth.status_code == 401 and rate_headers(no_auth)[:2] == (3, 3)


def test_window_slides_rather_than_resetting_on_the_minute(api, device_emulator, small_limits):
    api.post("device", device_body())                      # t=0
    device_emulator.advance_clock(30)
    api.post("device", device_body())                      # t=30
    api.post("device", device_body())                      # t=30
    assert api.post("device", device_body()).status_code == 429
    device_emulator.advance_clock(31)                     # t=61: the t=0 request left the window
    assert api.post("device", device_body()).status_code == 200
    assert api.post("device", device_body()).status_code == 429
    device_emulator.advance_clock(30)                     # t=91: both t=30 requests left
    assert rate_headers(api.post("device", device_body()))[:2] == (3, 1)


def test_limits_are_per_workspace_and_per_endpoint(api, device_emulator, small_limits):
    device_emulator.load({"moengage": {"workspaces": [{"app_id": "B", "api_key": "kb",
                                                       "customers": [{"customer_id": CUSTOMER}]}]}})
    for _ in range(3):
        api.post("device", device_body())
    assert api.post("device", device_body()).status_code == 429
    assert api.post("device", device_body(), app_id="B", user="B", password="kb").status_code == 200
    assert api.post("customer", {"type": "customer", "customer_id": "x"}).status_code == 200


def test_customer_429_has_its_own_words(api, small_limits):
    for _ in range(2):
        assert api.post("customer", {"type": "customer", "customer_id": "x"}).status_code == 200
    resp = api.post("customer", {"type": "customer", "customer_id": "x"})
    assert resp.status_code == 429
    assert error_of(resp) == {"message": "Rate limit exceeded", "type": "RateLimitError"}


def test_events_count_each_action(api, workspace, small_limits):
    body = {"type": "event", "customer_id": CUSTOMER, "actions": [{"action": f"a{i}"} for i in range(4)]}
    resp = api.post("event", body)
    assert resp.status_code == 200 and rate_headers(resp)[:2] == (5, 1)
    resp = api.post("event", {**body, "actions": body["actions"][:2]})
    assert resp.status_code == 429 and error_of(resp) == DEVICE_429
    assert len(workspace()["events"]) == 4
    assert api.post("event", {**body, "actions": body["actions"][:1]}).status_code == 200


def test_bulk_counts_users_and_events_and_refuses_atomically(api, workspace, small_limits):
    elements = [{"type": "customer", "customer_id": f"c{i}"} for i in range(3)] + [
        {"type": "event", "customer_id": "c0", "actions": [{"action": "x"}] * 5}]
    resp = api.post("transition", {"type": "transition", "elements": elements})
    assert resp.status_code == 200
    assert rate_headers(resp)[:2] == (4, 1)   # users 3/4 is tighter than events 5/6
    before = workspace()
    # 1 user fits but 2 events do not: nothing is counted, nothing applied
    resp = api.post("transition", {"type": "transition", "elements": [
        {"type": "customer", "customer_id": "late"}, {"type": "event", "customer_id": "c0",
                                                      "actions": [{"action": "y"}] * 2}]})
    assert resp.status_code == 429 and error_of(resp) == DEVICE_429
    assert workspace() == before
    resp = api.post("transition", {"type": "transition", "elements": [{"type": "customer", "customer_id": "late"}]})
    assert resp.status_code == 200


def test_rate_limit_can_be_switched_off(api, device_emulator, small_limits):
    device_emulator.set_options({"moengage": {"rate_limit": False}})
    statuses = [api.post("device", device_body()).status_code for _ in range(6)]
    assert statuses == [200] * 6
    assert "x-ratelimit-limit" not in api.post("device", device_body()).headers


def test_reset_forgets_rate_windows(api, device_emulator, small_limits):
    for _ in range(3):
        api.post("device", device_body())
    device_emulator.reset()
    device_emulator.set_options({"moengage": {"device_rate_limit": 3}})
    assert api.post("device", device_body()).status_code == 200


def test_default_limits_are_the_documented_ones(device_emulator):
    values = device_emulator.options()["moengage"]
    assert {k: values[k] for k in ("rate_limit", "device_rate_limit", "customer_rate_limit", "event_rate_limit",
                                   "bulk_user_rate_limit", "bulk_event_rate_limit")} == {
        "rate_limit": True, "device_rate_limit": 10_000, "customer_rate_limit": 10_000,
        "event_rate_limit": 30_000, "bulk_user_rate_limit": 60_000, "bulk_event_rate_limit": 60_000}


def test_limits_are_set_from_the_command_line(tmp_path):
    from tests.support import ServerProcess

    with ServerProcess("--db", str(tmp_path / "e.db"), "--option", "moengage.device_rate_limit=1") as server:
        client = DataApi(server.url)
        assert client.post("device", device_body()).status_code == 200
        refused = client.post("device", device_body())
        assert refused.status_code == 429 and rate_headers(refused)[:2] == (1, 0)


def test_parallel_requests_never_exceed_the_limit(device_emulator, workspace):
    """20 devices sent at once against a limit of 7: exactly 7 are stored, 13 refused."""
    device_emulator.set_options({"moengage": {"device_rate_limit": 7}})

    def send(i: int) -> int:
        return DataApi(device_emulator.url).post("device", device_body(device_id=f"p{i}")).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert sorted(statuses) == [200] * 7 + [429] * 13
    assert len(workspace()["devices"]) == 7
