"""Shared helpers for the Capgo tests: a small client over ``requests`` and device builders."""
from __future__ import annotations

from typing import Any

import requests

from tests.credentials import CAPGO_APP as APP
from tests.credentials import CAPGO_KEYS

OTHER_APP = "com.example.other"
KEY_ALL = CAPGO_KEYS["all"]
KEY_WRITE = CAPGO_KEYS["write"]
KEY_READ = CAPGO_KEYS["read"]
KEY_UPLOAD = CAPGO_KEYS["upload"]
KEY_LIMITED = "capgo-test-key-limited-to-other"
NO_KEY = None


def dev(n: int) -> str:
    """A plugin-style (UUID, lower-case) device id numbered ``n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


def device_doc(n: int, **fields: Any) -> dict[str, Any]:
    base = {"device_id": dev(n), "platform": "android", "version_name": "1.0.0", "version_build": "1.0.0",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    return {**base, **fields}


def check_in(device_id: str, **fields: Any) -> dict[str, Any]:
    """A minimal ``/updates`` body (notes §4); ``/stats`` adds ``version_os`` and ``action``."""
    body = {"app_id": APP, "device_id": device_id, "platform": "android", "version_name": "1.0.0",
            "version_build": "1.0", "is_emulator": False, "is_prod": True, "plugin_version": "6.0.0"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


class CapgoClient:
    """Requests against the emulator with Capgo's headers."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self.url = emulator.url

    def _headers(self, key: str | None, header: str = "authorization") -> dict[str, str]:
        return {} if key is None else {header: key}

    def get(self, params: dict[str, Any] | None = None, key: str | None = KEY_ALL, **kw) -> requests.Response:
        return requests.get(f"{self.url}/device", params=params, headers=self._headers(key), timeout=30, **kw)

    def post(self, body: Any = None, key: str | None = KEY_ALL, **kw) -> requests.Response:
        return requests.post(f"{self.url}/device", json=body, headers=self._headers(key), timeout=30, **kw)

    def delete(self, body: Any = None, key: str | None = KEY_ALL, **kw) -> requests.Response:
        return requests.delete(f"{self.url}/device", json=body, headers=self._headers(key), timeout=30, **kw)

    def raw(self, method: str, path: str, data: bytes | None = None, key: str | None = KEY_ALL,
            headers: dict[str, str] | None = None, **kw) -> requests.Response:
        all_headers = {**self._headers(key), **(headers or {})}
        return requests.request(method, f"{self.url}{path}", data=data, headers=all_headers, timeout=30, **kw)

    def stats(self, device_id: str, **fields: Any) -> requests.Response:
        body = {**check_in(device_id, version_os="14", action="ping"), **fields}
        body = {k: v for k, v in body.items() if v is not ...}
        return requests.post(f"{self.url}/stats", json=body, timeout=30)

    def updates(self, device_id: str, **fields: Any) -> requests.Response:
        return requests.post(f"{self.url}/updates", json=check_in(device_id, **fields), timeout=30)

    def live(self) -> None:
        self.emulator.set_options({"capgo": {"profile": "live"}})

    def state(self) -> dict[str, Any]:
        return self.emulator.state("capgo")

    def app_state(self, app_id: str = APP) -> dict[str, Any]:
        return next(a for a in self.state()["apps"] if a["app_id"] == app_id)

    def load_devices(self, devices: list[dict[str, Any]], app_id: str = APP, **app_fields: Any) -> None:
        self.emulator.load({"capgo": {"apps": [{"app_id": app_id, "devices": devices, **app_fields}]}})


