"""Helpers for tests that need a real emulator *process* (restarts, kill -9, CLI)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"ready on (http://\S+) ")


class ServerProcess:
    """``python -m emulator serve --port 0`` with the given flags; waits for the ready line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 20.0,
                 module: str = "emulator") -> None:
        serve = ["serve"] if module == "emulator" else []
        self.args = [sys.executable, "-m", module, *serve, "--port", "0", "--log-level", "warning", *args]
        full_env = {**os.environ, **(env or {})}
        # stderr goes to a file: a pipe nobody reads could fill up and stall the server
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, env=full_env, cwd=ROOT)
        self.ready_line = ""
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = READY.search(line)
            if match:
                self.ready_line = line.strip()
                self.url = match.group(1)
                return
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError(f"emulator did not become ready: rc={self.proc.returncode} "
                           f"stderr={self.stderr_text()}")

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def get(self, path: str, **kw):
        return requests.get(self.url + path, timeout=10, **kw)

    def post(self, path: str, **kw):
        return requests.post(self.url + path, timeout=10, **kw)

    def put(self, path: str, **kw):
        return requests.put(self.url + path, timeout=10, **kw)

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.close_pipes()

    def kill(self) -> int:
        return self.terminate(signal.SIGKILL)

    def close_pipes(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.terminate()


def run_cli(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Run the CLI to completion (for start-up failures)."""
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
