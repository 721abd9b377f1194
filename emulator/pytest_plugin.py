"""pytest plugin (entry point ``pytest11``): the ``device_emulator`` fixture.

One server per test session (per xdist worker), in a background thread on a free port with a
temporary SQLite file, reset to its fixtures before every test. With
``--device-emulator-url`` the tests use an already running emulator (e.g. the container)
instead, once it answers healthy, and reset it the same way; that one shared server cannot
serve several xdist workers, so that combination is refused.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import DeviceEmulator, EmulatorError, EmulatorUnreachable

__all__ = ["DeviceEmulator", "EmulatorError", "EmulatorUnreachable", "device_emulator", "device_emulator_server"]


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
        yield DeviceEmulator(server.url, server)
    finally:
        server.stop()


@pytest.fixture
def device_emulator(device_emulator_server: DeviceEmulator) -> DeviceEmulator:
    """The emulator, reset to its start-up fixtures before this test."""
    device_emulator_server.reset()
    return device_emulator_server
