"""The CLI's subcommands beyond ``serve``, for people and CI scripts.

``exec`` follows the Firebase emulators' ``emulators:exec`` pattern: start on a free port with a
temporary database, wait until healthy, run a command with ``DEVICE_EMULATOR_URL`` set, stop, and
exit with the command's status. ``reset``, ``export`` and ``import`` act on a running emulator
through its control plane. Every failure is one line on stderr and a non-zero exit code.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
from pathlib import Path
from typing import Any

from .client import DeviceEmulator, EmulatorError
from .config import Config

DEFAULT_URL = "http://127.0.0.1:8780"
#: exit code when the emulator cannot be reached or refuses the call
EXIT_UNREACHABLE = 1
EXIT_REFUSED = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A one-line reason and the exit code to leave with."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def target_url(given: str | None) -> str:
    """``--url``, else ``DEVICE_EMULATOR_URL``, else the default port on loopback."""
    return (given or os.environ.get("DEVICE_EMULATOR_URL") or DEFAULT_URL).rstrip("/")


def _call(url: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except EmulatorError as exc:
        body = exc.body
        if isinstance(body, dict) and "error" in body:
            where = f" at {body['path']}" if body.get("path") else ""
            raise CommandError(f"the emulator at {url} refused it{where}: {body['error']}", EXIT_REFUSED) from None
        raise CommandError(f"the emulator at {url} answered {exc.status}: {body}", EXIT_REFUSED) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CommandError(f"cannot reach the emulator at {url} ({reason})", EXIT_UNREACHABLE) from None


def reset(url: str, vendor: str | None) -> str:
    client = DeviceEmulator(url)
    _call(url, client.reset, vendor)
    return f"reset {vendor or 'all vendors'} at {url}"


def export(url: str, file: str | None, vendor: str | None) -> str | None:
    """The state as a fixture document, to ``file`` or (``None`` / ``-``) standard output."""
    client = DeviceEmulator(url)
    doc = _call(url, client.state, vendor)
    if vendor is not None:
        doc = {vendor: doc}
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if file in (None, "-"):
        sys.stdout.write(text)
        return None
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {file}: {exc.strerror or exc}") from None
    return f"exported the state of {url} to {file}"


def import_(url: str, file: str, merge: bool) -> str:
    """Replace the state with the document in ``file`` (``-`` = standard input), or merge it."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror or exc}", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise CommandError(f"{file} is not UTF-8", EXIT_USAGE) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{file}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                           EXIT_USAGE) from None
    client = DeviceEmulator(url)
    _call(url, client.load if merge else client.replace_state, doc)
    return f"{'merged' if merge else 'imported'} {file} into {url}"


def exec_(config: Config, command: list[str]) -> int:
    """Serve on a free port with a temporary database while ``command`` runs; its exit status."""
    from .server import BackgroundServer

    if not command:
        raise CommandError("exec needs a command after --, e.g. device-api-emulator exec -- pytest", EXIT_USAGE)
    with tempfile.TemporaryDirectory(prefix="device-api-emulator-") as tmp:
        config.port = 0
        if config.db == Config().db:  # not chosen by the user: a throw-away database
            config.db = str(Path(tmp) / "emulator.db")
        server = BackgroundServer(config)
        server.start()
        try:
            env = {**os.environ, "DEVICE_EMULATOR_URL": server.url}
            try:
                child = subprocess.Popen(command, env=env)
            except OSError as exc:
                raise CommandError(f"cannot run {command[0]}: {exc.strerror or exc}", 127) from None
            previous = signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
            try:
                while True:
                    try:
                        status = child.wait()
                        break
                    except KeyboardInterrupt:  # Ctrl-C reached both; wait for the child to finish
                        continue
            finally:
                signal.signal(signal.SIGTERM, previous)
        finally:
            server.stop()
    return status if status >= 0 else 128 - status  # killed by signal N: 128 + N, as shells report it
