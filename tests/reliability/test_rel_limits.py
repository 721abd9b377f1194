"""Limits of the server itself: a bounded journal and no unbounded memory growth.

The RSS test drives 100,000 requests (vendor reads and writes, refusals and unknown routes) at a
real emulator process over keep-alive connections and compares ``VmRSS`` before and after.
Each vendor's body cap is covered by ``test_rel_hostile.py`` (one oversized body per route).
"""
from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import requests

from emulator.config import Config
from emulator.server import BackgroundServer
from tests.credentials import (APPLOVIN_KEY, APPLOVIN_LIST, BEAMS_INSTANCE, CAPGO_APP, CAPGO_KEY, JPUSH_RID,
                               MOENGAGE_APP, jpush_auth, moengage_auth)
from tests.reliability.rel_helpers import beams_fcm_token, vm_rss_kb
from tests.support import ServerProcess

TOTAL_REQUESTS = 100_000
WARMUP_REQUESTS = 3_000
WORKERS = 16
PIPELINE = 8
TIME_LIMIT = 150.0
MIN_REQUESTS = 30_000
CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
RSS_BOUND_MB = 50
JOURNAL_SIZE = 1000


def _request(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _mix() -> list[bytes]:
    """One cycle of raw HTTP/1.1 requests: mostly reads, a quarter writes, some refusals."""
    jp = jpush_auth()
    js = {**jp, "Content-Type": "application/json"}
    moe = {**moengage_auth(), "Content-Type": "application/json"}
    beams = f"/device_api/v1/instances/{BEAMS_INSTANCE}"
    big = (("MODEL-" + "x" * 50 + "\n") * 60).encode()  # a 3.4 KB append body, journaled (clipped to 4 KB)
    lst = f"/devices/list?api_key={APPLOVIN_KEY}"
    return [
        _request("GET", lst),
        _request("GET", f"{lst}&device_list_id={APPLOVIN_LIST}"),
        _request("GET", f"/v3/devices/{JPUSH_RID}", jp),
        _request("POST", f"/v3/devices/{JPUSH_RID}", js, b'{"tags":{"add":["rss_a"],"remove":["rss_b"]}}'),
        _request("GET", "/v3/tags/", jp),
        _request("POST", f"/v3/devices/{JPUSH_RID}", js, b'{"tags":{"add":["rss_b"],"remove":["rss_a"]}}'),
        _request("GET", "/v3/aliases/nobody", jp),
        _request("POST", f"/devices/append?api_key={APPLOVIN_KEY}&device_list_id={APPLOVIN_LIST}", {}, big),
        _request("GET", "/devices/list?api_key=wrong-key"),  # 403
        _request("POST", f"{beams}/devices/fcm", {"Content-Type": "application/json"},
                 json.dumps({"token": beams_fcm_token("rss-device")}).encode()),  # replaces itself
        _request("GET", f"{beams}/web-vapid-public-key"),
        _request("POST", f"/v1/device/{MOENGAGE_APP}", moe, b"{not json"),  # 400
        _request("GET", "/v3/no-such-route", jp),  # 404
        _request("GET", lst),
        _request("GET", f"/v3/devices/{JPUSH_RID}", jp),
        _request("GET", f"/v3/tags/rss_a/registration_ids/{JPUSH_RID}", jp),
    ]


async def _drive(url: str, n: int, deadline: float) -> dict[int, int]:
    """Send up to ``n`` requests over WORKERS keep-alive connections, each pipelining PIPELINE
    requests at a time (a plain asyncio client: the server, not the client, is measured); stop
    at ``deadline`` (monotonic). Counts answers by status."""
    host, port = url.rsplit("/", 1)[1].split(":")
    mix = _mix()
    statuses: dict[int, int] = {}
    sent = 0

    async def worker(offset: int) -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(host, int(port))
        i = offset
        try:
            while sent < n and time.monotonic() < deadline:
                batch = min(PIPELINE, n - sent)
                sent += batch
                writer.write(b"".join(mix[(i + k) % len(mix)] for k in range(batch)))
                i += batch
                for _ in range(batch):
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head[9:12])
                    match = CONTENT_LENGTH.search(head)
                    assert match is not None, head
                    await reader.readexactly(int(match.group(1)))
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(w * 5) for w in range(WORKERS)))
    return statuses


@pytest.mark.slow
def test_rss_stays_bounded_over_100k_requests(tmp_path):
    """100,000 requests (fewer only if TIME_LIMIT runs out on a starved machine; at least
    MIN_REQUESTS) must not grow the process by RSS_BOUND_MB or more."""
    with ServerProcess("--db", str(tmp_path / "rss.db"), "--journal-size", str(JOURNAL_SIZE)) as server:
        pid = server.proc.pid
        start_rss = vm_rss_kb(pid)
        warm = asyncio.run(_drive(server.url, WARMUP_REQUESTS, time.monotonic() + 60))  # caches, a full journal
        before = vm_rss_kb(pid)
        t0 = time.monotonic()
        statuses = asyncio.run(_drive(server.url, TOTAL_REQUESTS, t0 + TIME_LIMIT))
        elapsed = time.monotonic() - t0
        after = vm_rss_kb(pid)
        journal = requests.get(server.url + "/_emulator/requests", timeout=30).json()
        assert server.terminate() == 0
    done = sum(statuses.values())
    growth_mb = (after - before) / 1024
    print(f"\n[reliability] RSS: start {start_rss / 1024:.1f} MB, after {sum(warm.values())} warm-up requests "
          f"{before / 1024:.1f} MB, after {done} more {after / 1024:.1f} MB: growth {growth_mb:.1f} MB "
          f"in {elapsed:.0f} s ({done / elapsed:.0f} req/s), statuses {dict(sorted(statuses.items()))}")
    assert done >= MIN_REQUESTS
    assert set(statuses) <= {200, 400, 403, 404}, statuses
    assert not any(s >= 500 for s in warm), warm
    assert journal["count"] == JOURNAL_SIZE and journal["capacity"] == JOURNAL_SIZE
    assert growth_mb < RSS_BOUND_MB


@pytest.mark.slow
def test_journal_keeps_at_most_its_capacity(device_emulator):
    """The plugin's server has the default capacity (1000): 1,500 requests leave 1,000 entries,
    the newest first; the capacity is reported."""
    with requests.Session() as s:
        for i in range(1500):
            s.get(f"{device_emulator.url}/devices/list", params={"api_key": APPLOVIN_KEY, "n": str(i)}, timeout=10)
    body = requests.get(f"{device_emulator.url}/_emulator/requests", timeout=30).json()
    assert body["capacity"] == 1000
    assert body["count"] == 1000 == len(body["requests"])
    assert body["requests"][0]["query"].endswith("n=1499") and body["requests"][-1]["query"].endswith("n=500")


def test_journal_clips_bodies(device_emulator):
    """A body of 1 MB (the AppLovin cap) is journaled cut to 4 KB, so capacity bounds memory."""
    data = ("M" * 60 + "\n") * (1024 * 1024 // 61)
    r = requests.post(f"{device_emulator.url}/devices/append", timeout=30, data=data,
                      params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST})
    assert r.status_code == 200, r.text
    entry = device_emulator.requests("applovin", limit=1)[0]
    assert len(entry["request_body"]) < 4200 and "truncated" in entry["request_body"]


# Finding F8 (fixed in 7b7ca79), was: a key's window is never dropped once its requests leave the
#   window; with capgo live + rate_limit on, every distinct (app, device, operation) keeps a window for
#   ever, so memory grows with the number of device ids ever seen



def test_rate_limit_windows_of_idle_keys_are_forgotten(tmp_path):
    """White-box (the core's BackgroundServer exposes its context): 300 distinct Capgo devices, an
    hour on the emulator clock, 300 other devices: the windows of the first 300 are long empty and
    must not be kept."""
    server = BackgroundServer(Config(host="127.0.0.1", port=0, db=str(tmp_path / "l.db"), log_level="warning",
                                     profiles={"capgo": "live"}, options={"capgo": {"rate_limit": "on"}}))
    server.start()
    try:
        windows = server.context.limiter._windows
        with requests.Session() as s:
            def burst(tag: str) -> None:
                for i in range(300):
                    r = s.get(f"{server.url}/device", headers={"authorization": CAPGO_KEY}, timeout=10,
                              params={"app_id": CAPGO_APP, "device_id": f"00000000-0000-4000-8{tag}{i:014d}"})
                    assert r.status_code in (200, 404), r.text
            burst("00")
            first = len(windows)
            s.post(f"{server.url}/_emulator/clock", json={"advance": 3600}, timeout=10).raise_for_status()
            burst("11")
        print(f"\n[reliability] rate-limit windows: {first} after 300 devices, {len(windows)} after 300 more an hour later")
        assert len(windows) <= first + 5
    finally:
        server.stop()


# Finding F9 (fixed in 7b7ca79), was: request headers are journaled whole (bodies are clipped to 4 KB,
#   headers not); with header values up to 256 KB allowed, 150 requests with 4 x 200 KB headers grow the
#   process by ~120 MB and a full journal could hold gigabytes



@pytest.mark.slow
def test_journal_memory_is_bounded_whatever_the_headers(tmp_path):
    with ServerProcess("--db", str(tmp_path / "h.db")) as server:
        before = vm_rss_kb(server.proc.pid)
        big = "h" * 200_000
        with requests.Session() as s:
            for i in range(150):
                r = s.get(server.url + "/devices/list", params={"api_key": APPLOVIN_KEY}, timeout=30,
                          headers={f"X-Big-{k}": f"{big}{i}" for k in range(4)})
                assert r.status_code == 200
        after = vm_rss_kb(server.proc.pid)
        entry = requests.get(server.url + "/_emulator/requests", params={"limit": 1}, timeout=30).json()["requests"][0]
        assert server.terminate() == 0
    print(f"\n[reliability] journal with 150 × 800 KB of headers: RSS {before // 1024} -> {after // 1024} MB, "
          f"a journaled header value holds {len(entry['request_headers']['X-Big-0'])} characters")
    assert (after - before) / 1024 < 50


@pytest.mark.slow
def test_journal_memory_is_bounded_with_large_bodies(tmp_path):
    """1,200 requests with 250 KB bodies (refused by JPush after reading them) through a journal of
    1,000 entries: the journal keeps clipped bodies only, so RSS grows by far less than the 300 MB sent."""
    body = json.dumps({"pad": "p" * 250_000}).encode()
    with ServerProcess("--db", str(tmp_path / "b.db")) as server:
        with requests.Session() as s:
            for _ in range(200):  # warm-up: allocator pools, the first journal entries
                s.post(f"{server.url}/v3/devices/{JPUSH_RID}", data=body, headers=jpush_auth(), timeout=30)
            before = vm_rss_kb(server.proc.pid)
            for _ in range(1000):
                r = s.post(f"{server.url}/v3/devices/{JPUSH_RID}", data=body, headers=jpush_auth(), timeout=30)
                assert r.status_code == 400
        after = vm_rss_kb(server.proc.pid)
        entry = requests.get(server.url + "/_emulator/requests", params={"limit": 1}, timeout=30).json()["requests"][0]
        assert server.terminate() == 0
    print(f"\n[reliability] journal with 1,000 × 250 KB bodies: RSS {before // 1024} -> {after // 1024} MB")
    assert len(entry["request_body"]) < 4200
    assert (after - before) / 1024 < 50
