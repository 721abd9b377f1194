"""Shared fixtures for the AppLovin tests: a small client bound to one api_key."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST

OTHER_KEY = "applovin-other-account-key"


class AppLovinClient:
    """Calls ``/devices/{command}``. ``query`` is a dict (encoded by requests, ``api_key``
    added) or a raw string sent verbatim (to control ``+``, ``%XX`` and repeats)."""

    default_key = APPLOVIN_KEY
    other_key = OTHER_KEY
    default_list_id = APPLOVIN_LIST

    def __init__(self, url: str, api_key: str | None = APPLOVIN_KEY) -> None:
        self.url = url
        self.api_key = api_key

    def with_key(self, api_key: str | None) -> AppLovinClient:
        return AppLovinClient(self.url, api_key)

    def call(self, command: str, method: str = "GET", query: dict[str, Any] | str | None = None,
             data: bytes | str | None = None, **kwargs: Any) -> requests.Response:
        url = f"{self.url}/devices/{command}"
        if isinstance(query, str):
            return requests.request(method, f"{url}?{query}", data=data, timeout=30, **kwargs)
        params = dict(query or {})
        if self.api_key is not None and "api_key" not in params:
            params["api_key"] = self.api_key
        return requests.request(method, url, params=params, data=data, timeout=30, **kwargs)

    # the seed's commands with their documented methods
    def create(self, name: str, description: str | None = None) -> requests.Response:
        query = {"name": name} if description is None else {"name": name, "description": description}
        return self.call("create", query=query)

    def create_id(self, name: str, description: str | None = None) -> str:
        resp = self.create(name, description)
        assert resp.status_code == 200, resp.text
        return resp.json()["device_list_id"]

    def lists(self) -> requests.Response:
        return self.call("list")

    def devices(self, list_id: str) -> requests.Response:
        return self.call("list", query={"device_list_id": list_id})

    def device_names(self, list_id: str) -> list[str]:
        resp = self.devices(list_id)
        assert resp.status_code == 200, resp.text
        return [d["device"] for d in resp.json()["devices"]]

    def append(self, list_id: str, body: bytes | str) -> requests.Response:
        return self.call("append", "POST", {"device_list_id": list_id}, data=body)

    def delete_devices(self, list_id: str, body: bytes | str) -> requests.Response:
        return self.call("deleteDevices", "POST", {"device_list_id": list_id}, data=body)

    def delete(self, list_id: str) -> requests.Response:
        return self.call("delete", query={"device_list_id": list_id})


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": status, "message": message}


@pytest.fixture
def applovin(device_emulator) -> AppLovinClient:
    """A client of the default account (which holds the seed's "List Test" list)."""
    return AppLovinClient(device_emulator.url)


@pytest.fixture
def two_accounts(device_emulator, applovin) -> tuple[AppLovinClient, AppLovinClient]:
    """The default account and a second, empty one."""
    device_emulator.load({"applovin": {"accounts": [{"api_key": OTHER_KEY}]}})
    return applovin, applovin.with_key(OTHER_KEY)


@pytest.fixture
def expect_error():
    """Assert an AppLovin error answer: status, JSON content type, exact body."""
    def check(resp: requests.Response, status: int, message: str) -> None:
        assert resp.status_code == status, resp.text
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.json() == error_body(status, message)
    return check
