"""Notes L2: which methods each command accepts, lenient (default) and strict."""
from __future__ import annotations

import pytest

from tests.credentials import APPLOVIN_KEY


def test_lenient_create_list_delete_also_answer_post(applovin):
    created = applovin.call("create", "POST", {"name": "Posted"})
    assert created.status_code == 200
    list_id = created.json()["device_list_id"]
    listed = applovin.call("list", "POST")
    assert [e["name"] for e in listed.json()["device_lists"]] == ["List Test", "Posted"]
    assert applovin.call("list", "POST", {"device_list_id": list_id}).json() == {"code": 200, "devices": [], "count": 0}
    deleted = applovin.call("delete", "POST", {"device_list_id": list_id})
    assert (deleted.status_code, deleted.content) == (200, b"")


@pytest.mark.parametrize("command,wrong,right", [
    ("create", "POST", "GET"), ("list", "POST", "GET"), ("delete", "POST", "GET"),
    ("append", "GET", "POST"), ("deleteDevices", "GET", "POST")])
def test_strict_methods_answer_405_before_auth(applovin, device_emulator, expect_error, command, wrong, right):
    device_emulator.set_options({"applovin": {"methods": "strict"}})
    before = device_emulator.state("applovin")
    for client in (applovin, applovin.with_key(None)):
        resp = client.call(command, wrong, {"name": "S", "device_list_id": applovin.default_list_id}, data=b"SM-X")
        expect_error(resp, 405, f"Method {wrong} is not allowed for this command")
        assert resp.headers["Allow"] == right
    assert device_emulator.state("applovin") == before
    resp = applovin.call(command, "PUT")
    expect_error(resp, 405, "Method PUT is not allowed for this command")
    assert resp.headers["Allow"] == right


def test_strict_methods_still_serve_the_seeds_methods(applovin, device_emulator):
    device_emulator.set_options({"applovin": {"methods": "strict"}})
    list_id = applovin.create_id("Strict")
    assert applovin.append(list_id, "SM-X").status_code == 200
    assert applovin.delete_devices(list_id, "SM-X").status_code == 200
    assert applovin.delete(list_id).status_code == 200


def test_head_is_not_served(applovin):
    resp = applovin.call("list", "HEAD")
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, POST"


def test_cli_option_sets_strict_methods(tmp_path):
    from tests.support import ServerProcess

    key = APPLOVIN_KEY
    with ServerProcess("--db", str(tmp_path / "strict.db"), "--option", "applovin.methods=strict") as server:
        resp = server.post(f"/devices/list?api_key={key}")
        assert (resp.status_code, resp.headers["Allow"]) == (405, "GET")
        assert server.get(f"/devices/list?api_key={key}").json()["count"] == 1
