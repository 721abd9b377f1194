"""pytest plugin (entry point ``pytest11``): the ``device_emulator`` fixture.

One server per test session (per xdist worker), in a background thread on a free port with a
temporary SQLite file, reset to its fixtures before every test. With
``--device-emulator-url`` the tests use an already running emulator (e.g. the container)
instead, and reset it the same way.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("device-api-emulator")
    group.addoption("--device-emulator-url", default=None, metavar="URL",
                    help="use an already running device-api-emulator instead of starting one")
    group.addoption("--device-emulator-fixtures", action="append", default=None, metavar="PATH",
                    help="fixture document(s) for the plugin's server (default: the shipped defaults)")


class EmulatorError(RuntimeError):
    """A control-plane call was refused; ``status`` and ``body`` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"device-api-emulator answered {status}: {body}")
        self.status = status
        self.body = body


class DeviceEmulator:
    """What a test gets: the base URL and the control plane as plain methods."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._proxy_env: dict[str, str] | None = None

    # -- the HTTPS proxy (unmodified SDKs with hard-coded vendor hosts) -----------------------
    def proxy_environ(self) -> dict[str, str]:
        """What ``device-api-emulator env`` would export (CA bundle and preloads written once
        into a temporary directory): give it to a subprocess running an unmodified SDK."""
        if self._proxy_env is None:
            from .envsetup import EnvError, build_env

            try:
                self._proxy_env = build_env(self.url, directory=Path(tempfile.mkdtemp(prefix="device-emulator-env-")))
            except EnvError as exc:
                raise EmulatorError(0, str(exc)) from None
        return dict(self._proxy_env)

    @property
    def proxy_url(self) -> str:
        """The HTTPS proxy, e.g. ``http://127.0.0.1:8781``."""
        return self.proxy_environ()["HTTPS_PROXY"]

    @property
    def ca_path(self) -> str:
        """A file holding the emulator's CA certificate (PEM)."""
        return self.proxy_environ()["NODE_EXTRA_CA_CERTS"]

    @contextlib.contextmanager
    def proxy_env(self) -> Iterator[dict[str, str]]:
        """Within the block, this process's environment sends clients through the proxy (as
        ``eval "$(device-api-emulator env)"`` would); the previous values come back after.
        Subprocesses started inside inherit it; in this process, clients that read the
        environment per request (requests' ``Session.request``, curl) follow it."""
        env = self.proxy_environ()
        saved = {name: os.environ.get(name) for name in env}
        for name, value in env.items():
            before = saved[name]
            os.environ[name] = value if not before or name not in ("PYTHONPATH", "NODE_OPTIONS") \
                else value + (":" if name == "PYTHONPATH" else " ") + before
        try:
            yield env
        finally:
            for name, old in saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = f"{self.url}/_emulator/{path}"
        if query:
            clean = {k: v for k, v in query.items() if v is not None}
            if clean:
                url += "?" + urllib.parse.urlencode(clean)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            raise EmulatorError(exc.code, parsed) from None
        return json.loads(raw) if raw else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def reset(self, vendor: str | None = None) -> None:
        """Back to the start-up fixtures (all vendors, or one)."""
        self._call("POST", "reset", query={"vendor": vendor})

    def load(self, doc: dict[str, Any]) -> None:
        """Merge a fixture document into the state."""
        self._call("POST", "fixtures", doc)

    def replace_state(self, doc: dict[str, Any]) -> None:
        """Replace the whole state with ``doc`` (atomic)."""
        self._call("PUT", "state", doc)

    def state(self, vendor: str | None = None) -> dict[str, Any]:
        """The state as a fixture document; with ``vendor``, that vendor's part only."""
        doc = self._call("GET", "state", query={"vendor": vendor})
        return doc[vendor] if vendor is not None else doc

    def requests(self, vendor: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, newest first (filters: method, path, status, limit)."""
        return self._call("GET", "requests", query={"vendor": vendor, **filters})["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def set_options(self, doc: dict[str, Any]) -> dict[str, Any]:
        """e.g. ``{"capgo": {"profile": "live"}, "auth": "open"}``; reset restores them."""
        return self._call("PATCH", "options", doc)["values"]

    def options(self) -> dict[str, Any]:
        return self._call("GET", "options")["values"]

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward (rate-limit windows, token expiry)."""
        return self._call("POST", "clock", {"advance": seconds})["now"]

    def freeze_clock(self, frozen: bool = True) -> float:
        """Stop the emulator's clock (or let it run again); reset thaws it."""
        return self._call("POST", "clock", {"freeze": frozen})["now"]

    def fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule, e.g. ``fault(vendor="beams", path="/device_api/*", status=500, times=1)``;
        returns it with its ``id``. Reset removes every rule."""
        return self._call("POST", "faults", rule)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self, rule_id: int | None = None) -> None:
        self._call("DELETE", "faults" if rule_id is None else f"faults/{rule_id}")

    def seed_faults(self, seed: int) -> None:
        """Make ``probability`` draws repeatable."""
        self._call("POST", "faults/seed", {"seed": seed})


@pytest.fixture(scope="session")
def device_emulator_server(request: pytest.FixtureRequest,
                           tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeviceEmulator]:
    """The session's emulator (started once per worker, or attached by URL)."""
    url = request.config.getoption("--device-emulator-url")
    if url:
        yield DeviceEmulator(url)
        return
    from .config import Config
    from .fixtures import DEFAULT_FIXTURES
    from .server import BackgroundServer

    fixtures = request.config.getoption("--device-emulator-fixtures") or [str(DEFAULT_FIXTURES)]
    db = tmp_path_factory.mktemp("device-emulator") / "emulator.db"
    server = BackgroundServer(Config(host="127.0.0.1", port=0, db=str(db), fixtures=list(fixtures),
                                     log_level="warning"))
    server.start()
    try:
        yield DeviceEmulator(server.url)
    finally:
        server.stop()


@pytest.fixture
def device_emulator(device_emulator_server: DeviceEmulator) -> DeviceEmulator:
    """The emulator, reset to its start-up fixtures before this test."""
    device_emulator_server.reset()
    return device_emulator_server
