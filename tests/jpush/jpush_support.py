"""Shared helpers of the JPush tests: two tenants, a tiny client, exact error assertions."""
from __future__ import annotations

from typing import Any

import requests

CONTENT_TYPE = "application/json; charset=utf-8"

APP_A = ("jpushTestAppKeyAAAAAAAA1", "jpushTestMasterSecretAA1")
APP_B = ("jpushTestAppKeyBBBBBBBB2", "jpushTestMasterSecretBB2")
RID_ANDROID = "1a0018970a8e1b2c3d4"
RID_IOS = "0a04ad7d8b4"
RID_HMOS = "4n6mwxh23l72l0i1l32"
RID_B = "18071adc030dcba91c0"
RID_NOBODY = "090c1f59f99"

RID_NOT_IN_APP = "The registration_id does not belong to this appkey!"


def device(rid: str, platform: str, **fields: Any) -> dict[str, Any]:
    return {"registration_id": rid, "platform": platform, **fields}


def tenants_doc() -> dict[str, Any]:
    """Two apps: A with one device per platform, B with one device."""
    return {"jpush": {"apps": [
        {"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
            device(RID_ANDROID, "android", tags=["news"], alias="alice", mobile="13800138000", online=True),
            device(RID_IOS, "ios", tags=["news", "sport"], alias="bob",
                   online=False, last_online_time="2026-01-01 10:00:00"),
            device(RID_HMOS, "hmos"),
        ]},
        {"app_key": APP_B[0], "master_secret": APP_B[1], "devices": [
            device(RID_B, "android", tags=["news"], alias="alice"),
        ]},
    ]}}


class Client:
    """Basic-auth calls to one app's Device API on the emulator."""

    def __init__(self, url: str, auth: tuple[str, str] | None) -> None:
        self.url = url
        self.auth = auth

    def call(self, method: str, path: str, body: Any = None, *, data: bytes | str | None = None,
             **kwargs: Any) -> requests.Response:
        if body is not None:
            kwargs["json"] = body
        return requests.request(method, self.url + path, data=data, auth=self.auth, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def device(self, rid: str) -> dict[str, Any]:
        resp = self.get(f"/v3/devices/{rid}")
        assert resp.status_code == 200, resp.text
        return resp.json()


def assert_ok(resp: requests.Response, body: Any = None) -> None:
    """A 200 with JPush's content type and exactly ``body`` (``{}`` for writes by default)."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    assert resp.json() == ({} if body is None else body)


def assert_error(resp: requests.Response, status: int, code: int, message: str | None = None) -> None:
    """JPush's error: exact status, content type and ``{"error":{"code","message"}}`` body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    payload = resp.json()
    assert set(payload) == {"error"} and set(payload["error"]) == {"code", "message"}, payload
    assert payload["error"]["code"] == code, payload
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
    if message is not None:
        assert payload["error"]["message"] == message, payload


def assert_illegal(resp: requests.Response, message: str | None = None) -> None:
    assert_error(resp, 400, 7002, message)
