"""The jpush part of the fixture document: validation with JSON paths, merge, export."""
from __future__ import annotations

import pytest

from emulator.pytest_plugin import EmulatorError
from tests.credentials import JPUSH_KEY, JPUSH_SECRET
from tests.jpush.jpush_support import APP_A, RID_IOS, Client, assert_ok, device


def _app(**fields):
    return {"app_key": APP_A[0], "master_secret": APP_A[1], **fields}


BAD = [
    ({"apps": {}}, "$.jpush.apps", "expected an array"),
    ({"apps": [], "extra": 1}, "$.jpush.extra", "unknown field"),
    ({"apps": [{"app_key": "short", "master_secret": APP_A[1]}]}, "$.jpush.apps[0].app_key", "does not match"),
    ({"apps": [{"app_key": APP_A[0], "master_secret": "has-dash-000000000000000"}]},
     "$.jpush.apps[0].master_secret", "does not match"),
    ({"apps": [{"app_key": APP_A[0]}]}, "$.jpush.apps[0].master_secret", "is required"),
    ({"apps": [_app(), _app()]}, "$.jpush.apps[1].app_key", "duplicate app_key"),
    ({"apps": [_app(devices=[{"platform": "ios"}])]}, "$.jpush.apps[0].devices[0].registration_id", "is required"),
    ({"apps": [_app(devices=[device("r1", "symbian")])]}, "$.jpush.apps[0].devices[0].platform", "expected one of"),
    ({"apps": [_app(devices=[device("r-1", "ios")])]}, "$.jpush.apps[0].devices[0].registration_id", "does not match"),
    ({"apps": [_app(devices=[device("r1", "ios"), device("r1", "android")])]},
     "$.jpush.apps[0].devices[1].registration_id", "duplicate registration_id"),
    ({"apps": [_app(devices=[device("r1", "ios", tags=["ok", 5])])]}, "$.jpush.apps[0].devices[0].tags[1]", "expected a string"),
    ({"apps": [_app(devices=[device("r1", "ios", tags=["a b"])])]}, "$.jpush.apps[0].devices[0].tags[0]", "may only contain"),
    ({"apps": [_app(devices=[device("r1", "ios", tags=["a", "a"])])]}, "$.jpush.apps[0].devices[0].tags[1]", "duplicate tag"),
    ({"apps": [_app(devices=[device("r1", "ios", tags=[f"t{i}" for i in range(1001)])])]},
     "$.jpush.apps[0].devices[0].tags", "more than 1000 tags"),
    ({"apps": [_app(devices=[device("r1", "ios", tags=["ok", "\ud800"])])]}, "$.jpush.apps[0].devices[0].tags[1]",
     "lone surrogate"),
    ({"apps": [_app(devices=[device("r1", "ios", alias="x" * 41)])]}, "$.jpush.apps[0].devices[0].alias", "longer than 40 bytes"),
    ({"apps": [_app(devices=[device("r1", "ios", mobile="phone")])]}, "$.jpush.apps[0].devices[0].mobile", "must start with"),
    ({"apps": [_app(devices=[device("r1", "ios", online="yes")])]}, "$.jpush.apps[0].devices[0].online", "expected true or false"),
    ({"apps": [_app(devices=[device("r1", "ios", last_online_time="2026-01-01T10:00:00Z")])]},
     "$.jpush.apps[0].devices[0].last_online_time", "is not 'yyyy-MM-dd HH:mm:ss'"),
    ({"apps": [_app(devices=[device("r1", "ios", color="red")])]}, "$.jpush.apps[0].devices[0].color", "unknown field"),
    ({"apps": [_app(devices=[device(f"r{i}", "ios", alias="many") for i in range(11)])]},
     "$.jpush.apps[0].devices[0].alias", "bound to more than 10 devices"),
]


@pytest.mark.parametrize("part,path,message", BAD)
def test_bad_fixture_is_refused_naming_the_path_and_changes_nothing(jp, part, path, message):
    before = jp.emu.state()
    with pytest.raises(EmulatorError) as refused:
        jp.emu.replace_state({"jpush": part})
    assert refused.value.status == 400
    assert refused.value.body["path"] == path
    assert message in refused.value.body["error"]
    with pytest.raises(EmulatorError):
        jp.emu.load({"jpush": part})
    assert jp.emu.state() == before


def test_export_round_trips_through_put(jp):
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"alias": ""}))  # a deleted alias exports as ""
    exported = jp.state()
    ios = next(d for a in exported["apps"] if a["app_key"] == APP_A[0] for d in a["devices"]
               if d["registration_id"] == RID_IOS)
    assert ios == {"registration_id": RID_IOS, "platform": "ios", "tags": ["news", "sport"], "alias": "",
                   "mobile": None, "online": False, "last_online_time": "2026-01-01 10:00:00"}
    jp.emu.replace_state({"jpush": exported})
    assert jp.state() == exported


def test_merge_updates_only_given_fields_and_keeps_the_rest(jp):
    jp.emu.load({"jpush": {"apps": [_app(devices=[
        device(RID_IOS, "android", online=True),            # platform and online change, tags kept
        device("newdevice01", "quickapp", tags=["fresh"]),
    ])]}})
    apps = {a["app_key"]: a for a in jp.state()["apps"]}
    devices = {d["registration_id"]: d for d in apps[APP_A[0]]["devices"]}
    assert devices[RID_IOS] == {"registration_id": RID_IOS, "platform": "android", "tags": ["news", "sport"],
                                "alias": "bob", "mobile": None, "online": True,
                                "last_online_time": "2026-01-01 10:00:00"}
    assert devices["newdevice01"]["tags"] == ["fresh"]
    assert len(devices) == 4
    # the platform change follows the device's tags too (tag delete by platform)
    assert_ok(jp.a.delete("/v3/tags/sport", params={"platform": "android"}))
    assert jp.a.device(RID_IOS)["tags"] == ["news"]
    # tags given replace the device's tag set
    jp.emu.load({"jpush": {"apps": [_app(devices=[device(RID_IOS, "android", tags=["only"])])]}})
    assert jp.a.device(RID_IOS)["tags"] == ["only"]


def test_merge_updates_the_master_secret(jp):
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": "rotatedSecret00000000000"}]}})
    assert jp.a.get("/v3/tags/").status_code == 401
    assert Client(jp.emu.url, (APP_A[0], "rotatedSecret00000000000")).get("/v3/tags/").status_code == 200


def test_default_credentials_work(device_emulator):
    """The documented dev credentials of the shipped fixtures (docs/vendors/jpush.md)."""
    default = Client(device_emulator.url, (JPUSH_KEY, JPUSH_SECRET))
    assert_ok(default.get("/v3/tags/"), {"tags": []})
