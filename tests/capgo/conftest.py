"""The ``capgo`` fixture: a client plus a second app and a key limited to it."""
from __future__ import annotations

import pytest

from tests.capgo.capgo_helpers import KEY_LIMITED, OTHER_APP, CapgoClient, device_doc


@pytest.fixture
def capgo(device_emulator) -> CapgoClient:
    """A Capgo client plus a second app and a key limited to it (tenant isolation)."""
    device_emulator.load({"capgo": {
        "api_keys": [{"key": KEY_LIMITED, "mode": "all", "app_ids": [OTHER_APP]}],
        "apps": [{"app_id": OTHER_APP, "versions": ["2.0.0"],
                  "channels": [{"name": "production", "public": True, "version": "2.0.0"},
                               {"name": "qa", "public": False, "version": "2.0.0"}],
                  "devices": [device_doc(900, version_name="2.0.0")]}],
    }})
    return CapgoClient(device_emulator)
