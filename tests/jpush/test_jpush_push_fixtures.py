"""Pushes in the fixture document: ``apps[].pushes`` (optional) is exported by GET
/_emulator/state, loads back, and a loaded push answers its cid and can be overridden."""
from __future__ import annotations

import pytest

from emulator.pytest_plugin import EmulatorError
from tests.jpush.jpush_support import APP_A, APP_B

PUSH = {"msg_id": "1000000500", "sendno": "7", "cid": f"{APP_A[0]}-7d3c5d2b-0000-4000-8000-000000000001",
        "audience": {"tag": ["news"]}, "platform": ["android", "ios"], "notification": {"alert": "hi"},
        "message": None, "sms_message": None, "options": {"sendno": 7}, "time": "2026-01-01T00:00:00.000Z"}


def _app(*pushes, key=APP_A):
    return {"app_key": key[0], "master_secret": key[1], "pushes": list(pushes)}


def _pushes(jp, key=APP_A[0]):
    return next(a for a in jp.state()["apps"] if a["app_key"] == key).get("pushes")


def test_pushes_load_and_export_unchanged(jp):
    jp.emu.load({"jpush": {"apps": [_app(PUSH)]}})
    assert _pushes(jp) == [PUSH]
    # the export loads back as it is
    state = jp.emu.state()
    jp.emu.replace_state(state)
    assert jp.emu.state() == state


def test_an_app_that_never_pushed_has_no_pushes_key(jp):
    assert "pushes" not in next(a for a in jp.state()["apps"] if a["app_key"] == APP_A[0])


def test_a_sent_push_exports_in_the_fixture_shape(jp):
    resp = jp.a.post("/v3/push", {"platform": "all", "audience": {"alias": ["alice"]}, "message": {"msg_content": "m"}})
    msg_id = resp.json()["msg_id"]
    [push] = _pushes(jp)
    assert {k: v for k, v in push.items() if k != "time"} == {
        "msg_id": msg_id, "sendno": "0", "cid": None, "audience": {"alias": ["alice"]}, "platform": "all",
        "notification": None, "message": {"msg_content": "m"}, "sms_message": None, "options": None}
    assert push["time"].endswith("Z")


def test_a_loaded_push_answers_its_cid_and_new_msg_ids_follow_it(jp):
    jp.emu.load({"jpush": {"apps": [_app(PUSH)]}})
    again = jp.a.post("/v3/push", {"platform": "all", "audience": "all", "notification": {"alert": "x"},
                                   "cid": PUSH["cid"]})
    assert again.status_code == 200 and again.json() == {"sendno": "7", "msg_id": "1000000500"}
    fresh = jp.a.post("/v3/push", {"platform": "all", "audience": "all", "notification": {"alert": "x"}})
    assert fresh.json()["msg_id"] == "1000000501"


def test_a_loaded_push_without_time_was_sent_now_and_can_be_overridden(jp):
    push = {k: v for k, v in PUSH.items() if k != "time"}
    jp.emu.load({"jpush": {"apps": [_app(push)]}})
    resp = jp.a.post("/v3/push", {"platform": "all", "audience": "all", "notification": {"alert": "x"},
                                  "options": {"override_msg_id": 1000000500}})
    assert resp.status_code == 200


BAD = [
    ({**PUSH, "msg_id": "abc"}, "$.jpush.apps[0].pushes[0].msg_id", "does not match"),
    ({**PUSH, "msg_id": 1000000500}, "$.jpush.apps[0].pushes[0].msg_id", "expected a string"),
    ({k: v for k, v in PUSH.items() if k != "audience"}, "$.jpush.apps[0].pushes[0].audience", "is required"),
    ({**PUSH, "audience": {"tag": "news"}}, "$.jpush.apps[0].pushes[0]", "Audience value must be JSON Array format!"),
    ({**PUSH, "notification": None}, "$.jpush.apps[0].pushes[0]", "Missing parameter: notification or message"),
    ({**PUSH, "platform": ["web"]}, "$.jpush.apps[0].pushes[0]", "platform must be"),
    ({**PUSH, "time": "yesterday"}, "$.jpush.apps[0].pushes[0].time", "is not an ISO 8601 time"),
    ({**PUSH, "color": "red"}, "$.jpush.apps[0].pushes[0].color", "unknown field"),
]


@pytest.mark.parametrize("push,path,message", BAD)
def test_bad_pushes_are_refused_naming_the_path(jp, push, path, message):
    before = jp.emu.state()
    with pytest.raises(EmulatorError) as refused:
        jp.emu.load({"jpush": {"apps": [_app(push)]}})
    assert refused.value.status == 400
    assert refused.value.body["path"] == path, refused.value.body
    assert message in refused.value.body["error"]
    assert jp.emu.state() == before


def test_duplicate_msg_ids_and_cids_are_refused(jp):
    for pushes, path, message in (
            ([PUSH, {**PUSH, "cid": None}], "$.jpush.apps[0].pushes[1].msg_id", "duplicate msg_id"),
            ([PUSH, {**PUSH, "msg_id": "1000000501"}], "$.jpush.apps[0].pushes[1].cid", "duplicate cid")):
        with pytest.raises(EmulatorError) as refused:
            jp.emu.load({"jpush": {"apps": [_app(*pushes)]}})
        assert (refused.value.body["path"], message in refused.value.body["error"]) == (path, True)


def test_a_msg_id_of_another_app_is_refused_and_changes_nothing(jp):
    jp.emu.load({"jpush": {"apps": [_app(PUSH)]}})
    before = jp.emu.state()
    with pytest.raises(EmulatorError) as refused:
        jp.emu.load({"jpush": {"apps": [_app({**PUSH, "cid": None}, key=APP_B)]}})
    assert refused.value.body["path"] == "$.jpush.apps[0].pushes[0]"
    assert refused.value.body["error"].endswith(f"msg_id 1000000500 is a push of app {APP_A[0]}")
    assert jp.emu.state() == before
