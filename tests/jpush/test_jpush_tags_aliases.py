"""/v3/aliases/{alias} (GET, POST, DELETE) and /v3/tags/... (list, membership, update, delete)."""
from __future__ import annotations

import pytest

from tests.jpush.jpush_support import (APP_A, RID_ANDROID, RID_B, RID_HMOS, RID_IOS, RID_NOBODY,
                                       RID_NOT_IN_APP, assert_error, assert_illegal, assert_ok, device)


def _load_app_a(jp, *devices):
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": list(devices)}]}})


# -- GET /v3/aliases/{alias} ---------------------------------------------------------------

def test_get_alias_lists_bound_devices_of_this_app_only(jp):
    assert_ok(jp.a.get("/v3/aliases/alice"), {"registration_ids": [RID_ANDROID]})
    assert_ok(jp.b.get("/v3/aliases/alice"), {"registration_ids": [RID_B]})
    assert_ok(jp.a.get("/v3/aliases/nobody"), {"registration_ids": []})


@pytest.mark.parametrize("query,expected", [
    ("platform=android,ios", ["rid0android", "rid1ios"]),
    ("platform=android%2Cios", ["rid0android", "rid1ios"]),
    ("platform=hmos", ["rid2hmos"]),
    ("platform=all", ["rid0android", "rid1ios", "rid2hmos"]),
    ("platform=", ["rid0android", "rid1ios", "rid2hmos"]),
    ("", ["rid0android", "rid1ios", "rid2hmos"]),
])
def test_get_alias_filters_by_platform(jp, query, expected):
    _load_app_a(jp, device("rid0android", "android", alias="fam"), device("rid1ios", "ios", alias="fam"),
                device("rid2hmos", "hmos", alias="fam"))
    assert_ok(jp.a.get(f"/v3/aliases/fam?{query}"), {"registration_ids": expected})


def test_get_alias_new_format(jp):
    _load_app_a(jp, device("rid0android", "android", alias="fam", online=True),
                device("rid1ios", "ios", alias="fam", last_online_time="2026-01-02 03:04:05"),
                device("rid2hmos", "hmos", alias="fam"))
    body = jp.a.get("/v3/aliases/fam", params={"platform": "android,ios,hmos", "new_format": "true"}).json()
    today = body["data"][0]["last_online_date"]
    assert len(today) == 10 and today[4] == "-"
    assert body == {"data": [
        {"registration_id": "rid0android", "platform": "android", "last_online_date": today},
        {"registration_id": "rid1ios", "platform": "ios", "last_online_date": "2026-01-02"},
        {"registration_id": "rid2hmos", "platform": "hmos"},
    ]}


@pytest.mark.parametrize("query,message", [
    ("platform=android,web", "platform 'web' is not one of android, ios, hmos, quickapp, winphone, all"),
    ("new_format=yes", "new_format must be true or false"),
    ("platform=ios&platform=android", "parameter 'platform' given more than once"),
])
def test_get_alias_refuses_bad_parameters(jp, query, message):
    assert_illegal(jp.a.get(f"/v3/aliases/alice?{query}"), message)


# -- DELETE /v3/aliases/{alias} ------------------------------------------------------------

def test_delete_alias_unbinds_every_device_of_the_platforms(jp):
    _load_app_a(jp, device("rid0android", "android", alias="fam"), device("rid1ios", "ios", alias="fam"))
    assert_ok(jp.a.delete("/v3/aliases/fam", params={"platform": "ios"}))
    assert_ok(jp.a.get("/v3/aliases/fam"), {"registration_ids": ["rid0android"]})
    assert_ok(jp.a.delete("/v3/aliases/fam"))
    assert_ok(jp.a.get("/v3/aliases/fam"), {"registration_ids": []})
    assert jp.a.device("rid0android")["alias"] is None
    assert_ok(jp.b.get("/v3/aliases/alice"), {"registration_ids": [RID_B]})  # other app untouched


def test_delete_missing_alias_is_200(jp):
    before = jp.state()
    assert_ok(jp.a.delete("/v3/aliases/ghost", params={"platform": "android,ios,hmos"}))
    assert jp.state() == before


def test_delete_alias_bad_platform_changes_nothing(jp):
    before = jp.state()
    assert_illegal(jp.a.delete("/v3/aliases/alice?platform=symbian"),
                   "platform 'symbian' is not one of android, ios, hmos, quickapp, winphone, all")
    assert jp.state() == before


# -- POST /v3/aliases/{alias}: unbind ------------------------------------------------------

def test_unbind_devices_from_alias(jp):
    _load_app_a(jp, device("rid0android", "android", alias="fam"), device("rid1ios", "ios", alias="fam"))
    assert_ok(jp.a.post("/v3/aliases/fam", {"registration_ids": {"remove": ["rid1ios", RID_HMOS]}}))
    assert_ok(jp.a.get("/v3/aliases/fam"), {"registration_ids": ["rid0android"]})
    assert jp.a.device(RID_HMOS)["alias"] is None  # not bound to fam: untouched


@pytest.mark.parametrize("body,message", [
    ({"registration_ids": {"remove": []}}, "registration_ids.remove must list at least one registration_id"),
    ({"registration_ids": {}}, "registration_ids.remove must list at least one registration_id"),
    ({"registration_ids": ["a"]}, "registration_ids must be an object with remove"),
    ({"registration_ids": {"add": [RID_IOS]}}, "unknown field 'registration_ids.add' (allowed: remove)"),
    ({"registration_ids": {"remove": [f"r{i}" for i in range(1001)]}},
     "registration_ids.remove has 1001 items, at most 1000 are allowed"),
    ({"registration_ids": {"remove": [RID_B]}}, RID_NOT_IN_APP),
])
def test_unbind_refuses_bad_bodies_and_changes_nothing(jp, body, message):
    before = jp.state()
    assert_illegal(jp.a.post("/v3/aliases/alice", body), message)
    assert jp.state() == before


def test_unbind_with_some_foreign_ids_is_7013_and_changes_nothing(jp):
    before = jp.state()
    assert_error(jp.a.post("/v3/aliases/alice", {"registration_ids": {"remove": [RID_ANDROID, RID_NOBODY]}}),
                 400, 7013, f"Some registration_ids do not belong to this appkey: {RID_NOBODY}")
    assert jp.state() == before


# -- GET /v3/tags/ --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v3/tags/", "/v3/tags", "/v3//tags//"])
def test_tag_list_of_this_app(jp, path):
    assert_ok(jp.a.get(path), {"tags": ["news", "sport"]})
    assert_ok(jp.b.get(path), {"tags": ["news"]})


def test_tag_list_caps_each_platform_at_100(jp):
    _load_app_a(jp, device(RID_ANDROID, "android", tags=[f"a{i:03d}" for i in range(150)]),
                device(RID_IOS, "ios", tags=[f"i{i:03d}" for i in range(120)]),
                device(RID_HMOS, "hmos", tags=["a000", "zzz"]))
    tags = jp.a.get("/v3/tags/").json()["tags"]
    assert tags == sorted([f"a{i:03d}" for i in range(100)] + [f"i{i:03d}" for i in range(100)] + ["zzz"])


def test_tag_list_ignores_unknown_parameters(jp):
    assert_ok(jp.a.get("/v3/tags/?platform=ios&limit=5"), {"tags": ["news", "sport"]})


# -- GET /v3/tags/{tag}/registration_ids/{rid} -------------------------------------------

@pytest.mark.parametrize("tag,rid,result", [
    ("sport", RID_IOS, True), ("sport", RID_ANDROID, False), ("never-used", RID_IOS, False),
])
def test_device_in_tag(jp, tag, rid, result):
    assert_ok(jp.a.get(f"/v3/tags/{tag}/registration_ids/{rid}"), {"result": result})


@pytest.mark.parametrize("rid", [RID_NOBODY, RID_B])
def test_device_in_tag_unknown_rid_is_7002(jp, rid):
    assert_illegal(jp.a.get(f"/v3/tags/news/registration_ids/{rid}"), RID_NOT_IN_APP)


def test_device_in_tag_double_slash_from_the_node_client(jp):
    assert_ok(jp.a.get(f"/v3/tags//sport/registration_ids/{RID_IOS}"), {"result": True})


# -- POST /v3/tags/{tag} ----------------------------------------------------------------------

def test_update_tag_adds_and_removes_devices(jp):
    assert_ok(jp.a.post("/v3/tags/vip", {"registration_ids": {"add": [RID_ANDROID, RID_HMOS]}}))
    assert_ok(jp.a.get("/v3/tags/"), {"tags": ["news", "sport", "vip"]})
    assert_ok(jp.a.post("/v3/tags/vip", {"registration_ids": {"add": [RID_IOS], "remove": [RID_ANDROID]}}))
    assert [jp.a.get(f"/v3/tags/vip/registration_ids/{r}").json()["result"]
            for r in (RID_ANDROID, RID_IOS, RID_HMOS)] == [False, True, True]
    assert jp.a.device(RID_HMOS)["tags"] == ["vip"]


def test_update_tag_removes_before_adding(jp):
    assert_ok(jp.a.post("/v3/tags/news", {"registration_ids": {"add": [RID_IOS], "remove": [RID_IOS]}}))
    assert jp.a.device(RID_IOS)["tags"] == ["news", "sport"]


def test_update_tag_remove_from_missing_tag_is_200(jp):
    before = jp.state()
    assert_ok(jp.a.post("/v3/tags/ghost", {"registration_ids": {"remove": [RID_IOS]}}))
    assert jp.state() == before


@pytest.mark.parametrize("tag,body,message", [
    ("vip", {"registration_ids": {}}, "registration_ids.add or registration_ids.remove must list at least one registration_id"),
    ("vip", {"registration_ids": {"add": [], "remove": []}}, "registration_ids.add or registration_ids.remove must list at least one registration_id"),
    ("vip", {}, "registration_ids must be an object with add and/or remove"),
    ("vip", {"registration_ids": {"add": RID_IOS}}, "registration_ids.add must be an array of strings"),
    ("vip", {"registration_ids": {"add": [RID_IOS]}, "tag": "x"}, "unknown field 'tag' (allowed: registration_ids)"),
    ("vip", {"registration_ids": {"add": [f"r{i}" for i in range(1001)]}}, "registration_ids.add has 1001 items, at most 1000 are allowed"),
    ("vip", {"registration_ids": {"remove": [f"r{i}" for i in range(1001)]}}, "registration_ids.remove has 1001 items, at most 1000 are allowed"),
    ("vip", {"registration_ids": {"add": [RID_NOBODY], "remove": [RID_B]}}, RID_NOT_IN_APP),
    ("a-b", {"registration_ids": {"add": [RID_IOS]}}, "tag 'a-b' may only contain letters, digits, '_', Chinese characters and @!#$&*+=.|￥"),
    ("x" * 41, {"registration_ids": {"add": [RID_IOS]}}, f"tag {'x' * 41!r} is longer than 40 bytes"),
])
def test_update_tag_refuses_bad_requests_and_changes_nothing(jp, tag, body, message):
    before = jp.state()
    assert_illegal(jp.a.post(f"/v3/tags/{tag}", body), message)
    assert jp.state() == before


@pytest.mark.parametrize("body,foreign", [
    ({"registration_ids": {"add": [RID_IOS, RID_NOBODY]}}, RID_NOBODY),
    ({"registration_ids": {"add": [RID_IOS], "remove": [RID_B]}}, RID_B),
])
def test_update_tag_with_some_foreign_ids_is_7013_and_changes_nothing(jp, body, foreign):
    before = jp.state()
    assert_error(jp.a.post("/v3/tags/vip", body), 400, 7013,
                 f"Some registration_ids do not belong to this appkey: {foreign}")
    assert jp.state() == before


def test_update_tag_respects_1000_tags_per_device(jp):
    _load_app_a(jp, device(RID_HMOS, "hmos", tags=[f"t{i}" for i in range(1000)]))
    before = jp.state()
    assert_illegal(jp.a.post("/v3/tags/one_more", {"registration_ids": {"add": [RID_IOS, RID_HMOS]}}),
                   f"registration_id {RID_HMOS} would have more than 1000 tags")
    assert jp.state() == before


# -- DELETE /v3/tags/{tag} ------------------------------------------------------------------

def test_delete_tag_removes_it_everywhere(jp):
    assert_ok(jp.a.delete("/v3/tags/news"))
    assert_ok(jp.a.get("/v3/tags/"), {"tags": ["sport"]})
    assert jp.a.device(RID_ANDROID)["tags"] == []
    assert jp.a.device(RID_IOS)["tags"] == ["sport"]
    assert_ok(jp.b.get("/v3/tags/"), {"tags": ["news"]})  # other app untouched


def test_delete_tag_by_platform(jp):
    assert_ok(jp.a.delete("/v3/tags/news/", params={"platform": "android,hmos"}))
    assert jp.a.device(RID_ANDROID)["tags"] == []
    assert jp.a.device(RID_IOS)["tags"] == ["news", "sport"]


def test_delete_missing_tag_is_200_twice(jp):
    before = jp.state()
    assert_ok(jp.a.delete("/v3/tags/ghost", params={"platform": "android,ios,hmos"}))
    assert_ok(jp.a.delete("/v3/tags/ghost"))
    assert jp.state() == before


def test_delete_tag_bad_platform_changes_nothing(jp):
    before = jp.state()
    assert_illegal(jp.a.delete("/v3/tags/news?platform=web"),
                   "platform 'web' is not one of android, ios, hmos, quickapp, winphone, all")
    assert jp.state() == before
