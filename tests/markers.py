"""The test markers applied at collection (hooked in by the repository's root conftest.py):
``sdk`` for every test using a fixture that installs npm packages (a vendor's node/npm SDK),
``browser`` for every module that drives chromium (it has ``ensure_chromium``,
tests/core/test_dashboard.py), ``slow`` for the vendor folders' tests named in VENDOR_SLOW (the
other slow tests carry the mark themselves). tests/core/test_markers.py checks these rules."""
from __future__ import annotations

import inspect

import pytest

VENDOR_SLOW = [
    "tests/moengage/test_moengage_rate_limit.py::"
    "test_the_10001st_device_update_in_a_minute_is_refused_and_one_a_minute_later_accepted",
]


def uses_npm(item: pytest.Item) -> bool:
    """Does the test use a fixture that installs npm packages?"""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in getattr(item, "fixturenames", ()):
        for fixturedef in info.name2fixturedefs.get(name, ()):
            try:
                source = inspect.getsource(fixturedef.func)
            except (OSError, TypeError):
                continue
            if "npm" in source:
                return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if uses_npm(item):
            item.add_marker("sdk")
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "ensure_chromium"):
            item.add_marker("browser")
        if item.nodeid.split("[")[0] in VENDOR_SLOW:
            item.add_marker("slow")
