from __future__ import annotations

import pytest

from tests.core.toy import ToyServer, start_toy


@pytest.fixture
def toy(tmp_path):
    server = start_toy(tmp_path)
    try:
        yield ToyServer(server)
    finally:
        server.stop()
