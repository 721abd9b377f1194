"""Track Device: success, merge, unknown customers, and every field error with exact bodies."""
from __future__ import annotations

import threading

import pytest

from tests.moengage.moengage_client import CUSTOMER, SUCCESS, device_body, error_of


def test_device_is_stored_under_its_customer_before_the_200(api, workspace):
    resp = api.post("device", device_body(model="Pixel 8", moe_push_opted="True", custom_flag=7))
    assert resp.status_code == 200
    assert resp.json() == SUCCESS
    assert resp.headers["Content-Type"] == "application/json"
    assert workspace()["devices"] == [{
        "customer_id": CUSTOMER, "device_id": "device-1",
        "attributes": {"platform": "ANDROID", "push_id": "fcm-token-1", "model": "Pixel 8",
                       "moe_push_opted": "True", "custom_flag": 7},
    }]
    assert workspace()["dropped"] == []


def test_resending_a_device_merges_its_attributes(api, workspace):
    api.post("device", device_body(model="Pixel 8", app_version="1.0"))
    resp = api.post("device", device_body(push_id="fcm-token-2", app_version="1.1", os_version="14"))
    assert resp.status_code == 200
    (device,) = workspace()["devices"]
    assert device["attributes"] == {"platform": "ANDROID", "push_id": "fcm-token-2", "model": "Pixel 8",
                                    "app_version": "1.1", "os_version": "14"}


@pytest.mark.parametrize("sent,stored", [("android", "ANDROID"), ("IOS", "iOS"), ("Web", "web"),
                                         ("tv", "TV"), ("iOS", "iOS")])
def test_platform_matches_case_insensitively_and_is_stored_canonical(api, workspace, sent, stored):
    assert api.post("device", device_body(platform=sent)).status_code == 200
    assert workspace()["devices"][0]["attributes"]["platform"] == stored


def test_strict_platform_case_refuses_other_spellings(api, device_emulator, workspace):
    device_emulator.set_options({"moengage": {"strict_platform_case": True}})
    resp = api.post("device", device_body(platform="android"))
    assert resp.status_code == 400
    assert error_of(resp) == {"attribute": "platform", "message": "'platform' is not a valid platform.",
                              "type": "ValueError"}
    assert api.post("device", device_body(platform="ANDROID")).status_code == 200


def test_device_for_unknown_customer_is_accepted_but_dropped(api, workspace):
    body = device_body(customer_id="nobody", device_id="d-9")
    resp = api.post("device", body)
    assert resp.status_code == 200 and resp.json() == SUCCESS
    ws = workspace()
    assert ws["devices"] == []
    (drop,) = ws["dropped"]
    assert drop["endpoint"] == "device"
    assert drop["reason"] == "User doesn't exists with customer id nobody"
    assert drop["payload"] == body
    assert isinstance(drop["id"], str) and drop["received_at"].endswith("Z")


def test_strict_customer_switch_answers_400_and_records_nothing(api, device_emulator, workspace):
    device_emulator.set_options({"moengage": {"strict_customer": True}})
    resp = api.post("device", device_body(customer_id="nobody"))
    assert resp.status_code == 400
    assert error_of(resp) == {"attribute": "customer_id",
                              "message": "User doesn't exists with customer id nobody", "type": "Not Found"}
    assert workspace()["devices"] == [] and workspace()["dropped"] == []


def test_device_for_customer_created_through_the_api(api, workspace):
    assert api.post("customer", {"type": "customer", "customer_id": "new-user"}).status_code == 200
    assert api.post("device", device_body(customer_id="new-user", device_id="d2")).status_code == 200
    assert [(d["customer_id"], d["device_id"]) for d in workspace()["devices"]] == [("new-user", "d2")]


MISSING = "MissingAttributeError"
FIELD_ERRORS = [
    # (change to a valid body, attribute, message, type)
    (lambda b: b.pop("type"), "type", "'type' is not found in the payload", MISSING),
    (lambda b: b.update(type="Device"), "type", "'type' is not a valid type", "ValueError"),
    (lambda b: b.update(type="customer"), "type", "'type' is not a valid type", "ValueError"),
    (lambda b: b.pop("customer_id"), "customer_id", "'customer_id' is not found in the payload", MISSING),
    (lambda b: b.update(customer_id=None), "customer_id", "'customer_id' is not found in the payload", MISSING),
    (lambda b: b.update(customer_id=""), "customer_id", "'customer_id' can not be empty Unicode String", MISSING),
    (lambda b: b.update(customer_id=12), "customer_id",
     "'customer_id' is expected to be String or Unicode String.", MISSING),
    (lambda b: b.pop("device_id"), "device_id", "'device_id' is not found in the payload", MISSING),
    (lambda b: b.update(device_id=["x"]), "device_id",
     "'device_id' is expected to be String or Unicode String.", MISSING),
    (lambda b: b.pop("attributes"), "attributes", "'attributes' is not found in the payload", MISSING),
    (lambda b: b.update(attributes="x"), "attributes", "'attributes' is expected to be Dictionary.", "ValueError"),
    (lambda b: b["attributes"].pop("platform"), "platform", "'platform' is not found in payload", MISSING),
    (lambda b: b["attributes"].update(platform="Windows"), "platform", "'platform' is not a valid platform.",
     "ValueError"),
    (lambda b: b["attributes"].update(platform=1), "platform", "'platform' is not a valid platform.", "ValueError"),
    (lambda b: b["attributes"].pop("push_id"), "push_id", "'push_id' is not found in payload", MISSING),
    (lambda b: b["attributes"].update(push_id=""), "push_id", "'push_id' is not found in payload", MISSING),
    (lambda b: b["attributes"].update(push_id=5), "push_id",
     "'push_id' is expected to be String or Unicode String.", MISSING),
]


@pytest.mark.parametrize("change,attribute,message,type_", FIELD_ERRORS)
def test_field_errors_have_moengage_bodies_and_change_nothing(api, workspace, change, attribute, message, type_):
    body = device_body()
    change(body)
    before = workspace()
    resp = api.post("device", body)
    assert resp.status_code == 400
    assert error_of(resp) == {"attribute": attribute, "message": message, "type": type_}
    assert workspace() == before


def test_field_checks_run_in_order_type_customer_device_attributes(api):
    resp = api.post("device", {"type": "device"})
    assert error_of(resp)["attribute"] == "customer_id"
    resp = api.post("device", {"type": "device", "customer_id": CUSTOMER})
    assert error_of(resp)["attribute"] == "device_id"
    resp = api.post("device", {"type": "device", "customer_id": CUSTOMER, "device_id": "d", "attributes": {}})
    assert error_of(resp)["attribute"] == "platform"


def test_device_id_fallback_keys_the_device_by_customer(api, device_emulator, workspace):
    device_emulator.set_options({"moengage": {"device_id_fallback": True}})
    body = device_body()
    del body["device_id"]
    assert api.post("device", body).status_code == 200
    assert workspace()["devices"][0]["device_id"] == CUSTOMER


def test_success_request_id_switch(api, device_emulator):
    device_emulator.set_options({"moengage": {"success_request_id": True}})
    body = api.post("device", device_body()).json()
    rid = body.pop("request_id")
    assert body == SUCCESS and len(rid) == 8 and rid.isalpha()


def test_parallel_updates_of_one_device_lose_nothing(api, device_emulator, workspace):
    """40 threads each set their own attribute on the same device: all 40 survive the merge."""
    from tests.moengage.moengage_client import DataApi
    results = []

    def send(i: int) -> None:
        client = DataApi(device_emulator.url)
        results.append(client.post("device", device_body(**{f"attr_{i}": i})).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 40
    attrs = workspace()["devices"][0]["attributes"]
    assert {k: v for k, v in attrs.items() if k.startswith("attr_")} == {f"attr_{i}": i for i in range(40)}
