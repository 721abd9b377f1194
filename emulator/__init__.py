"""device-api-emulator: one local server emulating five vendors' mobile Device APIs."""
from __future__ import annotations

__version__ = "0.1.0"

from .config import Config


def create_app(config: Config | None = None, **kwargs):
    """Build the aiohttp application (see :func:`emulator.app.create_app`)."""
    from .app import create_app as _create_app

    return _create_app(config, **kwargs)


__all__ = ["Config", "create_app", "__version__"]
