"""Server processes for the benchmark: start, wait for the ready line (bounded), stop.

Every process is started in its own session (so a Ctrl-C in the terminal reaches only the
harness, which then stops them in order) and registered; :func:`stop_all` -- run from
``finally`` and on SIGTERM -- stops whatever is still running: SIGTERM, then SIGKILL.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence

_RUNNING: list[ServerProc] = []
_LOCK = threading.Lock()


class StartError(RuntimeError):
    pass


class ServerProc:
    """A server child whose stdout announces ``http://HOST:PORT`` on a ready line."""

    def __init__(self, name: str, cmd: Sequence[str], *, cwd: str | None = None, ready: str = r"ready on (http://\S+)",
                 log_path: str | None = None, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.cwd = cwd
        self.ready_re = re.compile(ready)
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.ready_s: float | None = None  # from just before Popen to the ready line being read
        self.stop_s: float | None = None
        self.lines: deque[str] = deque(maxlen=200)
        self._ready = threading.Event()
        self._log = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> ServerProc:
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
            start_new_session=True, env=self.env, text=True, bufsize=1)
        with _LOCK:
            _RUNNING.append(self)
        threading.Thread(target=self._drain, args=(t0,), name=f"drain-{self.name}", daemon=True).start()
        deadline = t0 + timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                self._ready.wait(0.5)  # let the drain thread read the last lines
                self._forget()
                raise StartError(f"{self.name} exited with {self.proc.returncode} before ready: "
                                 + " | ".join(self.lines) + self._log_tail())
            if time.perf_counter() > deadline:
                self.stop()
                raise StartError(f"{self.name} not ready within {timeout:.0f} s" + self._log_tail())
        return self

    def _drain(self, t0: float) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if not self._ready.is_set():
                m = self.ready_re.search(line)
                if m:
                    self.ready_s = time.perf_counter() - t0
                    self.url = m.group(1).rstrip("/")
                    self._ready.set()
            self.lines.append(line.rstrip())

    def _log_tail(self) -> str:
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 1500))
                return " | log: " + fh.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        """user+system CPU time of the process so far (Linux /proc), None if unknown."""
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            t0 = time.perf_counter()
            try:
                self.proc.terminate()
                self.proc.wait(timeout)
                self.stop_s = time.perf_counter() - t0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._forget()

    def _forget(self) -> None:
        with _LOCK:
            if self in _RUNNING:
                _RUNNING.remove(self)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()  # type: ignore[union-attr]
            self._log = None


def stop_all() -> None:
    with _LOCK:
        running = list(_RUNNING)
    for server in reversed(running):
        try:
            server.stop(timeout=10)
        except Exception:  # pragma: no cover - best effort at exit
            pass
