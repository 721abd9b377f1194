"""A testcontainers module: the emulator's image as a throw-away container in a test.

Needs the optional extra ``testcontainers`` (``pip install 'device-api-emulator[testcontainers]'``)
and a Docker-compatible engine (Docker, or podman's API socket through ``DOCKER_HOST``).
"""
from __future__ import annotations

from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from .client import DeviceEmulator

DEFAULT_IMAGE = "device-api-emulator:latest"
PORT = 8780


class DeviceApiEmulatorContainer(DockerContainer):
    """``with DeviceApiEmulatorContainer() as emulator: emulator.url ...``: started, then ready once
    ``/_emulator/health`` answers 200; the control plane's calls are methods of the container."""

    def __init__(self, image: str = DEFAULT_IMAGE, *, startup_timeout: float = 60.0, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self.with_exposed_ports(PORT)
        self.waiting_for(HttpWaitStrategy(PORT, "/_emulator/health").for_status_code(200)
                         .with_startup_timeout(int(startup_timeout)))
        self._client: DeviceEmulator | None = None

    @property
    def url(self) -> str:
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(PORT)}"

    @property
    def client(self) -> DeviceEmulator:
        """The same handle the pytest plugin gives (``reset``, ``state``, ``load``, ``requests`` ...)."""
        if self._client is None:
            self._client = DeviceEmulator(self.url)
        return self._client

    def reset(self, vendor: str | None = None) -> None:
        self.client.reset(vendor)

    def state(self, vendor: str | None = None) -> dict[str, Any]:
        return self.client.state(vendor)

    def requests(self, vendor: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        return self.client.requests(vendor, **filters)

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """The delivery ledger (``GET /_emulator/deliveries``)."""
        return self.client.deliveries(**filters)
