"""Fixtures of the MoEngage tests (helpers live in moengage_client.py)."""
from __future__ import annotations

import pytest

from tests.credentials import MOENGAGE_APP
from tests.moengage.moengage_client import DataApi


@pytest.fixture
def api(device_emulator) -> DataApi:
    return DataApi(device_emulator.url)


@pytest.fixture
def workspace(device_emulator):
    """The default workspace's exported state, fetched on demand."""
    def get(app_id: str = MOENGAGE_APP) -> dict:
        for ws in device_emulator.state("moengage")["workspaces"]:
            if ws["app_id"] == app_id:
                return ws
        raise AssertionError(f"no workspace {app_id}")
    return get
