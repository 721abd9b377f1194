"""The control plane and the shared envelope around every handler, on a real server with a toy vendor."""
from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from emulator import __version__
from emulator.pytest_plugin import EmulatorError

from tests.core.toy import ToyServer, start_toy


def test_health(toy):
    r = requests.get(toy.url + "/_emulator/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["vendors"] == ["toy"]
    assert body["db"].endswith("toy.db")
    assert body["profiles"] == {"toy": "plain"}


@pytest.mark.parametrize("method,path", [
    ("GET", "/_emulator/health"),
    ("GET", "/toy/items/alpha"),
    ("GET", "/toy/items/missing"),
    ("GET", "/toy/nowhere"),
    ("GET", "/elsewhere"),
    ("GET", "/toy/boom"),
])
def test_version_header_on_every_response(toy, method, path):
    r = requests.request(method, toy.url + path)
    assert r.headers["X-Device-Emulator"] == __version__


def test_unknown_route_answers_in_vendor_style(toy):
    r = requests.get(toy.url + "/toy/nowhere")
    assert r.status_code == 404
    assert r.text == "toy has no GET /toy/nowhere\n"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = requests.delete(toy.url + "/toy/items/alpha")
    assert r.status_code == 405
    assert r.text == "toy has no DELETE /toy/items/alpha\n"


def test_path_of_no_vendor_gets_json_404(toy):
    r = requests.get(toy.url + "/not-a-vendor/x")
    assert r.status_code == 404
    assert r.json()["error"] == "no such route"
    assert r.json()["path"] == "/not-a-vendor/x"


def test_control_plane_path_with_another_method_is_json_405_and_journaled_nowhere(toy):
    """The catch-all route after every other: 405 when a route serves the path with other
    methods (as aiohttp's router answers), 404 otherwise; the control plane is not journaled."""
    before = requests.get(toy.url + "/_emulator/requests").json()["count"]
    r = requests.delete(toy.url + "/_emulator/health")
    assert (r.status_code, r.json()) == (405, {
        "error": "no such method", "method": "DELETE", "path": "/_emulator/health",
        "hint": "vendor routes are listed at /_emulator/openapi.json; see the README"})
    r = requests.get(toy.url + "/_emulator/nowhere")
    assert (r.status_code, r.json()["error"]) == (404, "no such route")
    assert requests.get(toy.url + "/_emulator/requests").json()["count"] == before


def test_handler_crash_is_answered_in_vendor_shape_without_traceback(toy):
    r = requests.get(toy.url + "/toy/boom")
    assert r.status_code == 500
    assert r.json() == {"toy_error": "generic", "status": 500}
    assert "Traceback" not in r.text


def test_refused_write_rolls_back_only_itself(toy):
    r = requests.post(toy.url + "/toy/items/alpha/fail")
    assert r.status_code == 409
    assert r.json() == {"toy_error": "refused after writing", "status": 409}
    assert requests.get(toy.url + "/toy/items/alpha").json() == {"name": "alpha", "value": 1}


def test_oversized_body_is_the_vendors_error(toy):
    r = requests.post(toy.url + "/toy/items", json={"name": "x" * 2000})
    assert r.status_code == 413
    assert r.json() == {"toy_error": "too_large", "status": 413}


def test_state_export_round_trips_through_put(toy):
    exported = toy.state()
    assert exported == {"toy": {"items": [{"name": "alpha", "value": 1, "tags": ["x"]},
                                          {"name": "beta", "value": 2, "tags": []}]}}
    toy.replace_state(exported)
    assert toy.state() == exported


@pytest.mark.parametrize("doc,path,message", [
    ([], "$", "expected an object, got an array"),
    ({"nope": {}}, "$.nope", "unknown vendor (expected one of toy)"),
    ({"toy": []}, "$.toy", "expected an object, got an array"),
    ({"toy": {"items": [{"name": "ok", "value": 1}, {"name": "BAD!", "value": 1}]}},
     "$.toy.items[1].name", "'BAD!' does not match [a-z0-9-]{1,40}"),
    ({"toy": {"items": [{"name": "ok", "value": "1"}]}}, "$.toy.items[0].value", "expected an integer, got a string"),
    ({"toy": {"items": [{"name": "ok"}]}}, "$.toy.items[0].value", "is required"),
    ({"toy": {"items": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}},
     "$.toy.items[1].name", "duplicate item name 'a' (first at $.toy.items[0].name)"),
])
def test_put_state_with_a_bad_document_names_the_problem_and_changes_nothing(toy, doc, path, message):
    before = toy.state()
    r = requests.put(toy.url + "/_emulator/state", json=doc)
    assert r.status_code == 400
    assert r.json() == {"error": message, "path": path}
    assert toy.state() == before


def test_put_state_refuses_invalid_json(toy):
    before = toy.state()
    r = requests.put(toy.url + "/_emulator/state", data=b"{not json",
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": "body must be a JSON document (invalid_json)", "path": "$"}
    assert toy.state() == before


def test_put_state_replaces_everything(toy):
    toy.replace_state({"toy": {"items": [{"name": "gamma", "value": 7}]}})
    assert toy.state() == {"toy": {"items": [{"name": "gamma", "value": 7, "tags": []}]}}
    toy.replace_state({})
    assert toy.state() == {"toy": {"items": []}}


def test_fixtures_merge_adds_and_updates_but_removes_nothing(toy):
    toy.load({"toy": {"items": [{"name": "beta", "value": 20, "tags": ["y"]}, {"name": "gamma", "value": 3}]}})
    assert toy.state("toy") == {"items": [
        {"name": "alpha", "value": 1, "tags": ["x"]},
        {"name": "beta", "value": 20, "tags": ["y"]},
        {"name": "gamma", "value": 3, "tags": []},
    ]}
    with pytest.raises(EmulatorError) as err:
        toy.load({"toy": {"items": [{"name": "delta"}]}})
    assert err.value.status == 400
    assert err.value.body == {"error": "is required", "path": "$.toy.items[0].value"}


def test_reset_restores_the_startup_fixtures(toy):
    requests.post(toy.url + "/toy/items", json={"name": "alpha", "add": 5})
    requests.post(toy.url + "/toy/items", json={"name": "new"})
    toy.reset()
    assert toy.state() == {"toy": {"items": [{"name": "alpha", "value": 1, "tags": ["x"]},
                                             {"name": "beta", "value": 2, "tags": []}]}}
    requests.post(toy.url + "/toy/items", json={"name": "new"})
    toy.reset("toy")
    assert [i["name"] for i in toy.state("toy")["items"]] == ["alpha", "beta"]


def test_reset_of_an_unknown_vendor_is_refused(toy):
    r = requests.post(toy.url + "/_emulator/reset?vendor=nope")
    assert r.status_code == 400
    assert r.json() == {"error": "unknown vendor 'nope'; known: toy"}


def test_journal_records_vendor_requests_newest_first_with_filters(toy):
    requests.post(toy.url + "/toy/items", json={"name": "j1"})
    requests.get(toy.url + "/toy/items/j1")
    requests.get(toy.url + "/toy/items/missing")
    requests.get(toy.url + "/_emulator/health")  # the control plane is not journaled
    entries = toy.requests()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/toy/items/missing", 404), ("GET", "/toy/items/j1", 200), ("POST", "/toy/items", 201)]
    first = entries[-1]
    assert first["vendor"] == "toy"
    assert first["request_body"] == '{"name": "j1"}'
    assert first["response_body"] == '{"name":"j1","value":1}'
    assert first["duration_ms"] >= 0
    assert toy.requests(status=404)[0]["path"] == "/toy/items/missing"
    assert [e["path"] for e in toy.requests(method="post")] == ["/toy/items"]
    assert [e["path"] for e in toy.requests(path="/toy/items/*")] == ["/toy/items/missing", "/toy/items/j1"]
    assert len(toy.requests(limit=1)) == 1
    toy.clear_requests()
    assert toy.requests() == []


def test_journal_is_bounded_and_bodies_are_truncated(tmp_path):
    server = start_toy(tmp_path, journal_size=5)
    try:
        emu = ToyServer(server)
        for i in range(12):
            requests.get(emu.url + f"/toy/items/n{i}")
        entries = emu.requests()
        assert [e["path"] for e in entries] == [f"/toy/items/n{i}" for i in range(11, 6, -1)]
        assert server.context.journal.size == 5
        requests.post(emu.url + "/toy/items", data="x" * 10000, headers={"Content-Type": "application/json"})
        body = emu.requests(method="POST")[0]["request_body"]
        assert body.startswith("x" * 4096) and body.endswith("...[truncated, 10000 chars]")
    finally:
        server.stop()


def test_options_change_at_run_time_and_reset_restores_them(toy):
    assert requests.get(toy.url + "/toy/profile").json() == {"profile": "plain", "loud": False, "auth": "strict"}
    toy.set_options({"toy": {"profile": "fancy", "loud": "on"}, "auth": "open"})
    assert requests.get(toy.url + "/toy/profile").json() == {"profile": "fancy", "loud": True, "auth": "open"}
    toy.reset()
    assert requests.get(toy.url + "/toy/profile").json() == {"profile": "plain", "loud": False, "auth": "strict"}


@pytest.mark.parametrize("doc,message", [
    ({"toy": {"profile": "weird"}}, "toy.profile: expected one of plain, fancy, got 'weird'"),
    ({"toy": {"nope": 1}}, "toy.nope: unknown option (known: loud, profile)"),
    ({"auth": "sometimes"}, "auth: expected one of strict, open, got 'sometimes'"),
    ({"nope": {}}, "nope: unknown vendor or option"),
    ({"toy": {"profile": "fancy", "loud": "maybe"}}, "toy.loud: expected a boolean (true/false), got 'maybe'"),
])
def test_bad_options_are_refused_whole(toy, doc, message):
    r = requests.patch(toy.url + "/_emulator/options", json=doc)
    assert r.status_code == 400
    assert r.json() == {"error": message}
    assert toy.options()["toy"] == {"profile": "plain", "loud": False}


def test_startup_profile_and_options_come_from_config(tmp_path):
    server = start_toy(tmp_path, profiles={"toy": "fancy"}, options={"toy": {"loud": "yes"}}, auth="open")
    try:
        assert requests.get(server.url + "/toy/profile").json() == {"profile": "fancy", "loud": True, "auth": "open"}
    finally:
        server.stop()


def test_clock_moves_and_reset_puts_it_back(toy):
    before = requests.get(toy.url + "/_emulator/clock").json()
    assert before["offset_seconds"] == 0
    moved = toy.advance_clock(3600)
    assert moved - before["now"] >= 3600
    r = requests.post(toy.url + "/_emulator/clock", json={"set": 2_000_000_000})
    assert r.json()["iso"].startswith("2033-05-18T03:33:2")
    r = requests.post(toy.url + "/_emulator/clock", json={"advance": "soon"})
    assert r.status_code == 400 and r.json() == {"error": "advance must be a number of seconds"}
    r = requests.post(toy.url + "/_emulator/clock", json={"advance": 1, "set": 2})
    assert r.status_code == 400 and r.json()["error"].startswith("expected exactly one of")
    toy.reset()
    assert requests.get(toy.url + "/_emulator/clock").json()["offset_seconds"] == 0


@pytest.mark.parametrize("move", [{"advance": 1e308}, {"advance": -1e308}, {"set": 1e300}, {"set": -5},
                                  {"advance": int("9" * 400)}])
def test_clock_moves_outside_representable_time_are_refused(toy, move):
    before = requests.get(toy.url + "/_emulator/clock").json()["offset_seconds"]
    r = requests.post(toy.url + "/_emulator/clock", json=move)
    assert r.status_code == 400
    assert r.json() == {"error": f"{next(iter(move))} would put the clock outside the years 1970 to 8999"}
    assert requests.get(toy.url + "/_emulator/clock").json()["offset_seconds"] == before
    assert requests.get(toy.url + "/toy/items/alpha").status_code == 200


def test_a_frozen_clock_stands_still_until_moved(toy):
    frozen = toy.freeze_clock()
    time.sleep(0.05)
    state = requests.get(toy.url + "/_emulator/clock").json()
    assert state["now"] == frozen and state["frozen"] is True
    assert toy.advance_clock(10) == frozen + 10
    r = requests.post(toy.url + "/_emulator/clock", json={"freeze": "yes"})
    assert r.status_code == 400 and r.json() == {"error": "freeze must be true or false"}
    thawed = toy.freeze_clock(False)
    assert thawed >= frozen + 10
    assert requests.get(toy.url + "/_emulator/clock").json()["frozen"] is False
    toy.freeze_clock()
    toy.reset()
    assert requests.get(toy.url + "/_emulator/clock").json()["frozen"] is False


def test_concurrent_writes_share_commits_and_none_is_lost(toy):
    store = toy.context.store
    commits_before, writes_before = store.commits, store.writes
    def add(i):
        r = requests.post(toy.url + "/toy/items", json={"name": "counter", "add": 1})
        return r.status_code
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(add, range(400)))
    assert statuses == [201] * 400
    assert requests.get(toy.url + "/toy/items/counter").json()["value"] == 400
    writes = store.writes - writes_before
    commits = store.commits - commits_before
    assert writes == 400
    assert commits < writes  # concurrent writes were grouped into shared transactions


def test_a_refused_write_in_a_shared_batch_does_not_undo_the_others(toy):
    def act(i):
        if i % 2:
            return requests.post(toy.url + "/toy/items/alpha/fail").status_code
        return requests.post(toy.url + "/toy/items", json={"name": "alpha", "add": 1}).status_code
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(act, range(200)))
    assert statuses.count(201) == 100 and statuses.count(409) == 100
    assert requests.get(toy.url + "/toy/items/alpha").json()["value"] == 101
