"""Helpers for tests that need a real emulator *process* (restarts, kill -9, CLI)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

READY = re.compile(r"ready on (http://\S+) ")


class ServerProcess:
    """``python -m emulator serve --port 0`` with the given flags; waits for the ready line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 20.0) -> None:
        self.args = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--log-level", "warning", *args]
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=full_env)
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
        out, err = self.proc.communicate()
        raise RuntimeError(f"emulator did not become ready: rc={self.proc.returncode} stderr={err}")

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
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.terminate()


def run_cli(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Run the CLI to completion (for start-up failures)."""
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True,
                          timeout=timeout)


ROOT = Path(__file__).resolve().parent.parent
