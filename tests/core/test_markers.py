"""The marks tests/markers.py applies: ``sdk`` to the tests that use a fixture installing npm
packages, ``browser`` to the modules driving chromium, ``slow`` to the vendor tests it names (a
renamed test would silently lose its mark, so the names are checked)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.markers import VENDOR_SLOW

ROOT = Path(__file__).resolve().parents[2]


def test_every_named_slow_vendor_test_exists():
    for nodeid in VENDOR_SLOW:
        file, _, test = nodeid.partition("::")
        path = ROOT / file
        assert path.is_file(), nodeid
        names = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
        assert test in names, nodeid


def collected(marks: str, *paths: str) -> list[str]:
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marks,
                          *paths], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode in (0, 5), run.stdout[-2000:] + run.stderr[-2000:]  # 5: nothing selected
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_sdk_marks_the_tests_using_npm_and_only_them():
    assert collected("sdk", "tests/beams/test_beams_server.py", "tests/core/test_dashboard.py") == [
        "tests/beams/test_beams_server.py::test_node_sdk_publishes_to_interests_and_users_and_deletes_a_user"]


def test_browser_marks_the_chromium_modules():
    got = collected("browser", "tests/core/test_dashboard.py", "tests/core/test_markers.py")
    assert got and all(line.startswith("tests/core/test_dashboard.py::") for line in got), got
