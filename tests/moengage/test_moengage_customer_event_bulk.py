"""Track User, Track Event and Bulk Import: success, merge semantics and each error row."""
from __future__ import annotations

import pytest

from tests.moengage.moengage_client import CUSTOMER, SUCCESS, device_body, error_of

MISSING = "MissingAttributeError"


def customers(workspace) -> dict:
    return {c["customer_id"]: c["attributes"] for c in workspace()["customers"]}


# -- customers ---------------------------------------------------------------------------------

def test_customer_is_created_then_updated_by_merge(api, workspace):
    resp = api.post("customer", {"type": "customer", "customer_id": "john@example.com",
                                 "attributes": {"name": "John", "points": 20}})
    assert resp.status_code == 200 and resp.json() == SUCCESS
    api.post("customer", {"type": "customer", "customer_id": "john@example.com",
                          "attributes": {"points": 25, "super_user": True},
                          "platforms": [{"platform": "ANDROID", "active": "true"}]})
    assert customers(workspace)["john@example.com"] == {
        "name": "John", "points": 25, "super_user": True, "platforms": [{"platform": "ANDROID", "active": "true"}]}


def test_update_existing_only_does_not_create_and_is_recorded(api, workspace):
    body = {"type": "customer", "customer_id": "ghost", "update_existing_only": True, "attributes": {"a": 1}}
    assert api.post("customer", body).status_code == 200
    ws = workspace()
    assert "ghost" not in customers(workspace)
    assert [(d["endpoint"], d["reason"], d["payload"]) for d in ws["dropped"]] == [
        ("customer", "update_existing_only: User doesn't exists with customer id ghost", body)]
    body = {"type": "customer", "customer_id": CUSTOMER, "update_existing_only": True, "attributes": {"a": 1}}
    assert api.post("customer", body).status_code == 200
    assert customers(workspace)[CUSTOMER] == {"name": "Emulator User", "a": 1}


def test_array_operators_and_unset_attributes(api, workspace):
    api.post("customer", {"type": "customer", "customer_id": "u", "attributes": {
        "tags": ["a"], "temp_x": 1, "Temp_y": 2, "keep": 3}})
    api.post("customer", {"type": "customer", "customer_id": "u",
                          "attributes": {"addValueToArrayField": {"tags": ["b", "a"], "new": ["z"]},
                                         "removeValueFromArrayField": {}},
                          "unset_attributes": [{"type": "prefix", "attr": "temp_", "case_sensitive": False}]})
    assert customers(workspace)["u"] == {"tags": ["a", "b"], "new": ["z"], "keep": 3}
    api.post("customer", {"type": "customer", "customer_id": "u",
                          "attributes": {"removeValueFromArrayField": {"tags": ["a"]}}})
    assert customers(workspace)["u"]["tags"] == ["b"]


CUSTOMER_ERRORS = [
    ({"customer_id": "u"}, "type", "type is not found in the payload", MISSING),
    ({"type": "Customer", "customer_id": "u"}, "type", "type is not a valid type", "ValueError"),
    ({"type": "customer"}, "customer_id", "customer_id is not found in the payload", MISSING),
    ({"type": "customer", "customer_id": ""}, "customer_id", "customer_id can not be empty Unicode String", MISSING),
    ({"type": "customer", "customer_id": 7}, "customer_id",
     "customer_id is expected to be String or Unicode String.", MISSING),
    ({"type": "customer", "customer_id": "u", "attributes": []}, "attributes",
     "attributes is expected to be Dictionary.", "ValueError"),
    ({"type": "customer", "customer_id": "u", "attributes": {
        "addValueToArrayField": {"first_name": ["a"]}, "removeValueFromArrayField": {"first_name": ["b"]}}},
     "addValueToArrayField", "Cannot add and remove 'first_name' at the same time", "ArrayFieldError"),
    ({"type": "customer", "customer_id": "u", "attributes": {"addValueToArrayField": {"x": "notalist"}}},
     "addValueToArrayField", "addValueToArrayField is expected to be a Dictionary of Lists.", "ArrayFieldError"),
    ({"type": "customer", "customer_id": "u", "update_existing_only": "yes"}, "update_existing_only",
     "update_existing_only is expected to be Boolean.", "ValueError"),
    ({"type": "customer", "customer_id": "u", "platforms": "ANDROID"}, "platforms",
     "platforms is expected to be List.", "ValueError"),
    ({"type": "customer", "customer_id": "u", "unset_attributes": [{"type": "regex", "attr": "x"}]},
     "unset_attributes", "unset_attributes is expected to be a List of {type, attr, case_sensitive} rules.",
     "ValueError"),
]


@pytest.mark.parametrize("body,attribute,message,type_", CUSTOMER_ERRORS)
def test_customer_errors(api, workspace, body, attribute, message, type_):
    before = workspace()
    resp = api.post("customer", body)
    assert resp.status_code == 400
    assert error_of(resp) == {"attribute": attribute, "message": message, "type": type_}
    assert workspace() == before


# -- events ------------------------------------------------------------------------------------

def test_events_are_recorded_one_per_action(api, workspace):
    body = {"type": "event", "customer_id": CUSTOMER, "device_id": "dev-1", "actions": [
        {"action": "ProductAdded", "attributes": {"product": "Shirt"}, "platform": "ANDROID",
         "app_version": "1.2.3", "current_time": 1433837969, "user_timezone_offset": 19800},
        {"action": "Purchase"}]}
    resp = api.post("event", body)
    assert resp.status_code == 200 and resp.json() == SUCCESS
    events = workspace()["events"]
    assert [(e["customer_id"], e["action"], e["attributes"]) for e in events] == [
        (CUSTOMER, "ProductAdded", {"product": "Shirt"}), (CUSTOMER, "Purchase", {})]
    assert events[0]["properties"] == {"platform": "ANDROID", "app_version": "1.2.3", "current_time": 1433837969,
                                       "user_timezone_offset": 19800, "device_id": "dev-1"}
    assert len({e["id"] for e in events}) == 2


def test_events_of_unknown_customers_are_recorded_too(api, workspace):
    assert api.post("event", {"type": "event", "customer_id": "someone-new",
                              "actions": [{"action": "Login"}]}).status_code == 200
    assert [e["customer_id"] for e in workspace()["events"]] == ["someone-new"]


EVENT_ERRORS = [
    ({"type": "Event", "customer_id": "u", "actions": [{"action": "a"}]}, "type", "type is not a valid type",
     "ValueError"),
    ({"type": "event", "actions": [{"action": "a"}]}, "customer_id", "customer_id is not found in the payload",
     MISSING),
    ({"type": "event", "user_identifiers": {"moe_mobile": "1"}, "actions": [{"action": "a"}]}, "customer_id",
     "customer_id is not found in the payload", MISSING),
    ({"type": "event", "customer_id": "u"}, "actions", "actions is not found in the payload", MISSING),
    ({"type": "event", "customer_id": "u", "actions": []}, "actions", "actions can not be empty Array", MISSING),
    ({"type": "event", "customer_id": "u", "actions": {"action": "a"}}, "actions",
     "actions can not be empty Array", MISSING),
    ({"type": "event", "customer_id": "u", "actions": [{"attributes": {}}]}, "action",
     "action is not found in the payload", MISSING),
    ({"type": "event", "customer_id": "u", "actions": [{"action": 5}]}, "action",
     "action is not found in the payload", MISSING),
    ({"type": "event", "customer_id": "u", "actions": ["a"]}, "action", "action is not found in the payload",
     MISSING),
    ({"type": "event", "customer_id": "u", "actions": [{"action": "a", "attributes": "x"}]}, "attributes",
     "attributes is expected to be Dictionary.", "ValueError"),
]


@pytest.mark.parametrize("body,attribute,message,type_", EVENT_ERRORS)
def test_event_errors(api, workspace, body, attribute, message, type_):
    before = workspace()
    resp = api.post("event", body)
    assert resp.status_code == 400
    assert error_of(resp) == {"attribute": attribute, "message": message, "type": type_}
    assert workspace() == before


# -- bulk --------------------------------------------------------------------------------------

def test_bulk_applies_elements_in_order_as_if_sent_one_by_one(api, workspace):
    body = {"type": "transition", "elements": [
        {"type": "customer", "customer_id": "AZ8TM", "attributes": {"name": "qjDKn"}},
        {"type": "device", "customer_id": "AZ8TM", "device_id": "AZ8TM",
         "attributes": {"platform": "ios", "push_id": "pushid1991", "brand": "Apple"}},
        {"type": "event", "customer_id": "AZ8TM", "actions": [{"action": "A6CO5"}, {"action": "Purchase"}]},
        {"type": "device", "customer_id": "AZ8TM", "device_id": "AZ8TM", "attributes": {
            "platform": "iOS", "push_id": "pushid1992"}},
    ]}
    resp = api.post("transition", body)
    assert resp.status_code == 200 and resp.json() == SUCCESS
    ws = workspace()
    assert customers(workspace)["AZ8TM"] == {"name": "qjDKn"}
    assert ws["devices"] == [{"customer_id": "AZ8TM", "device_id": "AZ8TM",
                              "attributes": {"platform": "iOS", "push_id": "pushid1992", "brand": "Apple"}}]
    assert [e["action"] for e in ws["events"]] == ["A6CO5", "Purchase"]
    assert ws["dropped"] == []


def test_bulk_drops_elements_the_single_endpoints_would_refuse(api, workspace):
    bad_platform = {"type": "device", "customer_id": CUSTOMER, "device_id": "d1",
                    "attributes": {"platform": "Windows", "push_id": "p"}}
    no_customer = {"type": "device", "customer_id": "nobody", "device_id": "d2",
                   "attributes": {"platform": "web", "push_id": "p"}}
    no_actions = {"type": "event", "customer_id": CUSTOMER, "actions": []}
    good = {"type": "device", "customer_id": CUSTOMER, "device_id": "d3",
            "attributes": {"platform": "web", "push_id": "p"}}
    resp = api.post("transition", {"type": "transition", "elements": [bad_platform, no_customer, no_actions, good]})
    assert resp.status_code == 200
    ws = workspace()
    assert [d["device_id"] for d in ws["devices"]] == ["d3"]
    assert [(d["endpoint"], d["reason"], d["payload"]) for d in ws["dropped"]] == [
        ("transition", "'platform' is not a valid platform.", bad_platform),
        ("transition", "User doesn't exists with customer id nobody", no_customer),
        ("transition", "actions can not be empty Array", no_actions),
    ]


def test_bulk_unknown_customer_is_dropped_even_with_strict_customer(api, device_emulator, workspace):
    device_emulator.set_options({"moengage": {"strict_customer": True}})
    resp = api.post("transition", {"type": "transition", "elements": [device_body(customer_id="nobody")]})
    assert resp.status_code == 200
    assert len(workspace()["dropped"]) == 1


BULK_ERRORS = [
    ({"type": "transition"}, "elements", "'elements cannot be empty array", MISSING),
    ({"type": "transition", "elements": []}, "elements", "'elements cannot be empty array", MISSING),
    ({"type": "transition", "elements": {"a": 1}}, "elements", "'elements cannot be empty array", MISSING),
    ({"type": "transition", "elements": [{"type": "Customer", "customer_id": "u"}]}, "type",
     "'type in elements should be customer/event/device", "AttributeError"),
    ({"type": "transition", "elements": ["customer"]}, "type",
     "'type in elements should be customer/event/device", "AttributeError"),
    ({"type": "transition", "elements": [{"type": "customer"}]}, "customer_id",
     "'customer_id not found in the payload", MISSING),
    ({"type": "transition", "elements": [{"type": "device", "customer_id": ""}]}, "customer_id",
     "'customer_id not found in the payload", MISSING),
    ({"type": "transition", "elements": [{"type": "event", "customer_id": "u", "actions": [{"action": ""}]}]},
     "action", "'action cannot be empty Unicode string", MISSING),
    ({"elements": [{"type": "customer", "customer_id": "u"}]}, "type", "'type not found in the payload", MISSING),
    ({"type": "bulk", "elements": [{"type": "customer", "customer_id": "u"}]}, "type",
     "'type is not a valid type", "ValueError"),
]


@pytest.mark.parametrize("body,attribute,message,type_", BULK_ERRORS)
def test_bulk_request_errors_refuse_the_whole_request(api, workspace, body, attribute, message, type_):
    before = workspace()
    # a valid element first: it must not be applied when a later one makes the request invalid
    if isinstance(body.get("elements"), list) and body["elements"]:
        body["elements"].insert(0, {"type": "customer", "customer_id": "early"})
    resp = api.post("transition", body)
    assert resp.status_code == 400
    assert error_of(resp) == {"attribute": attribute, "message": message, "type": type_}
    assert workspace() == before
