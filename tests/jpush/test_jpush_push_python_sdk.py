"""JPush's own Python client (PyPI ``jpush``) pushing to the emulator, its PUSH zone URL pointed
at it the way its users would: the calls of its official push tests (tests/push/test_audience.py,
test_message.py, test_push.py) and what they reach."""
from __future__ import annotations

import jpush
import pytest
from jpush import common

from tests.jpush.jpush_support import APP_A, RID_ANDROID, RID_HMOS, RID_IOS, device


@pytest.fixture
def sdk(jp, monkeypatch):
    """A ``jpush.JPush`` whose DEFAULT zone sends pushes to the emulator."""
    zone = dict(common.ZONES["DEFAULT"])
    zone["PUSH"] = f"{jp.emu.url}/v3/"
    monkeypatch.setitem(common.ZONES, "DEFAULT", zone)
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
        device(RID_ANDROID, "android", tags=["tag1"], alias="alias1"),
        device(RID_IOS, "ios", tags=["tag2"], alias="alias2"),
    ]}]}})
    return jpush.JPush(*APP_A)


def reached(jp, msg_id):
    return {r["device_id"]: r for r in jp.emu.deliveries(vendor="jpush", publish_id=str(msg_id))}


def test_official_test_push_to_all(jp, sdk):
    push = sdk.create_push()
    push.audience = jpush.all_
    push.notification = jpush.notification(alert="hello python jpush api")
    push.platform = jpush.all_
    response = push.send()
    assert response.status_code == 200
    assert set(response.payload) == {"sendno", "msg_id"} and response.payload["sendno"] == "0"
    assert set(reached(jp, response.payload["msg_id"])) == {RID_ANDROID, RID_IOS, RID_HMOS}


def test_official_audience_test_tag_and_alias(jp, sdk):
    """test_audience.py: audience(tag("tag1", "tag2"), alias("alias1", "alias2")) - the keys
    intersect, so a device needs one of the tags and one of the aliases."""
    push = sdk.create_push()
    push.audience = jpush.audience(jpush.tag("tag1", "tag2"), jpush.alias("alias1", "alias2"))
    push.notification = jpush.notification(alert="Hello world with audience!")
    push.platform = jpush.all_
    response = push.send()
    assert response.status_code == 200
    rows = reached(jp, response.payload["msg_id"])
    assert {rid: r["matched_by"] for rid, r in rows.items()} == {RID_ANDROID: {"alias": "alias1"},
                                                                  RID_IOS: {"alias": "alias2"}}


def test_tag_and_tag_not_registration_id_and_platform(jp, sdk):
    push = sdk.create_push()
    push.audience = jpush.audience(jpush.tag_and("tag1"), jpush.tag_not("tag2"))
    push.notification = jpush.notification(
        alert="x", android=jpush.android(alert="droid", title="T", extras={"k": "v"}),
        ios=jpush.ios(alert="apple", badge="+1", sound="a.caf"))
    push.platform = jpush.platform("android", "ios")
    push.options = {"time_to_live": 86400, "sendno": 12345, "apns_production": True}
    response = push.send()
    assert response.payload["sendno"] == "12345"
    rows = reached(jp, response.payload["msg_id"])
    assert list(rows) == [RID_ANDROID]
    assert rows[RID_ANDROID]["payload"] == {"notification": {"alert": "droid", "title": "T", "extras": {"k": "v"}}}

    ios_push = sdk.create_push()
    ios_push.audience = jpush.audience(jpush.registration_id(RID_IOS, RID_ANDROID))
    ios_push.notification = jpush.notification(ios=jpush.ios(alert="apple", badge="+1", sound="a.caf"))
    ios_push.message = jpush.message("data", title="t", extras={"a": 1})
    ios_push.platform = jpush.platform("ios")
    response = ios_push.send()
    rows = reached(jp, response.payload["msg_id"])
    assert list(rows) == [RID_IOS]
    # what the client's ios() builder produced for this platform, and the message
    assert rows[RID_IOS]["payload"] == {
        "notification": {"alert": "apple", "badge": "+1", "sound": "a.caf"},
        "message": {"msg_content": "data", "title": "t", "extras": {"a": 1}}}


def test_send_validate_checks_and_records_nothing(jp, sdk):
    push = sdk.create_push()
    push.audience = jpush.audience(jpush.tag("tag1"))
    push.message = jpush.message("only checked")
    push.platform = jpush.all_
    before = jp.state()
    response = push.send_validate()
    assert response.status_code == 200 and response.payload == {"sendno": "0", "msg_id": "0"}
    assert jp.state() == before and jp.emu.deliveries(vendor="jpush") == []


def test_get_cid_then_push_with_it(jp, sdk):
    push = sdk.create_push()
    cids = push.get_cid(2, "push").payload["cidlist"]
    assert len(cids) == 2 and all(c.startswith(APP_A[0] + "-") for c in cids)
    push.audience = jpush.all_
    push.notification = jpush.notification(alert="once")
    push.platform = jpush.all_
    push.cid = cids[0]
    first = push.send().payload
    assert push.send().payload == first


def test_the_client_sees_1011_and_1004(jp, sdk):
    push = sdk.create_push()
    push.audience = jpush.audience(jpush.tag("nobody_has_this"))
    push.notification = jpush.notification(alert="lost")
    push.platform = jpush.all_
    with pytest.raises(common.JPushFailure) as failure:
        push.send()
    assert (failure.value.response.status_code, failure.value.error_code, failure.value.details) == (
        400, 1011, "cannot find user by this audience or has been inactive for more than 255 days")

    stranger = jpush.JPush(APP_A[0], "wrongSecret0000000000000").create_push()
    stranger.audience = jpush.all_
    stranger.notification = jpush.notification(alert="x")
    stranger.platform = jpush.all_
    with pytest.raises(common.Unauthorized):
        stranger.send()


def test_the_client_sees_1003_for_an_empty_alias_value(jp, sdk):
    push = sdk.create_push()
    push.audience = jpush.audience(jpush.alias(""))
    push.notification = jpush.notification(alert="x")
    push.platform = jpush.all_
    with pytest.raises(common.JPushFailure) as failure:
        push.send()
    assert (failure.value.error_code, failure.value.details) == (1003, "audience.alias contains an empty value")
