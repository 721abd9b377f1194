"""A client that goes away in the middle of its request body is the client's problem: the
emulator must not log it as an unhandled error with a traceback, nor journal it as a 500."""
from __future__ import annotations

import socket
import time

import requests

from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST, JPUSH_RID, jpush_auth
from tests.support import ServerProcess

# Finding F1 (fixed in a64a4c7): this used to log "unhandled error" with a ConnectionResetError
# traceback and journal a 500.
PATHS = [
    f"/devices/append?api_key={APPLOVIN_KEY}&device_list_id={APPLOVIN_LIST}",
    f"/v3/devices/{JPUSH_RID}",
    "/_emulator/fixtures",
]


def test_client_disconnect_mid_body_is_not_an_unhandled_error(tmp_path):
    with ServerProcess("--db", str(tmp_path / "d.db")) as server:
        host, port = server.url.rsplit("/", 1)[1].split(":")
        auth = jpush_auth()["Authorization"]
        for path in PATHS:
            with socket.create_connection((host, int(port)), timeout=10) as conn:
                conn.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
                             f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"a\":".encode())
                time.sleep(0.2)  # the handler is now waiting for the rest of the body
        time.sleep(0.3)
        journal = requests.get(server.url + "/_emulator/requests", timeout=10).json()["requests"]
        log = server.stderr_text()
        assert server.terminate() == 0
    assert "Traceback" not in log and "unhandled error" not in log, log[:1500]
    assert [e["status"] for e in journal if e["status"] is not None and e["status"] >= 500] == []
    vendor_paths = {p.split("?")[0] for p in PATHS if not p.startswith("/_emulator")}
    gone = [e for e in journal if e["path"] in vendor_paths]
    assert len(gone) == 2 and all(e.get("disconnected") for e in gone), gone
