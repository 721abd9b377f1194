from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.jpush.jpush_support import APP_A, APP_B, Client, tenants_doc


@pytest.fixture
def jp(device_emulator):
    """The emulator with two JPush apps loaded, and a client for each."""
    device_emulator.load(tenants_doc())
    return SimpleNamespace(
        emu=device_emulator,
        a=Client(device_emulator.url, APP_A),
        b=Client(device_emulator.url, APP_B),
        anon=Client(device_emulator.url, None),
        state=lambda: device_emulator.state("jpush"),
    )
