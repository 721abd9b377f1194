"""The pytest plugin's handle: the proxy URL, the CA file and an environment context."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.credentials import APPLOVIN_KEY


def test_handle_exposes_the_proxy_and_its_ca(device_emulator):
    health = device_emulator.health()
    assert device_emulator.proxy_url == health["proxy"]
    assert health["proxy"].startswith("http://127.0.0.1:")
    served = requests.get(f"{device_emulator.url}/_emulator/ca.pem", timeout=10).content
    assert Path(device_emulator.ca_path).read_bytes() == served


def test_proxy_env_sets_and_restores_the_environment(device_emulator):
    before = dict(os.environ)
    with device_emulator.proxy_env() as env:
        assert os.environ["HTTPS_PROXY"] == device_emulator.proxy_url == env["HTTPS_PROXY"]
        # in this process: requests reads the proxy and the bundle per request
        listed = requests.get(f"https://api.applovin.com/devices/list?api_key={APPLOVIN_KEY}", timeout=10)
        assert listed.status_code == 200 and listed.json()["count"] == 1
        # and a subprocess inherits it
        created = subprocess.run([sys.executable, "-c", (
            "import requests; print(requests.get('https://api.applovin.com/devices/create?name=Sub&api_key="
            f"{APPLOVIN_KEY}', timeout=10).status_code)")], capture_output=True, text=True, timeout=60)
        assert created.stdout == "200\n", created.stderr
    assert dict(os.environ) == before
    names = [x["name"] for x in device_emulator.state("applovin")["accounts"][0]["device_lists"]]
    assert names == ["List Test", "Sub"]
    hosts = {e["request_headers"]["Host"] for e in device_emulator.requests("applovin")}
    assert hosts == {"api.applovin.com"}
