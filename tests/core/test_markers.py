"""The marker table of tests/conftest.py names tests that exist (a renamed test would silently
lose its mark otherwise), and the marks reach the collected tests."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import VENDOR_MARKS

ROOT = Path(__file__).resolve().parents[2]


def test_every_marked_vendor_test_exists():
    for nodeid in VENDOR_MARKS:
        file, _, test = nodeid.partition("::")
        path = ROOT / file
        assert path.is_file(), nodeid
        if test:
            names = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
            assert test in names, nodeid


def test_the_marks_reach_the_collected_tests(pytester):
    pytester.syspathinsert(ROOT)
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-m", "sdk", "--rootdir", str(ROOT), "-p",
                                          "no:cacheprovider", str(ROOT / "tests" / "beams" / "test_beams_server.py"))
    lines = [line for line in result.outlines if "::" in line]
    assert lines == ["tests/beams/test_beams_server.py::test_node_sdk_publishes_to_interests_and_users_and_deletes_a_user"]
