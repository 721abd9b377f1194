"""The repository's own test markers (sdk, browser, slow in the vendor folders): tests/markers.py."""
from tests.markers import pytest_collection_modifyitems  # noqa: F401
