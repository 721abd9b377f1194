"""The dashboard in a real headless Chromium: loads without console errors and shows a
device a test just created through a vendor API. The screenshot is kept in tests/artifacts/."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
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


def test_dashboard_shows_a_device_just_registered(device_emulator):
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    instance = device_emulator.state("beams")["instances"][0]["instance_id"]
    token = f"dashboard-{uuid.uuid4().hex}"
    r = requests.post(f"{device_emulator.url}/device_api/v1/instances/{instance}/devices/fcm",
                      json={"token": token, "bundleIdentifier": "com.example.app"})
    assert r.status_code == 200, r.text
    device_id = r.json()["id"]
    device_emulator.fault(vendor="beams", path="/publish_api/*", status=503, times=1)

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.goto(f"{device_emulator.url}/_emulator/")
        page.wait_for_selector("body[data-loaded=true]", timeout=15000)
        page.click("button[data-vendor=beams]")
        page.fill("#search", device_id)
        page.wait_for_selector(f"#state td:text-is('{device_id}')", timeout=15000)
        assert page.locator("#state [data-row]").count() == 1  # the search narrowed to that device
        assert page.locator("#faults tbody td:text-is('/publish_api/*')").count() == 1
        # the registration shows up in the recent requests, fed by the journal
        assert page.locator("#requests tbody td", has_text=f"/instances/{instance}/devices/fcm").count() >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        browser.close()
    assert problems == []
