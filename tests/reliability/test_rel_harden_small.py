"""The smaller items of the hardening issue: the clock's range, fault ids, the journal's path
filter memory, and SIGTERM with a fault's latency in flight."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from emulator.clock import MAX_EPOCH
from tests.credentials import APPLOVIN_KEY, BEAMS_INSTANCE, CAPGO_APP, JPUSH_RID, MOENGAGE_APP, jpush_auth, moengage_auth
from tests.reliability.rel_helpers import vm_rss_kb
from tests.support import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess("--db", str(tmp_path_factory.mktemp("small") / "s.db")) as proc:
        yield proc


def _vendor_calls(url: str) -> list[int]:
    return [
        requests.get(f"{url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=10).status_code,
        requests.post(f"{url}/v1/customer/{MOENGAGE_APP}", headers=moengage_auth(), timeout=10,
                      json={"type": "customer", "customer_id": "clock-user", "attributes": {"a": 1}}).status_code,
        requests.post(f"{url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm",
                      json={"token": "fcm-token:clock", "metadata": {"sdkVersion": "1"}}, timeout=10).status_code,
        requests.post(f"{url}/stats", json={"app_id": CAPGO_APP, "device_id": "44f128a5-ac7a-4c9a-be4c-224b6bf81b20",
                                            "platform": "android", "version_name": "1.0.0", "action": "ping"},
                      timeout=10).status_code,
        requests.get(f"{url}/devices/list", params={"api_key": APPLOVIN_KEY}, timeout=10).status_code,
        requests.get(f"{url}/_emulator/requests", timeout=10).status_code,
        requests.get(f"{url}/_emulator/state", timeout=10).status_code,
    ]


def test_clock_is_bounded_so_no_route_overflows_and_reset_restores_it(server):
    """Main accepted ``set`` up to 253402300799; a second later time routes answered 500 and reset
    failed (it reloaded fixtures before resetting the clock)."""
    r = requests.post(f"{server.url}/_emulator/clock", json={"set": 253402300799}, timeout=10)
    assert (r.status_code, r.json()) == (400, {"error": "set would put the clock outside the years 1970 to 8999"})
    r = requests.post(f"{server.url}/_emulator/clock", json={"set": MAX_EPOCH + 1}, timeout=10)
    assert r.status_code == 400
    r = requests.post(f"{server.url}/_emulator/clock", json={"set": MAX_EPOCH}, timeout=10)
    assert r.status_code == 200 and r.json()["iso"].startswith("9000-01-01T00:00:0")
    r = requests.post(f"{server.url}/_emulator/clock", json={"advance": 1}, timeout=10)
    assert r.status_code == 400
    assert all(s < 500 for s in _vendor_calls(server.url))
    r = requests.post(f"{server.url}/_emulator/reset", timeout=10)
    assert r.status_code == 200
    assert abs(requests.get(f"{server.url}/_emulator/clock", timeout=10).json()["now"] - time.time()) < 60


@pytest.mark.parametrize("raw", ["²", "٣", "9" * 5000, "-1", "1e3", "0x10"])
def test_fault_ids_parse_like_every_integer(server, raw):
    rule = requests.post(f"{server.url}/_emulator/faults", json={"status": 503, "path": "/nowhere"}, timeout=10).json()
    r = requests.delete(f"{server.url}/_emulator/faults/{raw}", timeout=10)
    assert (r.status_code, r.json()) == (404, {"error": f"no fault rule {raw[:40]}"})
    assert [f["id"] for f in requests.get(f"{server.url}/_emulator/faults", timeout=10).json()["faults"]] == [rule["id"]]
    assert requests.delete(f"{server.url}/_emulator/faults/{rule['id']}", timeout=10).status_code == 200


@pytest.mark.slow
def test_journal_path_filters_do_not_grow_memory(tmp_path):
    """Each distinct glob filter went through fnmatch's unbounded cache (~474 KB for a long one)."""
    with ServerProcess("--db", str(tmp_path / "j.db")) as srv:
        requests.get(f"{srv.url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=10)
        for i in range(150):  # warm-up: yarl's URL caches (128 entries each, bounded) fill up first
            requests.get(f"{srv.url}/_emulator/requests", params={"path": f"/v3/*{i}*" + "x" * 100_000}, timeout=10)
        before = vm_rss_kb(srv.proc.pid)
        for i in range(200):
            r = requests.get(f"{srv.url}/_emulator/requests", params={"path": f"/v3/*{i}*" + "y" * 100_000},
                             timeout=10)
            assert (r.status_code, r.json()["count"]) == (200, 0)
        growth = (vm_rss_kb(srv.proc.pid) - before) / 1024
        r = requests.get(f"{srv.url}/_emulator/requests", params={"path": "/v3/devices/*"}, timeout=10)
        assert r.json()["count"] == 1
        assert requests.get(f"{srv.url}/_emulator/requests", params={"path": "/v3*s*"}, timeout=10).json()["count"] == 1
        assert requests.get(f"{srv.url}/_emulator/requests", params={"path": "*/x"}, timeout=10).json()["count"] == 0
    print(f"\n200 distinct 100 KB journal globs: RSS growth {growth:.1f} MB")
    assert growth < 20


@pytest.mark.slow
def test_sigterm_with_a_latency_fault_in_flight_takes_under_3_s(tmp_path):
    """A fault's latency held the exit for 6 s (aiohttp's grace period twice), not the documented 3 s."""
    srv = ServerProcess("--db", str(tmp_path / "t.db"))
    try:
        requests.post(f"{srv.url}/_emulator/faults", json={"vendor": "jpush", "latency_ms": 60_000}, timeout=10)
        outcome: list[object] = []

        def call() -> None:
            try:
                outcome.append(requests.get(f"{srv.url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(),
                                            timeout=70).status_code)
            except requests.RequestException as exc:
                outcome.append(type(exc).__name__)

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(0.5)
        started = time.monotonic()
        rc = srv.terminate()
        took = time.monotonic() - started
        thread.join()
    finally:
        if srv.proc.poll() is None:
            srv.kill()
    print(f"\nSIGTERM with a 60 s latency fault in flight: exit {rc} after {took:.2f} s, client got {outcome}")
    assert rc == 0
    assert took < 3.5
    assert outcome == [200]
