"""Acknowledged JPush writes survive a restart (and a kill -9) on the same database."""
from __future__ import annotations

import requests

from tests.credentials import JPUSH_KEY, JPUSH_RIDS, JPUSH_SECRET
from tests.support import ServerProcess

DEFAULT_APP = (JPUSH_KEY, JPUSH_SECRET)
RID, OTHER_RID = JPUSH_RIDS[0], JPUSH_RIDS[1]


def test_device_changes_survive_kill_and_restart(tmp_path):
    db = str(tmp_path / "jpush.db")
    with ServerProcess("--db", db) as first:
        resp = requests.post(f"{first.url}/v3/devices/{RID}", auth=DEFAULT_APP, timeout=10,
                             json={"tags": {"add": ["kept"]}, "alias": "durable", "mobile": "13000000000"})
        assert resp.status_code == 200
        assert requests.post(f"{first.url}/v3/tags/kept", auth=DEFAULT_APP, timeout=10,
                             json={"registration_ids": {"add": [OTHER_RID]}}).status_code == 200
        first.kill()
    with ServerProcess("--db", db) as second:
        device = requests.get(f"{second.url}/v3/devices/{RID}", auth=DEFAULT_APP, timeout=10).json()
        assert device == {"tags": ["kept"], "alias": "durable", "mobile": "13000000000"}
        tags = requests.get(f"{second.url}/v3/tags/", auth=DEFAULT_APP, timeout=10).json()
        assert tags == {"tags": ["kept"]}
        assert requests.get(f"{second.url}/v3/tags/kept/registration_ids/{OTHER_RID}", auth=DEFAULT_APP,
                            timeout=10).json() == {"result": True}
