"""Pusher's web SDK (@pusher/push-notifications-web), run for real in Node against the emulator:
VAPID key, register, interests, set user id, stop. Only the browser's push service, service
worker and IndexedDB are stubbed (see web_sdk_check.mjs)."""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.beams.beams_helpers import INSTANCE, SECRET, npm_packages

SCRIPT = Path(__file__).with_name("web_sdk_check.mjs")


@pytest.fixture(scope="module")
def web_sdk() -> Path:
    return npm_packages("web-sdk", ["@pusher/push-notifications-web@2", "fake-indexeddb@6"])


def test_web_sdk_full_lifecycle(beams, web_sdk):
    cfg = {"url": beams.url, "instance": INSTANCE, "secret": SECRET, "modules": str(web_sdk)}
    run = subprocess.run(["node", str(SCRIPT), json.dumps(cfg)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    device = out["deviceId"]
    assert device.startswith("web-")
    assert out["applicationServerKeyLength"] == 65
    assert out["interests"] == {"interests": ["news", "weather"]}
    assert out["badTokenError"] == "Unexpected status code 401: Unauthorized, Invalid JWT: signature is invalid"
    assert out["userId"] == "web-user"
    assert out["beforeStop"] == {"id": device, "userId": "web-user", "metadata": {"sdkVersion": "2.1.0"}}
    assert out["afterStop"] is None
    assert out["clientSideError"].startswith('interest "bad name" contains a forbidden character')
    base = f"/device_api/v1/instances/{INSTANCE}"
    calls = [(r["method"], r["url"].replace(device, "{id}"), r["contentType"]) for r in out["requests"]]
    assert calls == [
        ("GET", f"{base}/web-vapid-public-key", None),
        ("POST", f"{base}/devices/web", "application/json"),
        ("PUT", f"{base}/devices/web/{{id}}/interests", "application/json"),
        ("POST", f"{base}/devices/web/{{id}}/interests/weather", None),
        ("DELETE", f"{base}/devices/web/{{id}}/interests/sport", None),
        ("GET", f"{base}/devices/web/{{id}}/interests?limit=100", None),
        ("PUT", f"{base}/devices/web/{{id}}/user", None),
        ("PUT", f"{base}/devices/web/{{id}}/user", None),
        ("DELETE", f"{base}/devices/web/{{id}}", None),
    ]
    # the registered token is the base64 PushSubscription JSON; stop() deleted the device
    journal = beams.emulator.requests("beams", method="POST", path=f"{base}/devices/web")
    token = json.loads(journal[0]["request_body"])["token"]
    assert json.loads(base64.b64decode(token))["endpoint"] == "https://fcm.googleapis.com/fcm/send/web-sdk-check"
    assert beams.device_state(device) is None
