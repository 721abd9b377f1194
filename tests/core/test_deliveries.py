"""The delivery ledger's control plane, end to end on a real server and SQLite file, with the toy
vendor: an item is a device (platform "fcm" unless set), ``POST /toy/publish`` pushes to the items
carrying any of some tags (tenant "toy-app")."""
from __future__ import annotations

import sqlite3

import pytest
import requests

from emulator.pytest_plugin import EmulatorError
from emulator.server import BackgroundServer
from emulator.config import Config
from emulator.vendor import Vendor

from tests.core.toy import TOY_TENANT, Toy, ToyServer, start_toy
from tests.support import ServerProcess, run_cli

T0 = "2023-11-14T22:13:20.000Z"  # the frozen clock, epoch 1700000000
FCM = {"notification": {"title": "hi"}}
APNS = {"aps": {"alert": "hi"}}
DEVICES = {"toy": {"items": [
    {"name": "gamma", "value": 3, "tags": ["x", "y"]},
    {"name": "delta", "value": 4, "tags": ["z"]},
    {"name": "eps", "value": 5, "tags": ["y"]},
]}}


def _row(id_, publish_id, device, platform, status, reason, tag, payload, tenant=TOY_TENANT):
    return {"id": id_, "vendor": "toy", "tenant": tenant, "publish_id": publish_id, "device_id": device,
            "platform": platform, "status": status, "reason": reason, "matched_by": {"tag": tag},
            "payload": payload, "time": T0}


def _setup(toy: ToyServer) -> None:
    """alpha (fcm, x), beta (fcm, no tags), gamma (apns, x y), delta (fcm, z), eps (web, y)."""
    requests.post(toy.url + "/_emulator/clock", json={"freeze": True}).raise_for_status()
    requests.post(toy.url + "/_emulator/clock", json={"set": 1700000000}).raise_for_status()
    toy.load(DEVICES)
    for name, platform in (("gamma", "apns"), ("eps", "web")):
        requests.put(f"{toy.url}/toy/items/{name}/platform", json={"platform": platform}).raise_for_status()


def _publish(toy: ToyServer, tags, payload) -> str:
    r = requests.post(toy.url + "/toy/publish", json={"tags": tags, "payload": payload})
    assert r.status_code == 201, r.text
    return r.json()["publish_id"]


def _get(toy: ToyServer, path: str, **params):
    return requests.get(f"{toy.url}/_emulator/{path}", params=params)


def test_a_publish_records_one_delivery_per_reached_device_newest_first(toy):
    _setup(toy)
    assert _publish(toy, ["x", "y"], {"fcm": FCM, "apns": APNS}) == "pub-1"
    r = _get(toy, "deliveries")
    assert r.status_code == 200
    # alpha (x, fcm) and gamma (x, apns) reached; eps is a web device and the publish has no web payload
    assert r.json() == {"deliveries": [
        _row(2, "pub-1", "gamma", "apns", "delivered", "tagged x", "x", APNS),
        _row(1, "pub-1", "alpha", "fcm", "delivered", "tagged x", "x", FCM),
    ]}


def test_filters_combine_and_limit_counts_from_the_newest(toy):
    _setup(toy)
    _publish(toy, ["x"], {"fcm": FCM, "apns": APNS})           # pub-1: alpha 1, gamma 2
    _publish(toy, ["z", "y"], {"fcm": FCM, "web": {"w": 1}})   # pub-2: delta 3, eps 4
    toy.invalidate_token("toy", TOY_TENANT, "alpha", "BadDeviceToken")
    _publish(toy, ["x"], {"fcm": FCM})                         # pub-3: alpha 5 (failed)
    alpha5 = _row(5, "pub-3", "alpha", "fcm", "failed", "token invalidated: BadDeviceToken", "x", FCM)
    alpha1 = _row(1, "pub-1", "alpha", "fcm", "delivered", "tagged x", "x", FCM)
    delta3 = _row(3, "pub-2", "delta", "fcm", "delivered", "tagged z", "z", FCM)
    eps4 = _row(4, "pub-2", "eps", "web", "delivered", "tagged y", "y", {"w": 1})
    gamma2 = _row(2, "pub-1", "gamma", "apns", "delivered", "tagged x", "x", APNS)
    cases = [
        ({}, [alpha5, eps4, delta3, gamma2, alpha1]),
        ({"vendor": "toy"}, [alpha5, eps4, delta3, gamma2, alpha1]),
        ({"tenant": TOY_TENANT}, [alpha5, eps4, delta3, gamma2, alpha1]),
        ({"tenant": "other"}, []),
        ({"device_id": "alpha"}, [alpha5, alpha1]),
        ({"publish_id": "pub-2"}, [eps4, delta3]),
        ({"status": "failed"}, [alpha5]),
        ({"status": "delivered", "device_id": "alpha"}, [alpha1]),
        ({"publish_id": "pub-1", "device_id": "gamma"}, [gamma2]),
        ({"limit": "2"}, [alpha5, eps4]),
        ({"limit": "1", "publish_id": "pub-1"}, [gamma2]),
        ({"device_id": "nobody"}, []),
        ({"vendor": "", "limit": ""}, [alpha5, eps4, delta3, gamma2, alpha1]),  # empty = not given
    ]
    for params, expected in cases:
        r = _get(toy, "deliveries", **params)
        assert (r.status_code, r.json()) == (200, {"deliveries": expected}), params
    assert toy.deliveries(device_id="alpha", status="failed") == [alpha5]


def test_explain_answers_for_delivered_failed_and_unselected_devices(toy):
    _setup(toy)
    pub = _publish(toy, ["x", "y"], {"fcm": FCM, "apns": APNS})
    gamma = _row(2, pub, "gamma", "apns", "delivered", "tagged x", "x", APNS)
    assert toy.explain(pub, "gamma", vendor="toy") == {"delivered": True, "reason": "tagged x", "delivery": gamma}
    assert toy.explain(pub, "beta", vendor="toy") == {
        "delivered": False, "reason": "not tagged with any of x, y", "delivery": None}
    assert toy.explain(pub, "delta", vendor="toy") == {
        "delivered": False, "reason": "not tagged with any of x, y", "delivery": None}
    assert toy.explain(pub, "eps", vendor="toy") == {
        "delivered": False, "reason": "the publish has no web payload", "delivery": None}
    r = _get(toy, "deliveries/explain", vendor="toy", publish_id=pub, device_id="alpha", tenant=TOY_TENANT)
    assert r.status_code == 200 and r.json() == {
        "delivered": True, "reason": "tagged x",
        "delivery": _row(1, pub, "alpha", "fcm", "delivered", "tagged x", "x", FCM)}
    toy.invalidate_token("toy", TOY_TENANT, "gamma")
    pub2 = _publish(toy, ["y"], {"apns": APNS})
    assert toy.explain(pub2, "gamma", vendor="toy") == {
        "delivered": False, "reason": "token invalidated: Unregistered",
        "delivery": _row(3, pub2, "gamma", "apns", "failed", "token invalidated: Unregistered", "y", APNS)}
    # the earlier publish's answer is history: unchanged
    assert toy.explain(pub, "gamma", vendor="toy")["delivery"] == gamma


@pytest.mark.parametrize("params,status,error", [
    ({"vendor": "toy", "publish_id": "pub-9", "device_id": "alpha"}, 404, "no publish 'pub-9' of toy"),
    ({"vendor": "toy", "publish_id": "pub-1", "device_id": "alpha", "tenant": "other"}, 404,
     "no publish 'pub-1' of toy in tenant 'other'"),
    ({"vendor": "toy", "publish_id": "pub-1", "device_id": "nobody"}, 404,
     "no device 'nobody' in toy tenant 'toy-app'"),
    ({"publish_id": "pub-1", "device_id": "alpha"}, 400, "vendor is required"),
    ({"vendor": "nope", "publish_id": "pub-1", "device_id": "alpha"}, 400, "unknown vendor 'nope'; known: toy"),
    ({"vendor": "toy", "device_id": "alpha"}, 400, "publish_id is required"),
    ({"vendor": "toy", "publish_id": "pub-1"}, 400, "device_id is required"),
    ({"vendor": "toy", "publish_id": "pub-1", "device_id": ""}, 400, "device_id is required"),
])
def test_explain_refusals(toy, params, status, error):
    _setup(toy)
    _publish(toy, ["x"], {"fcm": FCM})
    r = _get(toy, "deliveries/explain", **params)
    assert (r.status_code, r.json()) == (status, {"error": error})
    if status == 404:
        with pytest.raises(EmulatorError) as info:
            toy.explain(params["publish_id"], params["device_id"], vendor="toy", tenant=params.get("tenant"))
        assert (info.value.status, info.value.body) == (404, {"error": error})


@pytest.mark.parametrize("query,error", [
    ("limit=%C2%B2", "limit must be an integer from 1 to 10000"),    # limit=²
    ("limit=" + "9" * 5000, "limit must be an integer from 1 to 10000"),
    ("limit=0", "limit must be an integer from 1 to 10000"),
    ("limit=-1", "limit must be an integer from 1 to 10000"),
    ("limit=10001", "limit must be an integer from 1 to 10000"),
    ("limit=1_0", "limit must be an integer from 1 to 10000"),
    ("limit=%D9%A3", "limit must be an integer from 1 to 10000"),    # Arabic-Indic 3
    ("limit=%205", "limit must be an integer from 1 to 10000"),
    ("status=sent", "status must be one of delivered, failed"),
    ("vendor=nope", "unknown vendor 'nope'; known: toy"),
    ("vendor=" + "v" * 5000, "unknown vendor '" + "v" * 5000 + "'; known: toy"),
    ("device_id=%ED%A0%80", "device_id is not valid Unicode"),
])
def test_hostile_listing_params_get_400(toy, query, error):
    _setup(toy)
    _publish(toy, ["x"], {"fcm": FCM})
    r = requests.get(f"{toy.url}/_emulator/deliveries?{query}")
    if query.startswith("device_id"):  # the HTTP layer may already decode it as U+FFFD
        assert r.status_code in (200, 400)
        assert r.json() in ({"error": error}, {"deliveries": []})
        return
    assert (r.status_code, r.json()) == (400, {"error": error})
    assert len(toy.deliveries()) == 1


def test_listing_limit_bounds_are_accepted(toy):
    _setup(toy)
    _publish(toy, ["x"], {"fcm": FCM})
    assert len(toy.deliveries(limit=10000)) == 1
    assert len(toy.deliveries(limit=1)) == 1


def test_invalidate_token_answers_the_dead_token_and_fails_later_deliveries(toy):
    _setup(toy)
    r = requests.post(toy.url + "/_emulator/tokens/invalidate",
                      json={"vendor": "toy", "tenant": TOY_TENANT, "device_id": "alpha", "reason": "UNREGISTERED"})
    assert (r.status_code, r.json()) == (200, {"vendor": "toy", "tenant": TOY_TENANT, "device_id": "alpha",
                                               "reason": "UNREGISTERED", "time": T0})
    pub = _publish(toy, ["x"], {"fcm": FCM, "apns": APNS})
    assert toy.deliveries(publish_id=pub) == [
        _row(2, pub, "gamma", "apns", "delivered", "tagged x", "x", APNS),
        _row(1, pub, "alpha", "fcm", "failed", "token invalidated: UNREGISTERED", "x", FCM),
    ]
    # invalidating again replaces the reason
    assert toy.invalidate_token("toy", TOY_TENANT, "alpha", "BadDeviceToken")["reason"] == "BadDeviceToken"
    pub = _publish(toy, ["x"], {"fcm": FCM})
    assert toy.deliveries(publish_id=pub)[0]["reason"] == "token invalidated: BadDeviceToken"
    # registering again brings a fresh token (the vendor calls forget_dead_token)
    assert requests.post(toy.url + "/toy/items", json={"name": "alpha", "add": 0}).status_code == 201
    pub = _publish(toy, ["x"], {"fcm": FCM})
    assert toy.deliveries(publish_id=pub, device_id="alpha")[0]["status"] == "delivered"


@pytest.mark.parametrize("body,status,error", [
    ({"vendor": "toy", "tenant": TOY_TENANT, "device_id": "nobody"}, 404, {"error": "no device 'nobody' in toy tenant 'toy-app'"}),
    ({"vendor": "toy", "tenant": "other", "device_id": "alpha"}, 404, {"error": "no device 'alpha' in toy tenant 'other'"}),
    ({"vendor": "nope", "tenant": TOY_TENANT, "device_id": "alpha"}, 400,
     {"error": "unknown vendor 'nope'; known: toy", "path": "$.vendor"}),
    ({"tenant": TOY_TENANT, "device_id": "alpha"}, 400, {"error": "vendor must be a non-empty string", "path": "$.vendor"}),
    ({"vendor": "toy", "device_id": "alpha"}, 400, {"error": "tenant must be a non-empty string", "path": "$.tenant"}),
    ({"vendor": "toy", "tenant": TOY_TENANT, "device_id": 7}, 400,
     {"error": "device_id must be a non-empty string", "path": "$.device_id"}),
    ({"vendor": "toy", "tenant": TOY_TENANT, "device_id": "alpha", "reason": ""}, 400,
     {"error": "reason must be a non-empty string", "path": "$.reason"}),
    ({"vendor": "toy", "tenant": TOY_TENANT, "device_id": "alpha", "reason": "r" * 201}, 400,
     {"error": "reason must be at most 200 characters", "path": "$.reason"}),
    ({"vendor": "toy", "tenant": TOY_TENANT, "device_id": "alpha", "token": "t"}, 400,
     {"error": "unknown field 'token'; expected vendor, tenant, device_id, reason", "path": "$.token"}),
    ([1], 400, {"error": "body must be a JSON object (not_object)", "path": "$"}),
    ("{", 400, {"error": "body must be a JSON object (invalid_json)", "path": "$"}),
])
def test_invalidate_token_refusals_change_nothing(toy, body, status, error):
    _setup(toy)
    if isinstance(body, str):
        r = requests.post(toy.url + "/_emulator/tokens/invalidate", data=body,
                          headers={"Content-Type": "application/json"})
    else:
        r = requests.post(toy.url + "/_emulator/tokens/invalidate", json=body)
    assert (r.status_code, r.json()) == (status, error)
    pub = _publish(toy, ["x"], {"fcm": FCM})
    assert [d["status"] for d in toy.deliveries(publish_id=pub)] == ["delivered"]


class Quiet(Vendor):
    """A vendor that targets no devices (keeps the default hooks)."""
    name = "quiet"
    title = "Quiet"
    path_roots = frozenset({"quiet"})


def test_vendors_that_target_no_devices_are_refused(tmp_path):
    server = BackgroundServer(Config(host="127.0.0.1", port=0, db=str(tmp_path / "q.db"), fixtures=[],
                                     log_level="warning"), vendor_classes=[Toy, Quiet]).start()
    try:
        error = {"error": "vendor 'quiet' does not deliver to devices; these do: toy"}
        r = requests.get(server.url + "/_emulator/deliveries/explain",
                         params={"vendor": "quiet", "publish_id": "p", "device_id": "d"})
        assert (r.status_code, r.json()) == (400, error)
        r = requests.post(server.url + "/_emulator/tokens/invalidate",
                          json={"vendor": "quiet", "tenant": "t", "device_id": "d"})
        assert (r.status_code, r.json()) == (400, {**error, "path": "$.vendor"})
        r = requests.get(server.url + "/_emulator/deliveries", params={"vendor": "quiet"})
        assert (r.status_code, r.json()) == (200, {"deliveries": []})
    finally:
        server.stop()


def test_reset_and_replace_empty_the_ledger_and_dead_tokens_and_export_leaves_it_out(toy):
    _setup(toy)
    _publish(toy, ["x"], {"fcm": FCM})
    toy.invalidate_token("toy", TOY_TENANT, "alpha")
    state = toy.state()
    assert set(state) == {"toy"} and set(state["toy"]) == {"items"}
    toy.reset()
    assert toy.deliveries() == []
    with pytest.raises(EmulatorError) as info:
        toy.explain("pub-1", "alpha", vendor="toy")
    assert (info.value.status, info.value.body) == (404, {"error": "no publish 'pub-1' of toy"})
    requests.post(toy.url + "/_emulator/clock", json={"freeze": True}).raise_for_status()
    requests.post(toy.url + "/_emulator/clock", json={"set": 1700000000}).raise_for_status()
    # ids restart, and the token is alive again
    assert _publish(toy, ["x"], {"fcm": FCM}) == "pub-1"
    assert toy.deliveries() == [_row(1, "pub-1", "alpha", "fcm", "delivered", "tagged x", "x", FCM)]
    toy.invalidate_token("toy", TOY_TENANT, "alpha")
    toy.reset("toy")
    assert toy.deliveries() == []
    toy.replace_state(state)
    _publish(toy, ["x"], {"fcm": FCM})
    toy.invalidate_token("toy", TOY_TENANT, "alpha")
    toy.replace_state(state)
    assert toy.deliveries() == []
    _publish(toy, ["x"], {"fcm": FCM})  # the replaced state has no platforms set: every device is fcm
    assert [(d["device_id"], d["status"]) for d in toy.deliveries()] == [("gamma", "delivered"),
                                                                        ("alpha", "delivered")]


def test_the_ledger_keeps_the_newest_rows_within_its_bound(tmp_path):
    toy = ToyServer(start_toy(tmp_path, deliveries_size=3))
    try:
        _setup(toy)
        p1 = _publish(toy, ["x"], {"fcm": FCM, "apns": APNS})   # ids 1, 2
        p2 = _publish(toy, ["x"], {"fcm": FCM, "apns": APNS})   # ids 3, 4: id 1 dropped
        assert [(d["id"], d["publish_id"]) for d in toy.deliveries()] == [(4, p2), (3, p2), (2, p1)]
        # the row of alpha in p1 was dropped: explain says so instead of guessing
        with pytest.raises(EmulatorError) as info:
            toy.explain(p1, "alpha", vendor="toy")
        assert (info.value.status, info.value.body) == (404, {
            "error": "the ledger no longer holds every delivery of publish 'pub-1': it keeps the newest 3 "
                     "(--deliveries-size)"})
        assert toy.explain(p1, "gamma", vendor="toy")["delivered"] is True
        assert toy.explain(p2, "beta", vendor="toy")["reason"] == "not tagged with any of x"
        # a publish reaching more devices than the bound keeps its newest rows
        p3 = _publish(toy, ["x", "y", "z"], {"fcm": FCM, "apns": APNS, "web": {}})  # 4 devices: ids 5..8, 5 never written
        assert [(d["id"], d["device_id"]) for d in toy.deliveries()] == [(8, "gamma"), (7, "eps"), (6, "delta")]
        assert toy.deliveries(publish_id=p3, limit=10) == toy.deliveries()
        with pytest.raises(EmulatorError) as info:
            toy.explain(p3, "alpha", vendor="toy")
        assert info.value.status == 404 and "no longer holds every delivery of publish 'pub-3'" in info.value.body["error"]
        with sqlite3.connect(tmp_path / "toy.db") as con:
            assert con.execute("SELECT count(*) FROM core_deliveries").fetchone() == (3,)
            assert con.execute("SELECT count(*) FROM core_publishes").fetchone() == (3,)
    finally:
        toy.server.stop()


def test_size_zero_keeps_no_deliveries(tmp_path):
    toy = ToyServer(start_toy(tmp_path, deliveries_size=0))
    try:
        _setup(toy)
        pub = _publish(toy, ["x"], {"fcm": FCM})
        assert toy.deliveries() == []
        with pytest.raises(EmulatorError) as info:
            toy.explain(pub, "alpha", vendor="toy")
        assert info.value.status == 404
    finally:
        toy.server.stop()


def _toy_process(db, *extra, env=None):
    return ServerProcess("--db", str(db), *extra, module="tests.core.toy_main", env=env)


def test_the_ledger_survives_a_restart_and_a_smaller_bound_trims_it_at_start(tmp_path):
    db = tmp_path / "ledger.db"
    with _toy_process(db, "--deliveries-size", "10") as server:
        server.post("/_emulator/fixtures", json=DEVICES).raise_for_status()
        for _ in range(3):
            assert server.post("/toy/publish", json={"tags": ["x"], "payload": {"fcm": FCM}}).status_code == 201
        assert len(server.get("/_emulator/deliveries").json()["deliveries"]) == 3
    with _toy_process(db, env={"DEVICE_EMULATOR_DELIVERIES_SIZE": "2"}) as server:
        rows = server.get("/_emulator/deliveries").json()["deliveries"]
        assert [(d["id"], d["publish_id"]) for d in rows] == [(3, "pub-3"), (2, "pub-2")]
    with _toy_process(db, "--deliveries-size", "1", env={"DEVICE_EMULATOR_DELIVERIES_SIZE": "5"}) as server:
        rows = server.get("/_emulator/deliveries").json()["deliveries"]
        assert [(d["id"], d["publish_id"]) for d in rows] == [(3, "pub-3")]


@pytest.mark.parametrize("args,env", [
    (("--deliveries-size", "-1"), None),
    ((), {"DEVICE_EMULATOR_DELIVERIES_SIZE": "-3"}),
    ((), {"DEVICE_EMULATOR_DELIVERIES_SIZE": "many"}),
])
def test_a_bad_bound_exits_2(tmp_path, args, env):
    if env is None:
        result = run_cli("serve", "--db", ":memory:", *args)
    else:
        import os
        import subprocess
        import sys
        result = subprocess.run([sys.executable, "-m", "emulator", "serve", "--db", ":memory:"],
                                capture_output=True, text=True, timeout=20, env={**os.environ, **env})
    assert result.returncode == 2
    assert result.stderr.startswith("device-api-emulator: ")


def test_openapi_documents_the_ledger_routes(toy):
    doc = _get(toy, "openapi.json").json()
    listing = doc["paths"]["/_emulator/deliveries"]["get"]
    assert [p["name"] for p in listing["parameters"]] == ["vendor", "tenant", "publish_id", "device_id",
                                                           "status", "limit"]
    explain = doc["paths"]["/_emulator/deliveries/explain"]["get"]
    assert [(p["name"], p["required"]) for p in explain["parameters"]] == [
        ("vendor", True), ("publish_id", True), ("device_id", True), ("tenant", False)]
    assert set(explain["responses"]) == {"200", "404", "default"}
    invalidate = doc["paths"]["/_emulator/tokens/invalidate"]["post"]
    schema = invalidate["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["vendor", "tenant", "device_id"]


def test_record_encodes_each_delivery_faithfully(tmp_path):
    """record() encodes shared payloads once; fresh objects from a generator, and matched_by values
    that compare equal but differ in JSON (1, 1.0, true), each keep their own text."""
    from emulator import deliveries
    from emulator.storage import Component, Store

    store = Store(str(tmp_path / "ledger.db"))
    store.open([Component("core", deliveries.MIGRATIONS)])
    try:
        store.write_now(deliveries.configure, 100)
        shared = {"aps": {"alert": "é"}}
        values = [1, 1.0, True, "1", None, [1]]

        def audience():
            for i, v in enumerate(values):
                yield deliveries.Delivery(f"d{i}", None, "delivered", "r", {"n": v}, {"i": i})
            yield deliveries.Delivery("shared", "apns", "failed", "r", None, shared)

        store.write_now(lambda conn: deliveries.record(conn, vendor="v", tenant="t", publish_id="p",
                                                       deliveries=audience(), now="t0"))
        rows = store.read(lambda conn: deliveries.query(conn, limit=100))
        assert [(r["device_id"], r["matched_by"], r["payload"]) for r in reversed(rows)] == [
            *((f"d{i}", {"n": v}, {"i": i}) for i, v in enumerate(values)), ("shared", None, shared)]
        assert [type(r["matched_by"]["n"]) for r in reversed(rows[1:])] == [int, float, bool, str, type(None), list]
        with pytest.raises(ValueError):
            store.write_now(lambda conn: deliveries.record(conn, vendor="v", tenant="t", publish_id="q", now="t0",
                deliveries=[deliveries.Delivery("d", None, "sent", "r", None, None)]))
        assert len(store.read(lambda conn: deliveries.query(conn, limit=100))) == len(values) + 1
    finally:
        store.close()
