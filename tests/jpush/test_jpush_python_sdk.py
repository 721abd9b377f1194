"""JPush's own Python client (PyPI ``jpush``) against the emulator, host switched through
``jpush.common.ZONES`` as its users would: the scenario of its official device tests
(tests/devices/test_devices.py), then what the emulator's state must be after it."""
from __future__ import annotations

import jpush
import pytest
from jpush import common

from tests.jpush.jpush_support import APP_A, device

RID_TAGGED = "1507bfd3f7c466c355c"   # the rids the official tests use
RID_CLEARED = "090c1f59f89"
PLATFORMS = "android,ios,hmos"


@pytest.fixture
def sdk_device(device_emulator, monkeypatch):
    """A ``jpush.Device`` whose DEFAULT zone points at the emulator."""
    zone = dict(common.ZONES["DEFAULT"])
    zone.update(DEVICE=f"{device_emulator.url}/v3/devices/", ALIAS=f"{device_emulator.url}/v3/aliases/",
                TAG=f"{device_emulator.url}/v3/tags/")
    monkeypatch.setitem(common.ZONES, "DEFAULT", zone)
    device_emulator.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
        device(RID_TAGGED, "android", alias="alias1", online=True),
        device(RID_CLEARED, "ios", tags=["old"]),
    ]}]}})
    return jpush.JPush(*APP_A).create_device()


def test_official_device_test_scenario(sdk_device, device_emulator):
    tags = jpush.device_tag(jpush.add("ddd", "tageee"))
    assert sdk_device.set_devicemobile(RID_TAGGED, tags).status_code == 200          # test_create_device
    assert sdk_device.set_devicemobile(RID_TAGGED, tags).status_code == 200          # test_set_device_mobile
    assert sdk_device.set_devicemobile(RID_TAGGED, jpush.device_mobile("18588232140")).status_code == 200
    alias = sdk_device.get_aliasuser("alias1", PLATFORMS)                            # test_aliasuser
    assert alias.status_code == 200 and alias.payload == {"registration_ids": [RID_TAGGED]}
    assert sdk_device.delete_alias("alias1", PLATFORMS).status_code == 200           # test_remove_alias
    assert sdk_device.delete_tag("ddd", PLATFORMS).status_code == 200                # test_remove_tags
    tag_list = sdk_device.get_taglist()                                              # test_tag_list
    assert tag_list.status_code == 200 and tag_list.payload == {"tags": ["old", "tageee"]}
    sdk_device.set_deviceinfo(RID_CLEARED, jpush.device_tag(""))                     # test_clear_tag
    info = sdk_device.get_deviceinfo(RID_CLEARED)                                    # test_get_device
    assert info.payload == {"tags": [], "alias": None, "mobile": None}

    tagged = sdk_device.get_deviceinfo(RID_TAGGED).payload
    assert tagged == {"tags": ["tageee"], "alias": None, "mobile": "18588232140"}


def test_sdk_sees_jpush_errors(sdk_device):
    with pytest.raises(common.JPushFailure) as failure:
        sdk_device.get_deviceinfo("0000000000a")
    assert failure.value.error_code == 7002
    assert failure.value.details == "The registration_id does not belong to this appkey!"
    assert failure.value.response.status_code == 400
    with pytest.raises(common.Unauthorized):
        jpush.JPush(APP_A[0], "wrongSecret0000000000000").create_device().get_taglist()


def test_sdk_tag_users_membership_and_status(sdk_device):
    assert sdk_device.update_tagusers("vip", jpush.device_regid(jpush.add(RID_TAGGED, RID_CLEARED))).status_code == 200
    assert sdk_device.check_taguserexist("vip", RID_CLEARED).payload == {"result": True}
    assert sdk_device.update_tagusers("vip", jpush.device_regid(jpush.remove(RID_CLEARED))).status_code == 200
    assert sdk_device.check_taguserexist("vip", RID_CLEARED).payload == {"result": False}
    status = sdk_device.get_device_status(RID_TAGGED)  # a bare string: the client wraps it in a list
    assert status.payload == {RID_TAGGED: {"online": True}}


def test_empty_success_body_option_gives_the_sdk_its_success_fallback(sdk_device, device_emulator):
    device_emulator.set_options({"jpush": {"success_body": "empty"}})
    result = sdk_device.delete_tag("ddd")
    assert result.status_code == 200 and result.payload == "success"
