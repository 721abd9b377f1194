"""GET/POST /v3/devices/{registration_id} and POST /v3/devices/status."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, UTC

import pytest

from tests.jpush.jpush_support import (APP_A, CONTENT_TYPE, RID_ANDROID, RID_B, RID_HMOS, RID_IOS,
                                       RID_NOBODY, RID_NOT_IN_APP, assert_error, assert_illegal,
                                       assert_ok, device)

BEIJING = timezone(timedelta(hours=8))


# -- GET /v3/devices/{rid} ---------------------------------------------------------------

def test_get_device_answers_tags_alias_mobile(jp):
    assert_ok(jp.a.get(f"/v3/devices/{RID_IOS}"), {"tags": ["news", "sport"], "alias": "bob", "mobile": None})
    assert_ok(jp.a.get(f"/v3/devices/{RID_ANDROID}"), {"tags": ["news"], "alias": "alice", "mobile": "13800138000"})
    assert_ok(jp.a.get(f"/v3/devices/{RID_HMOS}"), {"tags": [], "alias": None, "mobile": None})


@pytest.mark.parametrize("rid", [RID_NOBODY, RID_B, "status"])
def test_get_device_unknown_or_foreign_rid_is_7002(jp, rid):
    assert_illegal(jp.a.get(f"/v3/devices/{rid}"), RID_NOT_IN_APP)


def test_get_device_ignores_unknown_query_parameters(jp):
    """No source shows the real service refusing extra parameters; the Node client mangles
    query strings, so the emulator ignores parameters a route does not use."""
    assert_ok(jp.a.get(f"/v3/devices/{RID_IOS}", params={"fields": "tags"}),
              {"tags": ["news", "sport"], "alias": "bob", "mobile": None})


# -- POST /v3/devices/{rid} --------------------------------------------------------------

def test_update_device_sets_tags_alias_mobile(jp):
    resp = jp.a.post(f"/v3/devices/{RID_HMOS}",
                     {"tags": {"add": ["t1", "标签", "a@b.c"]}, "alias": "carol", "mobile": "+86-13012345678"})
    assert_ok(resp)
    assert jp.a.device(RID_HMOS) == {"tags": ["a@b.c", "t1", "标签"], "alias": "carol", "mobile": "+86-13012345678"}
    assert_ok(jp.a.get("/v3/aliases/carol"), {"registration_ids": [RID_HMOS]})


def test_update_device_removes_before_adding(jp):
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"tags": {"add": ["news", "tv"], "remove": ["news", "sport"]}}))
    assert jp.a.device(RID_IOS)["tags"] == ["news", "tv"]


def test_update_device_empty_string_clears_tags(jp):
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"tags": ""}))
    assert jp.a.device(RID_IOS)["tags"] == []
    assert_ok(jp.a.get("/v3/tags/"), {"tags": ["news"]})


@pytest.mark.parametrize("body", [{}, {"tags": {}}, {"tags": {"remove": ["missing"]}},
                                  {"tags": None, "alias": None, "mobile": None}])
def test_update_device_without_changes_is_200_and_changes_nothing(jp, body):
    before = jp.state()
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", body))
    assert jp.state() == before


def test_alias_delete_shows_null_by_default_and_empty_string_with_option(jp):
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"alias": ""}))
    assert jp.a.device(RID_IOS)["alias"] is None
    assert_ok(jp.a.get("/v3/aliases/bob"), {"registration_ids": []})
    jp.emu.set_options({"jpush": {"deleted_alias": "empty"}})
    assert jp.a.device(RID_IOS)["alias"] == ""
    assert jp.a.device(RID_HMOS)["alias"] is None  # never set: still null


def test_mobile_format_option_number_for_the_ruby_client(jp):
    jp.emu.set_options({"jpush": {"mobile_format": "number"}})
    assert jp.a.device(RID_ANDROID)["mobile"] == 13800138000
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"mobile": "+86-1300"}))
    assert jp.a.device(RID_IOS)["mobile"] == "+86-1300"  # not a plain number: stays a string
    assert jp.a.device(RID_HMOS)["mobile"] is None


def test_mobile_number_drops_leading_zeros_and_keeps_every_digit(jp):
    """SQLite writes the answer; it must be what Python's int() and orjson wrote before."""
    jp.emu.set_options({"jpush": {"mobile_format": "number"}})
    for mobile, shown in [("0013800138000", b"13800138000"), ("000", b"0"), ("0", b"0"),
                          ("98765432109876543210", b"98765432109876543210")]:
        assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"mobile": mobile}))
        assert jp.a.get(f"/v3/devices/{RID_IOS}").content == \
            b'{"tags":["news","sport"],"alias":"bob","mobile":' + shown + b"}"


def test_get_device_bytes_are_orjson_s_for_any_characters(jp):
    """Escapes, key order and non-ASCII text of the SQLite-built answer, byte for byte against
    orjson (what every other answer is written with)."""
    import orjson

    jp.emu.set_options({"jpush": {"tag_alias_chars": "any"}})
    tags = sorted(["q\"uote", "back\\slash", "tab\t", "nl\n", "ctl\x01\x1f", "del\x7f", "标签", "emoji😀"])
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": tags}, "alias": "a\"l\u2028", "mobile": "+1"}))
    resp = jp.a.get(f"/v3/devices/{RID_HMOS}")
    assert resp.content == orjson.dumps({"tags": tags, "alias": "a\"l\u2028", "mobile": "+1"})
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"alias": ""}))
    assert jp.a.get(f"/v3/devices/{RID_HMOS}").content == orjson.dumps({"tags": tags, "alias": None, "mobile": "+1"})


def test_mobile_empty_string_clears(jp):
    assert_ok(jp.a.post(f"/v3/devices/{RID_ANDROID}", {"mobile": ""}))
    assert jp.a.device(RID_ANDROID)["mobile"] is None


def test_success_body_option_empty_sends_no_body_but_json_content_type(jp):
    jp.emu.set_options({"jpush": {"success_body": "empty"}})
    resp = jp.a.post(f"/v3/devices/{RID_IOS}", {"mobile": "123"})
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    assert jp.a.device(RID_IOS)["mobile"] == "123"


TAG_40_BYTES = "x" * 40
BAD_UPDATES = [
    ({"tags": "t1"}, 'tags must be "" (clear all) or an object with add and/or remove'),
    ({"tags": 5}, 'tags must be "" (clear all) or an object with add and/or remove'),
    ({"tags": ["a"]}, 'tags must be "" (clear all) or an object with add and/or remove'),
    ({"tags": {"add": "a"}}, "tags.add must be an array of strings"),
    ({"tags": {"add": [1]}}, "tags.add must be an array of strings"),
    ({"tags": {"remove": [None]}}, "tags.remove must be an array of strings"),
    ({"tags": {"set": ["a"]}}, "unknown field 'tags.set' (allowed: add, remove)"),
    ({"tags": {"add": [f"t{i}" for i in range(101)]}}, "tags.add has 101 items, at most 100 are allowed"),
    ({"tags": {"remove": [f"t{i}" for i in range(101)]}}, "tags.remove has 101 items, at most 100 are allowed"),
    ({"tags": {"add": [f"{i:02d}" + TAG_40_BYTES[2:] for i in range(26)]}},
     "tags.add: the tags total more than 1000 bytes"),
    ({"tags": {"add": ["x" * 41]}}, f"tag {'x' * 41!r} is longer than 40 bytes"),
    ({"tags": {"add": ["标" * 14]}}, f"tag {'标' * 14!r} is longer than 40 bytes"),
    ({"tags": {"add": ["a-b"]}}, "tag 'a-b' may only contain letters, digits, '_', Chinese characters and @!#$&*+=.|￥"),
    ({"tags": {"add": [""]}}, "tag must not be empty"),
    ({"alias": 5}, "alias must be a string"),
    ({"alias": {"add": ["a"]}}, "alias must be a string"),
    ({"alias": "has space"}, "alias 'has space' may only contain letters, digits, '_', Chinese characters and @!#$&*+=.|￥"),
    ({"alias": "y" * 41}, f"alias {'y' * 41!r} is longer than 40 bytes"),
    ({"mobile": 13800138000}, "mobile must be a string"),
    ({"mobile": "abc"}, "mobile 'abc' must start with '+' or a digit, then digits and '-' only, at most 20 characters"),
    ({"mobile": "1" * 21}, f"mobile {'1' * 21!r} must start with '+' or a digit, then digits and '-' only, at most 20 characters"),
    ({"tag": {"add": ["a"]}}, "unknown field 'tag' (allowed: tags, alias, mobile)"),
]


@pytest.mark.parametrize("body,message", BAD_UPDATES)
def test_update_device_refuses_bad_fields_and_changes_nothing(jp, body, message):
    before = jp.state()
    assert_illegal(jp.a.post(f"/v3/devices/{RID_IOS}", body), message)
    assert jp.state() == before


@pytest.mark.parametrize("rid", [RID_NOBODY, RID_B])
def test_update_device_unknown_or_foreign_rid_is_7002(jp, rid):
    before = jp.state()
    assert_illegal(jp.a.post(f"/v3/devices/{rid}", {"alias": "x"}), RID_NOT_IN_APP)
    assert jp.state() == before


def test_tag_batch_limits_accept_the_maximum(jp):
    tags = [f"{i:03d}" + "z" * 7 for i in range(100)]  # 100 tags, exactly 1000 bytes
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": tags}}))
    assert len(jp.a.device(RID_HMOS)["tags"]) == 100
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": ["标" * 13]}}))  # 39 bytes


def test_a_device_holds_at_most_1000_tags_and_a_refusal_adds_none(jp):
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
        device(RID_HMOS, "hmos", tags=[f"old{i}" for i in range(950)])]}]}})
    before = jp.state()
    over = {"tags": {"add": [f"new{i}" for i in range(51)]}}
    assert_illegal(jp.a.post(f"/v3/devices/{RID_HMOS}", over), f"registration_id {RID_HMOS} would have more than 1000 tags")
    assert jp.state() == before
    # removing makes room inside the same call (removes apply first)
    swap = {"tags": {"add": [f"new{i}" for i in range(51)], "remove": ["old0"]}}
    assert_ok(jp.a.post(f"/v3/devices/{RID_HMOS}", swap))
    assert len(jp.a.device(RID_HMOS)["tags"]) == 1000


def test_an_alias_binds_at_most_10_devices_7015(jp):
    crowd = [device(f"c{i:010d}", "android", alias="crowd") for i in range(10)]
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1],
                                     "devices": crowd}]}})
    before = jp.state()
    assert_error(jp.a.post(f"/v3/devices/{RID_HMOS}", {"alias": "crowd", "tags": {"add": ["x"]}}), 400, 7015,
                 "The alias has been bound to 10 devices, no more devices can be bound")
    assert jp.state() == before
    # a merge can bind more than 10 (fixtures are the author's call); the query still lists 10
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1],
                                     "devices": [device(RID_HMOS, "hmos", alias="crowd")]}]}})
    assert len(jp.a.get("/v3/aliases/crowd").json()["registration_ids"]) == 10
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1],
                                     "devices": [device(RID_HMOS, "hmos", alias=None)]}]}})
    # re-binding a device already bound does not count it twice
    assert_ok(jp.a.post("/v3/devices/c0000000003", {"alias": "crowd"}))
    assert len(jp.a.get("/v3/aliases/crowd").json()["registration_ids"]) == 10


# -- POST /v3/devices/status ---------------------------------------------------------------

def _beijing(dt: datetime) -> str:
    return dt.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("path", ["/v3/devices/status", "/v3/devices/status/"])
def test_status_reports_online_and_recent_last_online_time(jp, path):
    recent = _beijing(datetime.now(UTC) - timedelta(hours=3))
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
        device(RID_HMOS, "hmos", online=False, last_online_time=recent)]}]}})
    resp = jp.a.post(path, {"registration_ids": [RID_ANDROID, RID_HMOS, RID_IOS, RID_NOBODY, RID_B]})
    assert_ok(resp, {
        RID_ANDROID: {"online": True},
        RID_HMOS: {"online": False, "last_online_time": recent},
        RID_IOS: {"online": False},  # last online 2026-01-01: more than two days ago
        RID_NOBODY: None,
        RID_B: None,  # another app's device
    })
    # two days later the time is no longer shown
    jp.emu.advance_clock(2 * 24 * 3600 + 60)
    assert_ok(jp.a.post(path, {"registration_ids": [RID_HMOS]}), {RID_HMOS: {"online": False}})


@pytest.mark.parametrize("body,message", [
    ({}, "registration_ids must be an array of strings"),
    ({"registration_ids": []}, "registration_ids must list at least one registration_id"),
    ({"registration_ids": RID_IOS}, "registration_ids must be an array of strings"),
    ({"registration_ids": [1]}, "registration_ids must be an array of strings"),
    ({"registration_ids": [f"r{i}" for i in range(1001)]}, "registration_ids has 1001 items, at most 1000 are allowed"),
    ({"registration_ids": [RID_IOS], "extra": 1}, "unknown field 'extra' (allowed: registration_ids)"),
])
def test_status_refuses_bad_bodies(jp, body, message):
    assert_illegal(jp.a.post("/v3/devices/status", body), message)


def test_status_accepts_1000_ids(jp):
    rids = [RID_IOS] + [f"r{i}" for i in range(999)]
    payload = jp.a.post("/v3/devices/status", {"registration_ids": rids}).json()
    assert len(payload) == 1000 and payload[RID_IOS] == {"online": False}
