"""Access lines people can read: vendor, request, status, the vendor's own refusal code and
reason; bodies only at debug; no credential ever printed. A real server process."""
from __future__ import annotations

import re
import time

import requests

from tests.credentials import APPLOVIN_KEY, BEAMS_INSTANCE, JPUSH_KEY, basic
from tests.support import ServerProcess

LINE = re.compile(r"aiohttp\.access: (.*) \(\d+\.\d ms\)$")


def _access_lines(server: ServerProcess, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [m.group(1) for m in map(LINE.search, server.stderr_text().splitlines())
                 if m and "/_emulator/openapi.json" not in m.group(1)]  # the contract check's own reads
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(server.stderr_text())


def test_access_lines_name_vendor_and_refusal_and_hide_secrets(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db"), "--log-level", "info") as server:
        requests.get(server.url + "/v3/tags/", headers={"Authorization": basic(JPUSH_KEY, "wrong-secret")},
                     timeout=10)
        requests.get(f"{server.url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm/nope", timeout=10)
        requests.get(f"{server.url}/devices/list?api_key={APPLOVIN_KEY}", timeout=10)
        requests.get(server.url + "/_emulator/health", timeout=10)
        lines = _access_lines(server, 4)
        assert lines == [
            "jpush GET /v3/tags/ -> 401 7004 Basic authentication failed",
            f"beams GET /device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm/nope -> 404 Device not found "
            "Could not find the device.",
            "applovin GET /devices/list?api_key=*** -> 200",
            "control GET /_emulator/health -> 200",
        ]
        assert "wrong-secret" not in server.stderr_text()
        assert APPLOVIN_KEY not in server.stderr_text()


def test_debug_shows_bodies_cut_short_with_secrets_masked(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db"), "--log-level", "debug") as server:
        doc = {"jpush": {"apps": [{"app_key": "emu0jpush0appkey00000002", "master_secret": "topsecret000000000000000"}]}}
        assert requests.post(server.url + "/_emulator/fixtures", json=doc, timeout=10).status_code == 200
        _access_lines(server, 1)
        text = server.stderr_text()
        assert ('request body {"jpush": {"apps": [{"app_key": "emu0jpush0appkey00000002", "master_secret": "***"}]}}'
                ' | response body {"status": "ok"}') in text
        assert "topsecret" not in text
