"""Tag and alias rules as Jiguang documents them, and the shapes JPush's own Python client can
build: the fullwidth yen sign, the 40-byte limit, '-' outside the documented set (and the
``tag_alias_chars`` switch), 7015 for an 11th device on an alias, 7013 for partly foreign id lists."""
from __future__ import annotations

import jpush
import pytest
from jpush import common

from tests.jpush.jpush_support import APP_A, RID_ANDROID, RID_HMOS, RID_IOS, assert_illegal, assert_ok, device

YEN = "\uffe5"
CHARS = f"letters, digits, '_', Chinese characters and @!#$&*+=.|{YEN}"


def test_the_fullwidth_yen_sign_is_a_tag_and_alias_character(jp):
    """The Push API v3 doc's audience table lists ￥ with @!#$&*+=.| (jpush-docs rest_api_v3_push.md)."""
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": [f"vip{YEN}"]}, "alias": f"a{YEN}1"}))
    assert_ok(jp.a.post(f"/v3/tags/{YEN}gold", {"registration_ids": {"add": [RID_HMOS]}}))
    assert_ok(jp.a.get(f"/v3/devices/{RID_HMOS}"),
              {"tags": sorted([f"vip{YEN}", f"{YEN}gold"]), "alias": f"a{YEN}1", "mobile": None})
    assert_ok(jp.a.get(f"/v3/aliases/a{YEN}1"), {"registration_ids": [RID_HMOS]})


def test_every_documented_special_character_is_accepted(jp):
    tag = "A_z9@!#$&*+=.|" + YEN + "标签"
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": [tag]}, "alias": tag}))
    assert jp.a.device(RID_HMOS) == {"tags": [tag], "alias": tag, "mobile": None}


def test_forty_bytes_is_the_limit_counted_in_utf8(jp):
    thirteen = "标" * 13 + "x"          # 40 bytes
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"alias": thirteen}))
    before = jp.state()
    assert_illegal(jp.a.post(f"/v3/devices/{RID_HMOS}", {"alias": thirteen + "y"}),
                   f"alias {thirteen + 'y'!r} is longer than 40 bytes")
    assert jp.state() == before


@pytest.mark.parametrize("value", ["a-b", "a b", "a/b", "a,b", "a:b", "a%b"])
def test_characters_outside_the_documented_set_are_refused_by_default(jp, value):
    before = jp.state()
    assert_illegal(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": [value]}}),
                   f"tag {value!r} may only contain {CHARS}")
    assert_illegal(jp.a.post(f"/v3/devices/{RID_HMOS}", {"alias": value}),
                   f"alias {value!r} may only contain {CHARS}")
    assert jp.state() == before


def test_tag_alias_chars_any_accepts_a_hyphen_but_keeps_the_byte_limit(jp):
    jp.emu.set_options({"jpush": {"tag_alias_chars": "any"}})
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": ["beta-users"]}, "alias": "user-1"}))
    assert_ok(jp.a.post("/v3/tags/team-a", {"registration_ids": {"add": [RID_HMOS]}}))
    assert jp.a.device(RID_HMOS) == {"tags": ["beta-users", "team-a"], "alias": "user-1", "mobile": None}
    before = jp.state()
    assert_illegal(jp.a.post(f"/v3/devices/{RID_HMOS}", {"alias": "-" * 41}), f"alias {'-' * 41!r} is longer than 40 bytes")
    assert_illegal(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": [""]}}), "tag must not be empty")
    assert jp.state() == before


# -- what the Python client's builders send ------------------------------------------------

@pytest.fixture
def sdk(jp, monkeypatch):
    zone = dict(common.ZONES["DEFAULT"])
    zone.update(DEVICE=f"{jp.emu.url}/v3/devices/", ALIAS=f"{jp.emu.url}/v3/aliases/",
                TAG=f"{jp.emu.url}/v3/tags/")
    monkeypatch.setitem(common.ZONES, "DEFAULT", zone)
    return jpush.JPush(*APP_A).create_device()


@pytest.mark.parametrize("entity,message", [
    # device_tag("x") builds {"tags": "x"}: the Device API doc allows only "" or {add, remove}
    (jpush.device_tag("x"), 'tags must be "" (clear all) or an object with add and/or remove'),
    # device_alias(add(...)) builds {"alias": {"add": [...]}}: the doc's alias is a string
    (jpush.device_alias(jpush.add("a1")), "alias must be a string"),
])
def test_python_builder_shapes_outside_the_doc_are_7002(jp, sdk, entity, message):
    before = jp.state()
    with pytest.raises(common.JPushFailure) as failure:
        sdk.set_deviceinfo(RID_IOS, entity)
    assert (failure.value.response.status_code, failure.value.error_code, failure.value.details) == (400, 7002, message)
    assert jp.state() == before


def test_python_builder_shapes_the_doc_allows(jp, sdk):
    assert sdk.set_deviceinfo(RID_IOS, jpush.device_tag("")).payload == {}
    assert sdk.set_deviceinfo(RID_IOS, jpush.device_alias("")).payload == {}
    assert jp.a.device(RID_IOS) == {"tags": [], "alias": None, "mobile": None}


def test_python_client_sees_7015_for_an_eleventh_device_on_an_alias(jp, sdk):
    """Jiguang's notice of 2020-03 (community.jiguang.cn/notice/197): an alias binds at most 10
    devices, a further binding fails with 7015; existing bindings stay."""
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1],
                                     "devices": [device(f"c{i:010d}", "android", alias="crowd") for i in range(10)]}]}})
    before = jp.state()
    with pytest.raises(common.JPushFailure) as failure:
        sdk.set_deviceinfo(RID_ANDROID, jpush.device_alias("crowd"))
    assert (failure.value.response.status_code, failure.value.error_code) == (400, 7015)
    assert jp.state() == before
    # unbinding one makes room
    assert sdk.set_deviceinfo("c0000000000", jpush.device_alias("")).status_code == 200
    assert sdk.set_deviceinfo(RID_ANDROID, jpush.device_alias("crowd")).status_code == 200
    assert len(sdk.get_aliasuser("crowd").payload["registration_ids"]) == 10
