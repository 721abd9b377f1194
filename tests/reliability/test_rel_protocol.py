"""Malformed HTTP below what a client library will send (raw sockets against a real process):
oversized request lines and header values beyond the server's 256 KB line limit, too many
headers, broken chunked framing, Content-Length together with Transfer-Encoding, a non-numeric
Content-Length. aiohttp refuses these itself, before any vendor code, with a plain-text 400 (kept
by decision, see server.py: the vendors' own front ends answer malformed HTTP themselves); the
server must log no traceback for a client's garbage (finding F2, fixed in a64a4c7) and serve on.

Bodies the vendors do see — chunked bodies above the cap, a Content-Length above the server's
16 MiB maximum — are answered in the vendor's shape.
"""
from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from tests.credentials import (APPLOVIN_KEY, APPLOVIN_LIST, BEAMS_INSTANCE, BEAMS_SECRET, CAPGO_KEY, JPUSH_RID,
                               MOENGAGE_APP, jpush_auth, moengage_auth)
from tests.reliability.rel_helpers import openapi, shape_problem
from tests.support import ServerProcess

JP = jpush_auth()["Authorization"].encode()
DEVICE = f"/v3/devices/{JPUSH_RID}".encode()

MALFORMED = {
    "request line over 256 KB": b"GET /v3/devices/" + b"a" * 300_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header value over 256 KB": b"GET " + DEVICE + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + JP
                                + b"\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n",
    "200 headers": b"GET " + DEVICE + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + JP + b"\r\n"
                   + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
    "invalid chunk size": b"POST " + DEVICE + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + JP
                          + b"\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n",
    "Content-Length with Transfer-Encoding": b"POST " + DEVICE + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + JP
                                             + b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "non-numeric Content-Length": b"POST " + DEVICE + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + JP
                                  + b"\r\nContent-Length: abc\r\n\r\n{}",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess("--db", str(tmp_path_factory.mktemp("proto") / "p.db")) as proc:
        yield proc


@pytest.fixture(scope="module")
def served(server):
    return openapi(server.url)


def raw_exchange(url: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        try:
            conn.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, headers, body[:length]


@pytest.mark.parametrize("label", list(MALFORMED))
def test_malformed_http_is_refused_with_a_400_and_no_traceback(label, server):
    before = server.stderr_text()
    status, headers, body = raw_exchange(server.url, MALFORMED[label])
    time.sleep(0.05)
    new_log = server.stderr_text()[len(before):]
    assert status == 400 and headers["content-type"].startswith("text/plain"), (status, headers, body[:200])
    assert b"Traceback" not in body and b"<html" not in body.lower()
    assert "Traceback" not in new_log and "ERROR" not in new_log, new_log[-600:]
    assert server.get("/_emulator/health").status_code == 200


def test_server_survives_every_malformed_request(server):
    """Whatever the shape of the answers, none of them is a 5xx and the server keeps serving."""
    for label, data in MALFORMED.items():
        status, _, _ = raw_exchange(server.url, data)
        assert 400 <= status < 500, label
    r = requests.get(f"{server.url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=10)
    assert r.status_code == 200


def test_chunked_bodies_above_the_cap_get_the_vendor_answer(server, served):
    """No Content-Length to check up front: the vendor counts while reading."""
    r = requests.post(f"{server.url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=30,
                      data=(b" " * 1024 for _ in range(300)))  # 300 KiB > JPush's 256 KiB
    assert r.status_code == 400 and r.json() == {"error": {"code": 7002, "message": "request body is larger than 262144 bytes"}}
    r = requests.post(f"{server.url}/devices/append", timeout=60,
                      params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST},
                      data=(b"M\n" * 1000 for _ in range(10_000)))  # 20 MB > AppLovin's 1 MiB and the server's 16 MiB
    assert r.status_code == 400 and r.json()["message"] == "Request body is larger than 1048576 bytes"
    before = requests.get(f"{server.url}/_emulator/state", timeout=30).json()
    for path, headers in [(f"/v1/device/{MOENGAGE_APP}", {**moengage_auth(), "Content-Type": "application/json"}),
                          ("/device", {"authorization": CAPGO_KEY, "Content-Type": "application/json"}),
                          (f"/publish_api/v1/instances/{BEAMS_INSTANCE}/publishes/interests",
                           {"Authorization": f"Bearer {BEAMS_SECRET}", "Content-Type": "application/json"})]:
        r = requests.post(server.url + path, headers=headers, timeout=60,
                          data=(b" " * 65536 for _ in range(40)))  # 2.5 MiB, over every cap of these routes
        vendor = {"v1": "moengage", "device": "capgo", "publish_api": "beams"}[path.split("/")[1]]
        assert r.status_code in (400, 413), (path, r.status_code, r.text[:200])
        assert shape_problem(served, vendor, r.status_code, r.content, r.headers) is None, (path, r.text[:200])
    assert requests.get(f"{server.url}/_emulator/state", timeout=30).json() == before
    assert json.dumps(before)  # the state is still exportable


def test_hundreds_of_half_open_connections_do_not_block_service(server):
    """400 connections that sent half a request line and headers and then nothing: the server
    still answers promptly on a new connection."""
    host, port = server.url.rsplit("/", 1)[1].split(":")
    conns = []
    try:
        for _ in range(400):
            c = socket.create_connection((host, int(port)), timeout=10)
            c.sendall(b"POST " + DEVICE + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
            conns.append(c)
        started = time.monotonic()
        r = requests.get(f"{server.url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=10)
        assert r.status_code == 200 and time.monotonic() - started < 2
    finally:
        for c in conns:
            c.close()
