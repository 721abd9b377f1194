"""Hostile input, table-driven: every answer is an AppLovin status with its JSON error body, never a
500, and nothing changes."""
from __future__ import annotations

import os

import pytest
import requests

from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST

K = f"api_key={APPLOVIN_KEY}"
SEED = APPLOVIN_LIST
FORBIDDEN = (403, "Authentication failed. Check the validity of the API Key.")
NOT_FOUND = (404, "The device list ID that you specified does not exist.")
BAD_NAME = (400, "Invalid name: use letters, digits, _ - + or spaces")
RANDOM_BYTES = os.urandom(4096)

CASES = [
    # (method, path and raw query, body, (status, message))
    ("GET", "/devices/list?api_key=%00", None, FORBIDDEN),
    ("GET", "/devices/list?api_key=%zz", None, FORBIDDEN),
    ("GET", "/devices/list?api_key=%FF%FE", None, FORBIDDEN),
    ("GET", "/devices/list?api_key", None, FORBIDDEN),
    ("GET", "/devices/list?api_key=" + "k" * 6000, None, FORBIDDEN),
    ("GET", "/devices/list?&&&=&" + K + "&&", None, (400, "Unknown parameter: ")),
    ("GET", f"/devices/list?%FF=1&{K}", None, (400, "Unknown parameter: %FF")),
    ("GET", f"/devices/list?{K}&device_list_id=%27%3B%20DROP%20TABLE%20applovin_devices%3B--", None, NOT_FOUND),
    ("GET", f"/devices/list?{K}&device_list_id=%00", None, NOT_FOUND),
    ("GET", f"/devices/list?{K}&device_list_id=%E2%82", None, (400, "Parameter device_list_id is not valid UTF-8")),
    ("GET", f"/devices/create?{K}&name=%00", None, BAD_NAME),
    ("GET", f"/devices/create?{K}&name=%", None, BAD_NAME),
    ("GET", f"/devices/create?{K}&name=%E2%82%AC", None, BAD_NAME),
    ("GET", f"/devices/create?{K}&name=" + "n" * 7000 + "%0A", None, BAD_NAME),
    ("GET", f"/devices/create?{K}&name=x&description=%E2%82", None, (400, "Parameter description is not valid UTF-8")),
    ("GET", f"/devices/delete?{K}&device_list_id={SEED}&device_list_id={SEED}", None,
     (400, "Parameter device_list_id is given more than once")),
    ("POST", f"/devices/append?{K}&device_list_id=%F0%9F%98%80", b"SM-1", NOT_FOUND),
    ("POST", f"/devices/append?{K}&device_list_id={SEED}", b"\x00\x00\x00", None),
    ("POST", f"/devices/append?{K}&device_list_id={SEED}", b"\n" * 100_000, (400, "Missing device list: the POST body has no devices")),
    ("POST", f"/devices/deleteDevices?{K}&device_list_id={SEED}", RANDOM_BYTES, None),
    ("POST", f"/devices/append?{K}&device_list_id={SEED}", b"x" * (1024 * 1024 + 1), (400, "Request body is larger than 1048576 bytes")),
    ("POST", f"/devices/deleteDevices?{K}", b'{"devices": ["SM-G900F"]}', (400, "Missing required parameter: device_list_id")),
    ("PUT", f"/devices/append?{K}&device_list_id={SEED}", b"SM-1", (405, "Method PUT is not allowed for this command")),
    ("GET", "/devices/..%2F_emulator%2Fstate", None, (404, "Unknown command: /devices/../_emulator/state")),
    ("GET", "/devices/%00", None, (404, "Unknown command: /devices/\x00")),
]


@pytest.mark.parametrize("method,target,body,expected", CASES, ids=[f"{c[0]} {c[1][:60]}" for c in CASES])
def test_hostile_requests_get_applovin_answers(device_emulator, method, target, body, expected):
    state = device_emulator.state("applovin")
    resp = requests.request(method, device_emulator.url + target, data=body, timeout=30)
    if expected is None:
        # garbage device lines: a 200 that counts them as failed and stores nothing
        assert resp.status_code == 200, resp.text
        result = resp.json()
        assert result["processed_devices"] == 0 and result["failed_devices"] >= 1
        assert device_emulator.state("applovin") == state
        return
    status, message = expected
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"code": status, "message": message}
    assert device_emulator.state("applovin") == state
