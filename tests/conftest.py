from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

#: markers of tests in the vendor folders, applied here by node id prefix (file, or file::test).
#: ``sdk``: drives a vendor's official SDK through node/npm; ``slow``: takes seconds.
#: tests/core/test_markers.py checks that every entry names a test that exists.
VENDOR_MARKS: dict[str, tuple[str, ...]] = {
    "tests/jpush/test_jpush_node_sdk.py": ("sdk",),
    "tests/beams/test_beams_web_sdk.py": ("sdk",),
    "tests/beams/test_beams_server.py::test_node_sdk_publishes_to_interests_and_users_and_deletes_a_user": ("sdk",),
    "tests/moengage/test_moengage_rate_limit.py::"
    "test_the_10001st_device_update_in_a_minute_is_refused_and_one_a_minute_later_accepted": ("slow",),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for prefix, marks in VENDOR_MARKS.items():
            if item.nodeid == prefix or item.nodeid.startswith((prefix + "::", prefix + "[")):
                for mark in marks:
                    item.add_marker(mark)
