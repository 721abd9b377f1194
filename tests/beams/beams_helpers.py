"""A small Beams client for the tests: URLs, registration, JWTs and exact error checks."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import jwt
import requests

from tests.credentials import BEAMS_INSTANCE, BEAMS_SECRET

INSTANCE = BEAMS_INSTANCE  # the shipped default instance (tests/credentials.py)
SECRET = BEAMS_SECRET
OTHER_INSTANCE = "426abfc7-41fe-492f-bcf1-27586fa9bd3f"
OTHER_SECRET = "0THER5ECRET0THER5ECRET0THER5ECRET"
UNKNOWN_INSTANCE = "00000000-1111-4222-8333-444444444444"
PREFIXES = ("/device_api/v1/instances", "/instances")
APNS_TOKEN = "a1b2c3d4" * 8
FCM_TOKEN = "fcm-token:APA91bH_example-token"


def web_token(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc") -> str:
    """What the web SDK sends: base64 of JSON.stringify(PushSubscription)."""
    sub = {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": "BPk", "auth": "aGk"}}
    return base64.b64encode(json.dumps(sub).encode()).decode()


REGISTER_BODIES = {
    "apns": {"token": APNS_TOKEN, "bundleIdentifier": "com.example.app",
             "metadata": {"sdkVersion": "4.0.0", "iosVersion": "17.0"}},
    "fcm": {"token": FCM_TOKEN, "knownPreviousClientIds": [],
            "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}},
    "web": {"token": web_token(), "metadata": {"sdkVersion": "2.1.0"}},
}


def error_body(title: str, description: str) -> bytes:
    return (json.dumps({"error": title, "description": description}, separators=(",", ":")) + "\n").encode()


def assert_error(resp: requests.Response, status: int, title: str, description: str) -> None:
    assert resp.status_code == status, resp.content
    assert resp.content == error_body(title, description)
    assert resp.headers["Content-Type"] == "application/json"


def assert_go_404(resp: requests.Response) -> None:
    assert (resp.status_code, resp.content) == (404, b"404 page not found\n")
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"


def make_jwt(sub: Any = "alice", *, secret: str = SECRET, instance: str = INSTANCE, drop: tuple[str, ...] = (),
             **claims: Any) -> str:
    payload = {"sub": sub, "iss": f"https://{instance}.pushnotifications.pusher.com",
               "exp": int(time.time()) + 3600, **claims}
    for key in drop:
        payload.pop(key, None)
    return jwt.encode(payload, secret, algorithm="HS256")


class BeamsClient:
    def __init__(self, emulator, instance: str = INSTANCE, prefix: str = PREFIXES[0]) -> None:
        self.emulator = emulator
        self.url = emulator.url
        self.instance = instance
        self.prefix = prefix

    def with_instance(self, instance: str) -> BeamsClient:
        return BeamsClient(self.emulator, instance, self.prefix)

    def path(self, rest: str = "") -> str:
        return f"{self.url}{self.prefix}/{self.instance}{rest}"

    def request(self, method: str, rest: str, **kw) -> requests.Response:
        return requests.request(method, self.path(rest), timeout=30, **kw)

    def register(self, platform: str = "fcm", **overrides: Any) -> str:
        body = {**REGISTER_BODIES[platform], **overrides}
        resp = self.request("POST", f"/devices/{platform}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()["id"]

    def set_user(self, platform: str, device_id: str, token: str) -> requests.Response:
        return self.request("PUT", f"/devices/{platform}/{device_id}/user",
                            headers={"Authorization": f"Bearer {token}"})

    def state(self) -> dict[str, Any]:
        return next(i for i in self.emulator.state("beams")["instances"] if i["instance_id"] == self.instance)

    def device_state(self, device_id: str) -> dict[str, Any] | None:
        return next((d for d in self.state()["devices"] if d["id"] == device_id), None)


def server_post(emulator, path: str, body: Any = None, *, secret: str = SECRET, instance: str = INSTANCE,
                **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {secret}", **kw.pop("headers", {})}
    return requests.post(f"{emulator.url}/publish_api/v1/instances/{instance}{path}", json=body, headers=headers,
                         timeout=30, **kw)


def npm_packages(name: str, packages: list[str]) -> Path:
    """A directory with ``packages`` installed by npm, cached across runs (``BEAMS_NPM_CACHE``
    overrides the cache root). Installed beside the cache and renamed into place, so parallel
    workers never see a half-install. Skips the test when node or npm is missing."""
    import pytest

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the SDK tests (they are on every machine of this project)")
    root = Path(os.environ.get("BEAMS_NPM_CACHE", Path(tempfile.gettempdir()) / "device-api-emulator-npm-beams"))
    cache = root / name
    marker = cache / ".installed"
    if not marker.exists():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
        subprocess.run(["npm", "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--silent",
                        *packages], check=True, timeout=300)
        (staging / ".installed").write_text(" ".join(packages))
        try:
            os.replace(staging, cache)
        except OSError:  # another worker got there first
            shutil.rmtree(staging, ignore_errors=True)
    return cache
