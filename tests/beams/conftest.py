"""Beams fixtures: a client for the default instance, and a second instance for isolation tests."""
from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.beams.beams_helpers")

from tests.beams.beams_helpers import OTHER_INSTANCE, OTHER_SECRET, PREFIXES, BeamsClient  # noqa: E402


@pytest.fixture
def beams(device_emulator) -> BeamsClient:
    """The default instance through the documented ``/device_api/v1`` prefix, plus a second
    instance loaded next to it."""
    device_emulator.load({"beams": {"instances": [{"instance_id": OTHER_INSTANCE, "secret_key": OTHER_SECRET}]}})
    return BeamsClient(device_emulator)


@pytest.fixture(params=PREFIXES, ids=["device_api", "bare"])
def beams_any_prefix(beams, request) -> BeamsClient:
    """The same client under both prefixes (Android's host override drops /device_api/v1)."""
    return BeamsClient(beams.emulator, prefix=request.param)
