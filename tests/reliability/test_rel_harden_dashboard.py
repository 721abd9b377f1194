"""The dashboard at 100,000 devices (on main it exported the whole state every 2 s on the event
loop and rendered every row): the page asks only for bounded pages, and a page is one indexed
query whatever the database holds. The browser side (no request for /state, paging, search) is
clicked through in tests/core/test_dashboard.py; here the server side and the page's own code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from emulator.control import MAX_PAGE
from tests.credentials import JPUSH_KEY, JPUSH_SECRET
from tests.support import ROOT, ServerProcess

DEVICES = 100_000


@pytest.mark.slow
def test_a_page_of_a_hundred_thousand_devices_is_bounded(tmp_path):
    doc = {"jpush": {"apps": [{"app_key": JPUSH_KEY, "master_secret": JPUSH_SECRET, "devices": [
        {"registration_id": f"{i:019d}", "platform": "android"} for i in range(DEVICES)]}]}}
    with ServerProcess("--db", str(tmp_path / "d.db")) as server:
        assert requests.post(server.url + "/_emulator/fixtures", json=doc, timeout=300).status_code == 200
        tenants = requests.get(server.url + "/_emulator/tenants?vendor=jpush", timeout=30).json()
        assert tenants["tenants"] == [{"id": JPUSH_KEY, "devices": DEVICES + 3}]
        page = requests.get(server.url + "/_emulator/devices", timeout=30, params={
            "vendor": "jpush", "tenant": JPUSH_KEY, "offset": 99_990, "limit": 100_000}).json()
        assert (page["total"], page["limit"], len(page["devices"])) == (DEVICES + 3, MAX_PAGE, 13)
        found = requests.get(server.url + "/_emulator/devices", timeout=30, params={
            "vendor": "jpush", "tenant": JPUSH_KEY, "search": "0000000000000099999"}).json()
        assert [d["registration_id"] for d in found["devices"]] == ["0000000000000099999"]


def test_the_page_never_asks_for_the_whole_state():
    script = (Path(ROOT) / "emulator" / "dashboard" / "dashboard.js").read_text()
    calls = re.findall(r'call\("(?:GET|POST|PUT|PATCH|DELETE)", "(/[a-z/]+)', script)
    assert calls and "/state" not in calls, calls
    assert re.search(r"const PAGE = (\d+);", script) and int(re.search(r"const PAGE = (\d+);", script)[1]) <= MAX_PAGE
