"""Every refusal of the seed's table (400/403/404/406) with the exact L1 body, the order of
checks, query decoding decisions, unknown commands and the ``error_body`` switch."""
from __future__ import annotations

import pytest
import requests

from emulator.app import build_context
from emulator.config import Config

from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST

FORBIDDEN = "Authentication failed. Check the validity of the API Key."
NOT_FOUND = "The device list ID that you specified does not exist."
TAKEN = "An active list with the same name exists already."
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"

# (command, method, query without api_key, body): one valid-looking call per command
CALLS = [
    ("create", "GET", "name=Fresh", None),
    ("list", "GET", "", None),
    ("list", "GET", f"device_list_id={UNKNOWN_ID}", None),
    ("append", "POST", f"device_list_id={UNKNOWN_ID}", b"SM-G900F"),
    ("deleteDevices", "POST", f"device_list_id={UNKNOWN_ID}", b"SM-G900F"),
    ("delete", "GET", f"device_list_id={UNKNOWN_ID}", None),
    ("create", "GET", "", None),  # would be a 400 with a key: 403 comes first
]


@pytest.mark.parametrize("command,method,query,body", CALLS)
@pytest.mark.parametrize("key_part", ["", "api_key=", "api_key=not-a-key",
                                      f"api_key={APPLOVIN_KEY}&api_key={APPLOVIN_KEY}",
                                      f"API_KEY={APPLOVIN_KEY}"])
def test_missing_empty_unknown_or_repeated_key_is_403_before_anything_else(
        applovin, device_emulator, expect_error, command, method, query, body, key_part):
    before = device_emulator.state("applovin")
    raw = "&".join(p for p in (query, key_part) if p)
    expect_error(applovin.call(command, method, raw, data=body), 403, FORBIDDEN)
    assert device_emulator.state("applovin") == before


@pytest.mark.parametrize("query,message", [
    ("", "Missing required parameter: name"),
    ("name=", "Missing required parameter: name"),
    ("description=only", "Missing required parameter: name"),
    ("name=a%2Fb", "Invalid name: use letters, digits, _ - + or spaces"),
    ("name=a.b", "Invalid name: use letters, digits, _ - + or spaces"),
    ("name=%C3%B1and%C3%BA", "Invalid name: use letters, digits, _ - + or spaces"),
    ("name=%20%20%20", "Invalid name: use letters, digits, _ - + or spaces"),
    ("name=tab%09tab", "Invalid name: use letters, digits, _ - + or spaces"),
    ("name=%FF", "Parameter name is not valid UTF-8"),
    ("name=ok&description=%C3%28", "Parameter description is not valid UTF-8"),
    ("name=a&name=b", "Parameter name is given more than once"),
    ("name=ok&device_list_id=" + UNKNOWN_ID, "Unknown parameter: device_list_id"),
    ("name=ok&foo=bar", "Unknown parameter: foo"),
])
def test_create_400s(applovin, device_emulator, expect_error, query, message):
    before = device_emulator.state("applovin")
    expect_error(applovin.call("create", query=f"{query}&api_key={applovin.api_key}"), 400, message)
    assert device_emulator.state("applovin") == before


@pytest.mark.parametrize("command,method,body", [
    ("append", "POST", b"SM-G900F"), ("deleteDevices", "POST", b"SM-G900F"), ("delete", "GET", None)])
@pytest.mark.parametrize("query", ["", "device_list_id="])
def test_missing_device_list_id_is_400(applovin, device_emulator, expect_error, command, method, body, query):
    before = device_emulator.state("applovin")
    resp = applovin.call(command, method, f"{query}&api_key={applovin.api_key}", data=body)
    expect_error(resp, 400, "Missing required parameter: device_list_id")
    assert device_emulator.state("applovin") == before


def test_list_with_an_empty_device_list_id_lists_all_lists(applovin):
    resp = applovin.call("list", query=f"device_list_id=&api_key={applovin.api_key}")
    assert resp.json()["device_lists"][0]["device_list_id"] == applovin.default_list_id


@pytest.mark.parametrize("command,method,body", [
    ("list", "GET", None), ("append", "POST", b"SM-G900F"),
    ("deleteDevices", "POST", b"SM-G900F"), ("delete", "GET", None)])
@pytest.mark.parametrize("list_id", [
    UNKNOWN_ID,
    APPLOVIN_LIST.upper(),  # the default list's id in upper case: ids match exactly
    "not-an-id",
    APPLOVIN_LIST[:-1],  # one digit short
])
def test_unknown_or_malformed_list_id_is_404(applovin, device_emulator, expect_error, command, method, body, list_id):
    before = device_emulator.state("applovin")
    expect_error(applovin.call(command, method, {"device_list_id": list_id}, data=body), 404, NOT_FOUND)
    assert device_emulator.state("applovin") == before


def test_404_comes_before_body_problems(applovin, expect_error):
    expect_error(applovin.append(UNKNOWN_ID, b""), 404, NOT_FOUND)
    expect_error(applovin.call("append", "GET", {"device_list_id": UNKNOWN_ID}), 404, NOT_FOUND)


def test_406_only_for_an_active_list_with_the_exact_same_name(applovin, device_emulator, expect_error):
    before = device_emulator.state("applovin")
    expect_error(applovin.create("List Test"), 406, TAKEN)
    expect_error(applovin.create("List Test", "another description"), 406, TAKEN)
    assert device_emulator.state("applovin") == before
    # names are case- and space-sensitive
    assert applovin.create("list test").status_code == 200
    assert applovin.create("List Test ").status_code == 200


def test_400_for_invalid_name_comes_before_406(applovin, expect_error):
    applovin.create_id("Dup")
    expect_error(applovin.call("create", query=f"name=Dup&name=Dup&api_key={applovin.api_key}"), 400,
                 "Parameter name is given more than once")


@pytest.mark.parametrize("query,name", [
    ("name=My+Devices", "My Devices"),
    ("name=My%20Devices", "My Devices"),
    ("name=C%2B%2B", "C++"),
    ("name=a_b-c%2Bd+e", "a_b-c+d e"),
])
def test_plus_is_a_space_and_2B_a_plus_by_default(applovin, query, name):
    resp = applovin.call("create", query=f"{query}&api_key={applovin.api_key}")
    assert resp.status_code == 200, resp.text
    assert applovin.lists().json()["device_lists"][-1]["name"] == name


def test_plus_sign_literal_option_keeps_plus(applovin, device_emulator):
    device_emulator.set_options({"applovin": {"plus_sign": "literal"}})
    resp = applovin.call("create", query=f"name=C++&description=a+b%20c&api_key={applovin.api_key}")
    assert resp.status_code == 200
    entry = applovin.lists().json()["device_lists"][-1]
    assert (entry["name"], entry["description"]) == ("C++", "a+b c")


def test_unknown_params_can_be_ignored(applovin, device_emulator, expect_error):
    expect_error(applovin.call("list", query={"page": "2"}), 400, "Unknown parameter: page")
    device_emulator.set_options({"applovin": {"unknown_params": "ignore"}})
    resp = applovin.call("list", query={"page": "2"})
    assert resp.status_code == 200
    assert resp.json()["count"] == 1


@pytest.mark.parametrize("path", ["/devices/nope", "/devices/Create", "/devices/create/", "/devices",
                                  "/devices/", "/devices/list/extra", "/devices/deletedevices"])
def test_unknown_command_is_404_in_applovins_shape(device_emulator, applovin, expect_error, path):
    resp = requests.get(f"{device_emulator.url}{path}?api_key={applovin.api_key}", timeout=10)
    expect_error(resp, 404, f"Unknown command: {path}")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("command", ["create", "list", "append", "delete", "deleteDevices"])
def test_other_methods_are_405_with_allow(applovin, expect_error, method, command):
    resp = applovin.call(command, method, {"name": "X", "device_list_id": applovin.default_list_id})
    expect_error(resp, 405, f"Method {method} is not allowed for this command")
    assert resp.headers["Allow"] == "GET, POST"


def test_error_body_empty_option_sends_the_status_only(applovin, device_emulator):
    device_emulator.set_options({"applovin": {"error_body": "empty"}})
    for resp, status in [(applovin.with_key("nope").lists(), 403), (applovin.create(""), 400),
                         (applovin.devices(UNKNOWN_ID), 404), (applovin.create("List Test"), 406),
                         (applovin.call("nope"), 404), (applovin.call("list", "PUT"), 405)]:
        assert resp.status_code == status
        assert resp.content == b""
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    # successes keep their bodies
    assert applovin.lists().json()["code"] == 200


@pytest.mark.parametrize("status,message", [
    (400, "The request was not formatted properly, was missing data, or had invalid data."),
    (403, FORBIDDEN), (404, NOT_FOUND), (406, TAKEN), (500, "Service Unavailable."),
    (413, "Request Entity Too Large"), (429, "Too Many Requests"), (503, "Service Unavailable"),
])
def test_generic_statuses_use_the_seeds_wording(status, message):
    """``generic_error`` (used for crashes and injected faults) answers any status in L1's shape."""
    ctx = build_context(Config(db=":memory:", fixtures=[]))
    resp = ctx.vendors["applovin"].generic_error(None, status).response()
    assert resp.status == status
    assert resp.content_type == "application/json"
    assert resp.body == ('{"code":%d,"message":"%s"}' % (status, message)).encode()


def test_injected_fault_answers_in_applovins_shape_and_changes_nothing(applovin, device_emulator, expect_error):
    device_emulator.fault(vendor="applovin", method="POST", path="/devices/append", status=500, times=1)
    before = device_emulator.state("applovin")
    expect_error(applovin.append(applovin.default_list_id, "SM-NEW"), 500, "Service Unavailable.")
    assert device_emulator.state("applovin") == before
    assert applovin.append(applovin.default_list_id, "SM-NEW").status_code == 200


def test_injected_fault_respects_error_body_empty(applovin, device_emulator):
    device_emulator.set_options({"applovin": {"error_body": "empty"}})
    device_emulator.fault(vendor="applovin", path="/devices/*", status=503)
    resp = applovin.lists()
    assert (resp.status_code, resp.content) == (503, b"")
