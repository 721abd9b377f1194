"""The pytest plugin against an emulator given by URL (issue: the plugin under pytest-xdist, and
a URL that is not up yet): refused up front with -n N, waits for health, one line when
unreachable -- each in a real pytest run of a small test file."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.support import ROOT, ServerProcess

TEST_FILE = '''
def test_uses_the_emulator(device_emulator):
    assert device_emulator.health()["status"] == "ok"
'''


def _pytest(tmp_path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text(TEST_FILE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "-c", os.devnull, str(tmp_path / "test_user.py"), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_url_with_xdist_workers_is_a_usage_error(tmp_path):
    pytest.importorskip("xdist")
    done = _pytest(tmp_path, "-n", "2", "--device-emulator-url", "http://127.0.0.1:9")
    assert done.returncode == 4, done.stdout + done.stderr
    assert ("ERROR: --device-emulator-url cannot be used with pytest-xdist (-n): every worker would reset the one "
            "shared emulator before each of its tests") in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_unreachable_url_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    done = _pytest(tmp_path, "--device-emulator-url", url, "--device-emulator-wait", "1")
    out = done.stdout + done.stderr
    assert done.returncode == 4, out
    assert f"cannot reach the emulator at {url}: [Errno 111] Connection refused (waited 1 s)" in out
    assert "Traceback" not in out and len(out.splitlines()) < 10, out
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_url_that_comes_up_late_is_waited_for(tmp_path):
    """A container may still be starting: the plugin waits for /_emulator/health."""
    port = _free_port()
    holder: list[ServerProcess] = []

    def start_late() -> None:
        time.sleep(2)
        holder.append(ServerProcess("--db", str(tmp_path / "late.db"), "--port", str(port)))

    thread = threading.Thread(target=start_late)
    thread.start()
    try:
        done = _pytest(tmp_path, "--device-emulator-url", f"http://127.0.0.1:{port}", "--device-emulator-wait", "30")
    finally:
        thread.join()
        for srv in holder:
            srv.terminate()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
