"""Request bodies and header bytes from the network (issue: memory and bodies).

- A body is refused by each vendor's limit while it streams in, on its *decoded* size: a
  ~1 MB gzip body that inflates to 1 GiB must not be inflated, nor held (peak RSS stays flat);
- a broken gzip/deflate body is malformed input: the answer an invalid-JSON body gets, never a 500;
- a non-UTF-8 byte in a header value is the vendor's refusal, not a 500, and the journal stays
  readable.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
import zlib

import pytest
import requests

from tests.credentials import (APPLOVIN_KEY, APPLOVIN_LIST, BEAMS_INSTANCE, BEAMS_SECRET, CAPGO_KEY,
                               JPUSH_RID, MOENGAGE_APP, jpush_auth, moengage_auth)
from tests.reliability.rel_helpers import assert_vendor_error, openapi, state, vm_rss_kb
from tests.support import ServerProcess

GIB = 1024 ** 3


def _gzip(data: bytes, wbits: int = 31) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return comp.compress(data) + comp.flush()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess("--db", str(tmp_path_factory.mktemp("bodies") / "b.db")) as proc:
        yield proc


@pytest.fixture(scope="module")
def served(server):
    return openapi(server.url)


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, vm_rss_kb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join()


@pytest.mark.slow
def test_gzip_bomb_is_refused_while_streaming(server):
    """1 GiB of zeros gzipped to ~1 MB, to Capgo's key-less /stats (limit 1 MiB decoded), four
    times: the vendor's own 413 each time, peak RSS flat (main: ~1.9 GB peak, ~5 GB held idle)."""
    bomb = _gzip(b"\0" * GIB)
    before = state(server.url)
    start = vm_rss_kb(server.proc.pid)
    with PeakRss(server.proc.pid) as rss:
        for _ in range(4):
            r = requests.post(server.url + "/stats", data=bomb, timeout=120,
                              headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
            assert r.status_code == 413
            assert r.json() == {"error": "payload_too_large", "message": "Payload too large", "moreInfo": {}}
    idle = vm_rss_kb(server.proc.pid)
    print(f"\ngzip bomb x4 ({len(bomb)} bytes -> 1 GiB each): RSS start {start / 1024:.1f} MB, "
          f"peak {rss.peak / 1024:.1f} MB, idle after {idle / 1024:.1f} MB")
    assert rss.peak < start + 100 * 1024, f"peak RSS {rss.peak / 1024:.0f} MB"
    assert idle < start + 50 * 1024
    assert state(server.url) == before


@pytest.mark.slow
def test_oversized_plain_and_chunked_bodies_are_not_held(server):
    """A 200 MB chunked body (no Content-Length to check up front) to every vendor's body route:
    refused with the vendor's answer, the server never holds it."""
    start = vm_rss_kb(server.proc.pid)
    chunk = b"x" * (1024 * 1024)

    def body():
        for _ in range(200):
            yield chunk

    with PeakRss(server.proc.pid) as rss:
        r = requests.post(server.url + "/stats", data=body(), timeout=120,
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        r = requests.post(server.url + "/devices/append", data=body(), timeout=120,
                          params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST})
        assert r.status_code == 400
        assert r.json() == {"code": 400, "message": "Request body is larger than 1048576 bytes"}
    print(f"\n200 MB chunked bodies: RSS start {start / 1024:.1f} MB, peak {rss.peak / 1024:.1f} MB")
    assert rss.peak < start + 100 * 1024


BROKEN = {"gzip": b"\x1f\x8b\x08\x00garbage-not-gzip", "deflate": b"\x78\x9c not deflate at all",
          "truncated gzip": _gzip(b'{"a": 1}' * 100)[:20], "gzip with trailing bytes": _gzip(b"{}") + b"junk"}
CODING = {"truncated gzip": "gzip", "gzip with trailing bytes": "gzip"}


def json_routes() -> list[tuple[str, str, str, dict[str, str]]]:
    """JSON-body routes of every vendor, with the default tenants' credentials."""
    beams_server = {"Authorization": f"Bearer {BEAMS_SECRET}"}
    return [
        ("capgo", "POST", "/stats", {}),
        ("capgo", "POST", "/updates", {}),
        ("capgo", "POST", "/device", {"authorization": CAPGO_KEY}),
        ("moengage", "POST", f"/v1/customer/{MOENGAGE_APP}", moengage_auth()),
        ("moengage", "POST", f"/v1/event/{MOENGAGE_APP}", moengage_auth()),
        ("beams", "POST", f"/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm", {}),
        ("beams", "POST", f"/publish_api/v1/instances/{BEAMS_INSTANCE}/publishes", beams_server),
        ("jpush", "POST", f"/v3/devices/{JPUSH_RID}", jpush_auth()),
    ]


def _stable(content: bytes) -> object:
    """An answer without its per-request id (MoEngage's ``request_id``)."""
    try:
        doc = json.loads(content)
    except ValueError:
        return content

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "request_id"}
        return [strip(v) for v in node] if isinstance(node, list) else node
    return strip(doc)


@pytest.mark.parametrize("coding", list(BROKEN))
def test_broken_encoding_is_malformed_input_everywhere(server, served, coding):
    """JSON-body routes of every vendor, and the control plane: a broken gzip/deflate body is
    answered exactly like an invalid-JSON body (the vendor's 400), never a 500; nothing changes."""
    checked = 0
    for vendor, method, path, headers in json_routes():
        url = server.url + path
        before = state(server.url)
        broken = requests.request(method, url, data=BROKEN[coding], timeout=30,
                                  headers={**headers, "Content-Type": "application/json",
                                           "Content-Encoding": CODING.get(coding, coding)})
        assert state(server.url) == before, path
        invalid = requests.request(method, url, data=b"{not json", timeout=30,
                                   headers={**headers, "Content-Type": "application/json"})
        assert 400 <= broken.status_code < 500, f"{path}: {broken.status_code} {broken.text[:200]}"
        assert_vendor_error(served, vendor, broken, f"{coding} {method} {path}")
        assert (broken.status_code, _stable(broken.content)) == (invalid.status_code, _stable(invalid.content)), path
        checked += 1
    before = state(server.url)
    r = requests.post(server.url + "/devices/append", data=BROKEN[coding], timeout=30,
                      params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST},
                      headers={"Content-Encoding": CODING.get(coding, coding)})
    assert r.status_code == 400
    assert r.json() == {"code": 400, "message": "Request body could not be decoded"}
    for path in ("/_emulator/fixtures", "/_emulator/faults"):
        r = requests.post(server.url + path, data=BROKEN[coding], timeout=30,
                          headers={"Content-Type": "application/json", "Content-Encoding": CODING.get(coding, coding)})
        assert r.status_code == 400
        assert r.json() == {"error": "body must be a JSON document (invalid_json)", "path": "$"}
    assert requests.get(server.url + "/_emulator/faults", timeout=10).json()["count"] == 0
    assert state(server.url) == before
    assert checked == len(json_routes())
    assert "Traceback" not in server.stderr_text()


def test_gzip_body_within_the_limit_is_decoded(server):
    """Content-Encoding is honoured (as before): a small gzip JSON body is read decoded."""
    doc = {"capgo": {"api_keys": [{"key": "gzip-key-1", "mode": "all"}]}}
    r = requests.post(server.url + "/_emulator/fixtures", data=_gzip(json.dumps(doc).encode()), timeout=30,
                      headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert {"key": "gzip-key-1", "mode": "all"} in [
        {k: v for k, v in key.items() if k in ("key", "mode")} for key in state(server.url, "capgo")["api_keys"]]


def _raw_get(url: str, path: str, header: str, value: bytes) -> tuple[int, bytes]:
    host, port = url[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", path)
        conn.putheader(header, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_non_utf8_header_bytes(server, served):
    """A non-UTF-8 byte in Capgo's key header is an unknown key (401), not a 500, and the journal
    keeps answering (main: 500, and GET /_emulator/requests answered 500 afterwards)."""
    status, body = _raw_get(server.url, "/device?app_id=com.demo.app", "capgkey", b"\xff\xfe-key")
    assert (status, body) == (401, b'{"error":"Invalid API key","status":"KO"}')
    status, _ = _raw_get(server.url, "/v3/devices/x", "Authorization", b"Basic \xff\xfe")
    assert status == 401
    r = requests.get(server.url + "/_emulator/requests", params={"limit": 2}, timeout=10)
    assert r.status_code == 200
    entries = r.json()["requests"]
    assert entries[1]["request_headers"]["capgkey"] == "\ufffd\ufffd-key"
    status, body = _raw_get(server.url, "/_emulator/health", "X-Junk", b"\xc3\x28")
    assert status == 200
