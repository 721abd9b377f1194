"""The PyPI ``moengage`` client (a community wrapper of the Data API, the one the vendor notes
cite as S10) aimed at the emulator through its ``base_url``: what it tracks is what we store.
It sends Basic auth plus ``MOE-APPKEY``, as real integrations do."""
from __future__ import annotations

import pytest

from tests.credentials import MOENGAGE_APP, MOENGAGE_KEY

import moengage


def test_python_client_tracks_users_and_events(device_emulator):
    client = moengage.Moengage(device_emulator.url, MOENGAGE_APP, MOENGAGE_KEY)
    client.create_or_update_user("py-user", "Py User", "+15550100", email="py@example.com", plan="pro")
    client.publish_event("py-user", "Checkout", amount=42)
    ws = device_emulator.state("moengage")["workspaces"][0]
    assert {"customer_id": "py-user", "attributes": {"name": "Py User", "mobile": "+15550100",
                                                     "email": "py@example.com", "plan": "pro"}} in ws["customers"]
    (event,) = ws["events"]
    assert (event["customer_id"], event["action"], event["attributes"]) == ("py-user", "Checkout", {"amount": 42})
    assert event["properties"] == {"user_timezone_offset": 19800}


def test_python_client_reads_the_error_message_out_of_our_envelope(device_emulator):
    client = moengage.Moengage(device_emulator.url, MOENGAGE_APP, "wrong-key")
    with pytest.raises(moengage.exceptions.MoengageAPIException, match="App Secret key mismatch. Please login"):
        client.create_or_update_user("py-user", "Py User", "+15550100")
    names = [c["customer_id"] for c in device_emulator.state("moengage")["workspaces"][0]["customers"]]
    assert "py-user" not in names
