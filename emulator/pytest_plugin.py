"""pytest plugin (entry point ``pytest11``): the ``device_emulator`` fixture.

One server per test session (per xdist worker), in a background thread on a free port with a
temporary SQLite file, reset to its fixtures before every test. With
``--device-emulator-url`` the tests use an already running emulator (e.g. the container)
instead, and reset it the same way.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import DeviceEmulator, EmulatorError

__all__ = ["DeviceEmulator", "EmulatorError", "device_emulator", "device_emulator_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("device-api-emulator")
    group.addoption("--device-emulator-url", default=None, metavar="URL",
                    help="use an already running device-api-emulator instead of starting one")
    group.addoption("--device-emulator-fixtures", action="append", default=None, metavar="PATH",
                    help="fixture document(s) for the plugin's server (default: the shipped defaults)")


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
        yield DeviceEmulator(server.url, server)
    finally:
        server.stop()


@pytest.fixture
def device_emulator(device_emulator_server: DeviceEmulator) -> DeviceEmulator:
    """The emulator, reset to its start-up fixtures before this test."""
    device_emulator_server.reset()
    return device_emulator_server
