"""pytest plugin (entry point ``pytest11``): the ``device_emulator`` fixture.

One server per test session (per xdist worker), in a background thread on a free port with a
temporary SQLite file, reset to its fixtures before every test. With
``--device-emulator-url`` the tests use an already running emulator (e.g. the container)
instead, once it answers healthy, and reset it the same way; that one shared server cannot
serve several xdist workers, so that combination is refused.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("device-api-emulator")
    group.addoption("--device-emulator-url", default=None, metavar="URL",
                    help="use an already running device-api-emulator instead of starting one")
    group.addoption("--device-emulator-fixtures", action="append", default=None, metavar="PATH",
                    help="fixture document(s) for the plugin's server (default: the shipped defaults)")
    group.addoption("--device-emulator-wait", type=float, default=30.0, metavar="SECONDS",
                    help="with --device-emulator-url: how long to wait for it to become healthy (default 30)")


def _xdist_workers(config: pytest.Config) -> int:
    value = getattr(config.option, "numprocesses", None)
    try:
        return int(value or 0)
    except (TypeError, ValueError):  # "auto" not resolved yet: more than one, surely
        return 2


def pytest_configure(config: pytest.Config) -> None:
    """One shared emulator cannot serve parallel workers: each resets it before each of its
    tests, wiping the others' state mid-test. Refused up front, in one line."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has checked
        return
    if config.getoption("--device-emulator-url", None) and _xdist_workers(config) > 1:
        raise pytest.UsageError(
            "--device-emulator-url cannot be used with pytest-xdist (-n): every worker would reset the one "
            "shared emulator before each of its tests; drop -n, or drop --device-emulator-url so that each "
            "worker starts its own emulator")


class EmulatorError(RuntimeError):
    """A control-plane call was refused; ``status`` and ``body`` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"device-api-emulator answered {status}: {body}")
        self.status = status
        self.body = body


class EmulatorUnreachable(OSError):
    """The emulator at the URL does not answer; ``reason`` says why (as ``URLError.reason``)."""

    def __init__(self, message: str, reason: object = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


class DeviceEmulator:
    """What a test gets: the base URL and the control plane as plain methods."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

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
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EmulatorUnreachable(f"cannot reach the emulator at {self.url}: {reason}", reason) from None
        return json.loads(raw) if raw else None

    def wait_healthy(self, timeout: float) -> None:
        """Wait until ``/_emulator/health`` answers ``ok`` (a container may still be starting);
        raise :class:`EmulatorUnreachable` with the last reason after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return
            except EmulatorError as exc:
                problem = f"the emulator at {self.url} is not healthy: {exc.status} {exc.body}"
            except EmulatorUnreachable as exc:
                problem = str(exc)
            if time.monotonic() >= deadline:
                raise EmulatorUnreachable(f"{problem} (waited {timeout:g} s)")
            time.sleep(0.25)

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
        emulator = DeviceEmulator(url)
        try:
            emulator.wait_healthy(request.config.getoption("--device-emulator-wait"))
        except EmulatorUnreachable as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        yield emulator
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
