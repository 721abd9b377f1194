"""Push API v3 (``https://api.jpush.cn/v3/push``, ``/v3/push/validate``, ``/v3/push/cid``):
answers, audience resolution (tag / tag_and / tag_not / alias / registration_id / their
intersection, filtered by platform), the recorded push and its deliveries, and the error codes
of Jiguang's push doc and the Java client's remote tests."""
from __future__ import annotations

import pytest

from tests.jpush.jpush_support import (APP_A, APP_B, CONTENT_TYPE, RID_ANDROID, RID_B, RID_HMOS, RID_IOS,
                                       Client)

ALERT = {"alert": "hello"}
AUTH_FAILED = {"error": {"code": 1004, "message": "Authen failed"}}
NO_AUDIENCE = "cannot find user by this audience or has been inactive for more than 255 days"


def push_body(audience, platform="all", **extra):
    return {"platform": platform, "audience": audience, "notification": ALERT, **extra}


def sent(resp, sendno="0") -> str:
    """A push answer: 200, exactly {sendno, msg_id} as strings, msg_id all digits."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    body = resp.json()
    assert set(body) == {"sendno", "msg_id"} and body["sendno"] == sendno, body
    assert body["msg_id"].isdigit(), body
    return body["msg_id"]


def refused(resp, status, code, message=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    if message is not None:
        assert body["error"]["message"] == message, body


def reached(jp, msg_id) -> dict[str, dict]:
    """rid -> its ledger row for that push."""
    rows = jp.emu.deliveries(vendor="jpush", publish_id=msg_id, limit=1000)
    return {r["device_id"]: r for r in rows}


def pushes(jp) -> list[dict]:
    return next(a for a in jp.state()["apps"] if a["app_key"] == APP_A[0]).get("pushes", [])


# -- audiences ----------------------------------------------------------------------------

@pytest.mark.parametrize("audience,platform,expected", [
    ("all", "all", {RID_ANDROID: {"audience": "all"}, RID_IOS: {"audience": "all"}, RID_HMOS: {"audience": "all"}}),
    ("all", ["ios", "hmos"], {RID_IOS: {"audience": "all"}, RID_HMOS: {"audience": "all"}}),
    ({"tag": ["sport", "nothing"]}, "all", {RID_IOS: {"tag": "sport"}}),
    ({"tag": ["news", "sport"]}, "all", {RID_ANDROID: {"tag": "news"}, RID_IOS: {"tag": "news"}}),
    ({"tag": ["news"]}, ["android"], {RID_ANDROID: {"tag": "news"}}),
    ({"tag_and": ["news", "sport"]}, "all", {RID_IOS: {"tag_and": ["news", "sport"]}}),
    ({"tag_not": ["news"]}, "all", {RID_HMOS: {"tag_not": ["news"]}}),
    ({"alias": ["alice", "bob"]}, "all", {RID_ANDROID: {"alias": "alice"}, RID_IOS: {"alias": "bob"}}),
    ({"registration_id": [RID_HMOS, RID_B]}, "all", {RID_HMOS: {"registration_id": RID_HMOS}}),
    ({"tag": ["news"], "tag_not": ["sport"]}, "all", {RID_ANDROID: {"tag": "news"}}),
    ({"tag": ["news"], "alias": ["bob"]}, "all", {RID_IOS: {"alias": "bob"}}),
    ({"alias": ["alice", "bob"], "registration_id": [RID_IOS, RID_HMOS]}, "all", {RID_IOS: {"registration_id": RID_IOS}}),
    ({"tag": [], "alias": ["alice"]}, "all", {RID_ANDROID: {"alias": "alice"}}),   # [] = key absent (doc)
])
def test_audience_selects_devices_and_records_one_delivery_each(jp, audience, platform, expected):
    msg_id = sent(jp.a.post("/v3/push", push_body(audience, platform)))
    rows = reached(jp, msg_id)
    assert {rid: r["matched_by"] for rid, r in rows.items()} == expected
    for row in rows.values():
        assert (row["tenant"], row["status"], row["reason"], row["payload"]) == \
            (APP_A[0], "delivered", "matched the audience", {"notification": ALERT})
    assert [p["msg_id"] for p in pushes(jp)] == [msg_id]


@pytest.mark.parametrize("audience,platform", [
    ({"tag": ["nothing"]}, "all"),
    ({"tag_and": ["news", "nothing"]}, "all"),        # Java AudienceTest.sendByTagAndMore_fail
    ({"tag": ["sport"], "tag_not": ["news"]}, "all"),
    ({"alias": ["alice"]}, ["ios"]),
    ({"registration_id": [RID_B]}, "all"),           # another app's device
    ({"segment": ["seg1"]}, "all"),
])
def test_no_matching_device_is_1011_with_a_msg_id_and_records_nothing(jp, audience, platform):
    before = jp.state()
    resp = jp.a.post("/v3/push", push_body(audience, platform))
    assert resp.status_code == 400 and resp.headers["Content-Type"] == CONTENT_TYPE
    body = resp.json()
    assert set(body) == {"msg_id", "error"} and body["msg_id"].isdigit()
    assert body["error"] == {"code": 1011, "message": NO_AUDIENCE}
    assert jp.state() == before
    assert jp.emu.deliveries(vendor="jpush") == []


def test_each_platform_gets_its_own_section_with_the_shared_alert(jp):
    notification = {"alert": "all of you", "android": {"title": "T", "extras": {"k": 1}},
                    "ios": {"alert": "ios only", "badge": "+1", "sound": "default"}}
    message = {"msg_content": "data", "extras": {"x": "y"}}
    msg_id = sent(jp.a.post("/v3/push", {"platform": "all", "audience": "all", "notification": notification,
                                         "message": message}))
    rows = reached(jp, msg_id)
    assert rows[RID_ANDROID]["payload"] == {"notification": {"alert": "all of you", "title": "T", "extras": {"k": 1}},
                                            "message": message}
    assert rows[RID_IOS]["payload"] == {"notification": notification["ios"], "message": message}
    assert rows[RID_HMOS]["payload"] == {"notification": {"alert": "all of you"}, "message": message}
    assert {r["platform"] for r in rows.values()} == {"android", "ios", "hmos"}


def test_a_platform_the_push_has_nothing_for_gets_no_delivery_and_explain_says_why(jp):
    msg_id = sent(jp.a.post("/v3/push", {"platform": "all", "audience": "all",
                                         "notification": {"android": {"alert": "droid"}}}))
    assert set(reached(jp, msg_id)) == {RID_ANDROID}
    assert jp.emu.explain(msg_id, RID_IOS, vendor="jpush") == {
        "delivered": False, "reason": "the push has no notification for ios and no message", "delivery": None}


def test_message_only_push_reaches_every_platform(jp):
    msg_id = sent(jp.a.post("/v3/push", {"platform": "all", "audience": {"tag": ["news"]},
                                         "message": {"msg_content": "m"}}))
    assert {rid: r["payload"] for rid, r in reached(jp, msg_id).items()} == {
        RID_ANDROID: {"message": {"msg_content": "m"}}, RID_IOS: {"message": {"msg_content": "m"}}}


# -- explain and invalidated tokens ---------------------------------------------------------

@pytest.mark.parametrize("audience,platform,rid,reason", [
    ({"tag": ["vip", "beta"]}, "all", RID_IOS, "has none of the tags vip, beta"),
    ("all", ["android"], RID_IOS, "platform ios not targeted (the push targets android)"),
    ({"alias": ["alice"]}, "all", RID_IOS, "alias bob is not one of alice"),
    ({"alias": ["alice"]}, "all", RID_HMOS, "has no alias (the push targets aliases alice)"),
    ({"tag_and": ["news", "sport"]}, "all", RID_ANDROID, "lacks the tags sport (tag_and news, sport)"),
    ({"tag_not": ["sport"]}, "all", RID_IOS, "has the excluded tags sport (tag_not)"),
    ({"registration_id": [RID_ANDROID]}, "all", RID_IOS, "registration_id not in the push's registration_id list"),
])
def test_explain_says_why_a_device_was_missed(jp, audience, platform, rid, reason):
    if audience != "all" and "registration_id" not in audience and "tag" in audience:
        jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": ["vip"]}})
    msg_id = sent(jp.a.post("/v3/push", push_body(audience, platform)))
    assert jp.emu.explain(msg_id, rid, vendor="jpush") == {"delivered": False, "reason": reason, "delivery": None}


def test_explain_notices_a_device_that_matches_only_since_the_push(jp):
    msg_id = sent(jp.a.post("/v3/push", push_body({"tag": ["news"]})))
    jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": ["news"]}})
    assert jp.emu.explain(msg_id, RID_HMOS, vendor="jpush")["reason"] == (
        "matches the audience now but did not when the push was sent (its platform, tags or alias changed since)")


def test_explain_of_a_delivered_device_shows_the_row(jp):
    msg_id = sent(jp.a.post("/v3/push", push_body({"alias": ["bob"]})))
    answer = jp.emu.explain(msg_id, RID_IOS, vendor="jpush")
    assert answer["delivered"] is True and answer["reason"] == "matched the audience"
    assert answer["delivery"]["matched_by"] == {"alias": "bob"}


def test_an_invalidated_token_makes_later_deliveries_fail(jp):
    assert jp.emu.invalidate_token("jpush", APP_A[0], RID_IOS, "Unregistered")["device_id"] == RID_IOS
    msg_id = sent(jp.a.post("/v3/push", push_body({"tag": ["news"]})))
    rows = reached(jp, msg_id)
    assert (rows[RID_IOS]["status"], rows[RID_IOS]["reason"]) == ("failed", "token invalidated: Unregistered")
    assert rows[RID_ANDROID]["status"] == "delivered"
    # the Device API still shows the device (JPush has no device removal)
    assert jp.a.device(RID_IOS)["tags"] == ["news", "sport"]


def test_invalidating_an_unknown_or_foreign_device_is_404(jp):
    from emulator.pytest_plugin import EmulatorError
    for tenant, rid in ((APP_A[0], RID_B), (APP_B[0], RID_IOS), (APP_A[0], "nobody")):
        with pytest.raises(EmulatorError) as failure:
            jp.emu.invalidate_token("jpush", tenant, rid)
        assert failure.value.status == 404


# -- validate, cid, sendno, override --------------------------------------------------------

def test_validate_answers_like_a_push_but_sends_and_records_nothing(jp):
    before = jp.state()
    resp = jp.a.post("/v3/push/validate", push_body("all", options={"sendno": 12}))
    assert resp.status_code == 200 and resp.json() == {"sendno": "12", "msg_id": "0"}
    assert jp.state() == before and jp.emu.deliveries(vendor="jpush") == []


def test_validate_finds_the_same_errors_as_a_push(jp):
    resp = jp.a.post("/v3/push/validate", push_body({"tag": ["nothing"]}))
    assert resp.status_code == 400 and resp.json() == {"error": {"code": 1011, "message": NO_AUDIENCE}}
    refused(jp.a.post("/v3/push/validate", {"platform": "all", "audience": "all"}), 400, 1002)


@pytest.mark.parametrize("path", ["/v3/push/", "/v3//push", "/v3//push/validate", "/v3/push/validate/"])
def test_client_path_variants_are_served(jp, path):
    """Ruby posts to /v3/push/, PHP validates at /v3//push/validate."""
    assert jp.a.post(path, push_body("all")).status_code == 200


def test_sendno_is_echoed_as_a_string(jp):
    msg_id = sent(jp.a.post("/v3/push", push_body("all", options={"sendno": 18, "apns_production": False})),
                  sendno="18")
    assert pushes(jp)[0]["sendno"] == "18" and pushes(jp)[0]["msg_id"] == msg_id


def test_msg_ids_grow(jp):
    first = int(sent(jp.a.post("/v3/push", push_body("all"))))
    second = int(sent(jp.a.post("/v3/push", push_body("all"))))
    assert second == first + 1


def test_cid_list_and_a_repeated_cid_answers_the_first_push(jp):
    resp = jp.a.get("/v3/push/cid", params={"count": 3, "type": "push"})
    assert resp.status_code == 200
    cids = resp.json()["cidlist"]
    assert set(resp.json()) == {"cidlist"} and len(set(cids)) == 3
    assert all(c.startswith(APP_A[0] + "-") and len(c) == len(APP_A[0]) + 37 for c in cids)
    assert len(jp.a.get("/v3/push/cid").json()["cidlist"]) == 1
    first = sent(jp.a.post("/v3/push", push_body("all", cid=cids[0])))
    again = sent(jp.a.post("/v3/push", push_body({"tag": ["news"]}, cid=cids[0])))
    assert again == first and len(pushes(jp)) == 1
    assert len(jp.emu.deliveries(vendor="jpush", publish_id=first)) == 3


@pytest.mark.parametrize("query", ["count=0", "count=1001", "count=x", "type=other"])
def test_cid_refuses_bad_parameters(jp, query):
    refused(jp.a.get(f"/v3/push/cid?{query}"), 400, 1003)


def test_a_cid_of_another_app_is_1003(jp):
    cid = jp.b.get("/v3/push/cid").json()["cidlist"][0]
    before = jp.state()
    refused(jp.a.post("/v3/push", push_body("all", cid=cid)), 400, 1003, f"cid {cid!r} is not a cid of this appkey")
    assert jp.state() == before


def test_override_msg_id_must_name_a_push_of_the_last_day(jp):
    msg_id = sent(jp.a.post("/v3/push", push_body("all")))
    sent(jp.a.post("/v3/push", push_body("all", options={"override_msg_id": int(msg_id)})))
    before = jp.state()
    refused(jp.a.post("/v3/push", push_body("all", options={"override_msg_id": 5})), 400, 1003)
    refused(jp.b.post("/v3/push", push_body("all", options={"override_msg_id": int(msg_id)})), 400, 1003)
    jp.emu.advance_clock(24 * 3600 + 1)
    refused(jp.a.post("/v3/push", push_body("all", options={"override_msg_id": int(msg_id)})), 400, 1003)
    assert jp.state() == before


# -- refusals -------------------------------------------------------------------------------

BAD_PUSHES = [
    # 1002: something required is missing (Java ExceptionTest: missing platform/audience/content)
    ({"audience": "all", "notification": ALERT}, 1002, "Missing parameter: platform"),
    ({"platform": "all", "notification": ALERT}, 1002, "Missing parameter: audience"),
    ({"platform": None, "audience": None, "notification": ALERT}, 1002, "Missing parameter: platform"),
    ({"platform": "all", "audience": "all"}, 1002, "Missing parameter: notification or message"),
    ({"platform": "all", "audience": "all", "message": {"title": "t"}}, 1002, "Missing parameter: message.msg_content"),
    ({"platform": "all", "audience": "all", "notification": {"hmos": {}}}, 1002, "Missing parameter: notification.hmos.alert"),
    ({"platform": "all", "audience": {"tag": []}, "notification": ALERT}, 1002,
     "audience must name at least one non-empty target"),
    # 1003: a value is wrong
    ({"platform": "all_platform", "audience": "all", "notification": ALERT}, 1003, None),
    ({"platform": ["android", "web"], "audience": "all", "notification": ALERT}, 1003, None),
    ({"platform": [], "audience": "all", "notification": ALERT}, 1003, None),
    ({"platform": "all", "audience": "all_audience", "notification": ALERT}, 1003, 'audience must be "all" or an object'),
    ({"platform": "all", "audience": {"tags": ["a"]}, "notification": ALERT}, 1003, None),
    ({"platform": "all", "audience": {"tag": "news"}, "notification": ALERT}, 1003, "Audience value must be JSON Array format!"),
    ({"platform": "all", "audience": {"alias": ["a", ""]}, "notification": ALERT}, 1003, "audience.alias contains an empty value"),
    ({"platform": "all", "audience": {"tag": [f"t{i}" for i in range(21)]}, "notification": ALERT}, 1003,
     "audience.tag has 21 values, at most 20 are allowed"),
    ({"platform": "all", "audience": {"registration_id": [f"r{i}" for i in range(1001)]}, "notification": ALERT},
     1003, "audience.registration_id has 1001 values, at most 1000 are allowed"),
    ({"platform": "all", "audience": {"tag": ["a-b"]}, "notification": ALERT}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": "string"}, 1003, "notification must be an object"),
    ({"platform": "all", "audience": "all", "notification": {}}, 1003, "notification must have an alert or a platform section"),
    ({"platform": "all", "audience": "all", "notification": {"android": "string"}}, 1003,
     "notification.android must be an object"),
    ({"platform": "all", "audience": "all", "notification": {"android": {"alert": "a", "builder_id": "x"}}}, 1003,
     "notification.android.builder_id must be an integer"),
    ({"platform": "all", "audience": "all", "notification": {"android": {}}}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": {"android": {"title": "only"}}}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": {"ios": {"badge": 1}}}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": {"hmos": {"title": "t"}}}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": {"ios": {"alert": "a", "badge": "x"}}}, 1003, None),
    ({"platform": "all", "audience": "all", "message": {"msg_content": 5}}, 1003, "message.msg_content must be a string"),
    ({"platform": "all", "audience": "all", "notification": ALERT, "options": {"time_to_live": 864001}}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": ALERT, "options": {"sendno": "12"}}, 1003, None),
    ({"platform": "all", "audience": "all", "notification": ALERT, "options": []}, 1003, "options must be an object"),
    # 1009: keys the push object does not support
    ({"platform": "all", "audience": "all", "notification": ALERT, "extra": 1}, 1009,
     "extra is not supported in the push object"),
    ({"platform": "all", "audience": "all", "notification": {"alert": "a", "web": {}}}, 1009,
     "notification.web is not supported"),
    # 1005: too big
    ({"platform": "all", "audience": "all", "message": {"msg_content": "x" * 4000}}, 1005, None),
    ({"platform": "all", "audience": "all", "notification": {"ios": {"alert": "x" * 2000}}}, 1005, None),
]


@pytest.mark.parametrize("body,code,message", BAD_PUSHES)
def test_bad_pushes_are_refused_with_the_documented_code_and_change_nothing(jp, body, code, message):
    before = jp.state()
    refused(jp.a.post("/v3/push", body), 400, code, message)
    assert jp.state() == before and jp.emu.deliveries(vendor="jpush") == []


@pytest.mark.parametrize("data,code", [(b"", 1002), (b"{not json", 1002), (b"[1]", 1003), (b"\xff", 1002)])
def test_unreadable_bodies(jp, data, code):
    refused(jp.a.post("/v3/push", data=data, headers={"Content-Type": "application/json"}), 400, code)


def test_an_android_section_may_inherit_the_notification_alert(jp):
    """The doc's broadcast example pairs "android": {} with a notification-level alert."""
    sent(jp.a.post("/v3/push", {"platform": "all", "audience": "all",
                                "notification": {"alert": "Hi", "android": {}, "ios": {"extras": {"a": 1}}}}))


def test_newer_section_fields_the_clients_send_are_accepted(jp):
    """The Ruby client's tests send fields the 2019 doc does not list."""
    notification = {"android": {"alert": "a", "channel_id": "c", "badge_set_num": 1, "display_foreground": "1",
                                "small_icon_uri": "x", "intent": {"url": "intent:#Intent;end"}},
                    "ios": {"alert": "a", "interruption_level": "active", "thread-id": "t"},
                    "hmos": {"alert": "a", "category": "IM", "test_message": True, "push_type": 0}}
    sent(jp.a.post("/v3/push", {"platform": ["android", "ios", "hmos"], "audience": "all",
                                "notification": notification,
                                "sms_message": {"delay_time": 0, "temp_id": 1}}))


# -- auth, methods -------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, ("unknownAppKey00000000000", APP_A[1]), (APP_A[0], APP_B[1]),
                                  (APP_A[0], "")])
def test_push_auth_failures_are_1004(jp, auth):
    before = jp.state()
    resp = Client(jp.emu.url, auth).post("/v3/push", push_body("all"))
    assert resp.status_code == 401 and resp.json() == AUTH_FAILED
    assert jp.state() == before


def test_push_routes_other_methods_are_1001(jp):
    for path in ("/v3/push", "/v3/push/validate"):
        refused(jp.a.get(path), 405, 1001, "Only HTTP POST is supported")


def test_open_auth_creates_the_app_on_a_push(jp):
    jp.emu.set_options({"auth": "open"})
    new = Client(jp.emu.url, ("brandNewAppKey0000000009", "brandNewMasterSecret0009"))
    resp = new.post("/v3/push", push_body("all"))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 1011   # an app with no devices


def test_rate_limit_counts_pushes_too(jp):
    jp.emu.set_options({"jpush": {"rate_limit": True, "rate_limit_per_minute": 1}})
    ok = jp.a.post("/v3/push", push_body("all"))
    assert ok.status_code == 200 and ok.headers["X-Rate-Limit-Remaining"] == "0"
    refused(jp.a.post("/v3/push", push_body("all")), 429, 2002)
