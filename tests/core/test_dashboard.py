"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): every feature is
clicked through and what it shows is asserted, and the page never asks for the whole state.
Screenshots are kept in a temporary directory (printed), as CI artifacts."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

from tests.credentials import BEAMS_INSTANCE, JPUSH_KEY, JPUSH_RID, jpush_auth

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(tempfile.gettempdir()) / "device-api-emulator-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ensure_chromium() -> str:
    """Debian's chromium, installed on first use (CI machines start without it)."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.fail("the dashboard test needs Debian's chromium and root to install it")
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True,
                       timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return CHROMIUM


def _many_jpush_devices(count: int) -> dict:
    devices = [{"registration_id": f"{i:011x}", "platform": "android"} for i in range(0x100, 0x100 + count)]
    return {"jpush": {"apps": [{"app_key": JPUSH_KEY, "master_secret": "emu0jpush0master00secret",
                                "devices": devices}]}}


@pytest.fixture
def page(device_emulator):
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    problems: list[str] = []
    control_calls: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
               if msg.type in ("error", "warning") else None)
        tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        tab.on("request", lambda req: control_calls.append(req.url.split("/_emulator", 1)[-1])
               if "/_emulator/" in req.url else None)
        tab.problems = problems  # type: ignore[attr-defined]
        tab.control_calls = control_calls  # type: ignore[attr-defined]
        tab.goto(f"{device_emulator.url}/_emulator/")
        tab.wait_for_selector("body[data-loaded=true]", timeout=15000)
        yield tab
        browser.close()
    assert problems == []
    # the page pages through devices; it never exports the whole state
    assert not [c for c in control_calls if c.startswith("/state")], control_calls


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    print(f"screenshot: {ARTIFACTS / name}.png")


def test_devices_page_searches_and_opens_a_device(device_emulator, page):
    token = f"dashboard-{uuid.uuid4().hex}"
    r = requests.post(f"{device_emulator.url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm",
                      json={"token": token}, timeout=10)
    assert r.status_code == 200, r.text
    device_id = r.json()["id"]
    device_path = f"/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm/{device_id}"
    assert requests.get(device_emulator.url + device_path, timeout=10).status_code == 200
    page.click("button[data-vendor=beams]")
    page.wait_for_selector(f"#tenant option[value='{BEAMS_INSTANCE}']", state="attached")
    assert page.locator("#tenant option").first.inner_text() == f"{BEAMS_INSTANCE} (1 devices)"
    page.fill("#search", device_id[:12])
    page.wait_for_selector(f"#devices a[data-device='{device_id}']")
    assert page.locator("#devices [data-row]").count() == 1
    assert page.inner_text("#page-info") == "1–1 of 1"
    page.fill("#search", "no-such-device")
    page.wait_for_selector("#devices td.empty:text-is('none')")
    page.fill("#search", device_id)
    page.click(f"#devices a[data-device='{device_id}']")
    page.wait_for_selector("#device-panel:not([hidden])")
    assert page.inner_text("#device-title") == f"beams device {device_id}"
    assert f'"token": "{token}"' in page.inner_text("#device-record")
    page.wait_for_selector("#device-deliveries td.empty:text-is('no deliveries')")
    page.wait_for_selector(f"#device-requests td.id:text-is('{device_path}')")
    _shot(page, "device")
    page.click("#device-close")
    assert page.locator("#device-panel").is_hidden()


def test_devices_are_paged(device_emulator, page):
    device_emulator.load(_many_jpush_devices(120))
    page.click("button[data-vendor=jpush]")
    page.wait_for_selector("#page-info:text-is('1–50 of 123')")
    assert page.locator("#devices [data-row]").count() == 50
    assert page.is_disabled("#prev")
    page.click("#next")
    page.wait_for_selector("#page-info:text-is('51–100 of 123')")
    page.click("#next")
    page.wait_for_selector("#page-info:text-is('101–123 of 123')")
    assert page.locator("#devices [data-row]").count() == 23
    assert page.is_disabled("#next")
    assert all(c.endswith("limit=50") or "limit=50" in c for c in page.control_calls if c.startswith("/devices"))
    # ids and vendor names are not wrapped at 1,400 px
    heights = page.eval_on_selector_all(
        "#devices td.id, #tabs button", "cells => cells.map(c => c.getBoundingClientRect().height)")
    assert heights and max(heights) < 40, heights
    _shot(page, "paged")


def test_requests_filter_and_open_with_headers_and_bodies(device_emulator, page):
    r = requests.post(f"{device_emulator.url}/v3/devices/{JPUSH_RID}", json={"tags": {"add": ["vip"]}},
                      headers=jpush_auth(), timeout=10)
    assert r.status_code == 200
    requests.get(f"{device_emulator.url}/devices/list?api_key=wrong", timeout=10)
    page.select_option("#f-vendor", "jpush")
    page.select_option("#f-method", "POST")
    page.wait_for_selector(f"#requests td:text-is('/v3/devices/{JPUSH_RID}')")
    vendors = page.eval_on_selector_all("#requests tbody tr td:nth-child(2)", "tds => tds.map(t => t.textContent)")
    assert vendors == ["jpush"]
    page.click(f"#requests td:text-is('/v3/devices/{JPUSH_RID}')")
    page.wait_for_selector("#request-panel:not([hidden])")
    assert page.inner_text("#request-title") == f"POST /v3/devices/{JPUSH_RID} → 200"
    assert '"tags": {\n    "add": [\n      "vip"\n    ]\n  }' in page.inner_text("#request-body")
    assert page.inner_text("#response-body") == "{}"
    assert '"Authorization": "Basic ' in page.inner_text("#request-headers")
    page.select_option("#f-vendor", "applovin")
    page.select_option("#f-method", "")
    page.fill("#f-status", "403")
    page.dispatch_event("#f-status", "change")
    page.wait_for_selector("#requests td:text-is('/devices/list?api_key=wrong')")
    assert page.locator("#requests tbody tr").count() == 1
    _shot(page, "requests")
    page.click("#clear-requests")
    page.wait_for_selector("#requests td.empty:text-is('no requests')")
    assert device_emulator.requests() == []


def test_actions_delete_fault_switch_option_move_clock_and_reset(device_emulator, page):
    rule = device_emulator.fault(vendor="beams", path="/publish_api/*", status=503)
    page.wait_for_selector(f"#faults tr[data-fault='{rule['id']}']")
    page.click(f"#faults tr[data-fault='{rule['id']}'] button")
    page.wait_for_selector("#faults td.empty:text-is('no fault rules')")
    assert device_emulator.faults() == []

    page.select_option("#opt-jpush-success_body", "empty")
    page.wait_for_function("() => true")
    for _ in range(50):
        if device_emulator.options()["jpush"]["success_body"] == "empty":
            break
        page.wait_for_timeout(100)
    assert device_emulator.options()["jpush"]["success_body"] == "empty"

    before = device_emulator._call("GET", "clock")["offset_seconds"]
    page.fill("#advance-seconds", "90")
    page.click("#advance")
    for _ in range(50):
        if device_emulator._call("GET", "clock")["offset_seconds"] == before + 90:
            break
        page.wait_for_timeout(100)
    assert device_emulator._call("GET", "clock")["offset_seconds"] == before + 90

    device_emulator.load(_many_jpush_devices(3))
    page.click("button[data-vendor=jpush]")
    page.wait_for_selector("#page-info:text-is('1–6 of 6')")
    page.click("#reset")
    page.wait_for_selector("#page-info:text-is('1–3 of 3')")
    assert len(device_emulator.state("jpush")["apps"][0]["devices"]) == 3
    assert device_emulator.options()["jpush"]["success_body"] == "json"  # reset restores options
    _shot(page, "after-reset")


def test_tenants_and_devices_endpoints(device_emulator):
    url = device_emulator.url + "/_emulator"
    device_emulator.load(_many_jpush_devices(5))
    assert requests.get(url + "/tenants?vendor=jpush", timeout=10).json() == {
        "vendor": "jpush", "label": "devices", "tenants": [{"id": JPUSH_KEY, "devices": 8}]}
    page = requests.get(url + f"/devices?vendor=jpush&tenant={JPUSH_KEY}&limit=2&offset=1", timeout=10).json()
    assert page["total"] == 8 and (page["offset"], page["limit"]) == (1, 2)
    assert [d["registration_id"] for d in page["devices"]] == ["00000000101", "00000000102"]  # ordered by id
    assert set(page["devices"][0]) == {"registration_id", "platform", "alias", "mobile", "online", "last_online_time"}
    found = requests.get(url + f"/devices?vendor=jpush&tenant={JPUSH_KEY}&search=0000000010", timeout=10).json()
    assert [d["registration_id"] for d in found["devices"]] == [f"0000000010{i}" for i in range(5)]
    lists = requests.get(url + "/tenants?vendor=applovin", timeout=10).json()
    assert lists["label"] == "device lists" and lists["tenants"][0]["devices"] == 1
    for query, status, error in [
        ("vendor=nobody", 400, "vendor must be one of capgo, moengage, beams, jpush, applovin"),
        ("vendor=jpush", 400, "tenant is required"),
        ("vendor=jpush&tenant=unknown", 404, "no jpush tenant 'unknown'"),
        (f"vendor=jpush&tenant={JPUSH_KEY}&limit=²", 400, "limit must be a non-negative integer"),
        (f"vendor=jpush&tenant={JPUSH_KEY}&offset=-1", 400, "offset must be a non-negative integer"),
    ]:
        r = requests.get(f"{url}/devices?{query}", timeout=10)
        assert (r.status_code, r.json()) == (status, {"error": error}), query
    capped = requests.get(url + f"/devices?vendor=jpush&tenant={JPUSH_KEY}&limit={'9' * 5000}", timeout=10).json()
    assert capped["limit"] == 500
