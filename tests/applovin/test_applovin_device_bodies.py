"""Decisions about append/deleteDevices bodies (notes L3, L4, L8, L10): line splitting,
invalid lines, duplicates, empty bodies, the size cap."""
from __future__ import annotations

import pytest

NO_DEVICES = "Missing device list: the POST body has no devices"


@pytest.fixture
def empty_list(applovin) -> str:
    return applovin.create_id("Bodies")


def result(list_id: str, processed: int, failed: int) -> dict:
    return {"device_list_id": list_id, "processed_devices": processed, "failed_devices": failed}


def test_crlf_blank_lines_and_surrounding_spaces(applovin, empty_list):
    resp = applovin.append(empty_list, b"SM-A\r\n\r\n   \r\n  SM-B  \r\n\n\tSM-C\n")
    assert resp.json() == result(empty_list, 3, 0)
    assert applovin.device_names(empty_list) == ["SM-A", "SM-B", "SM-C"]


@pytest.mark.parametrize("line,valid", [
    (b"SM-G900F", True),
    (b"HUAWEI Y520-U03", True),
    (b"iPhone6,1", True),
    ("Redmi Note 8 Pro 小米".encode(), True),
    (b"X" * 64, True),
    (b"X" * 65, False),
    (b"SM\x01G900F", False),      # control character
    (b"SM\tG900F", False),        # a tab inside the name is a control character
    (b"SM\x7fG900F", False),      # DEL
    ("SM\u200bG900F".encode(), False),  # zero-width space (format character)
    ("SM\u2028G900F".encode(), False),  # line separator
    (b"SM-\xffG900F", False),     # not UTF-8
])
def test_which_lines_are_invalid(applovin, empty_list, line, valid):
    resp = applovin.append(empty_list, b"SM-OK\n" + line + b"\n")
    assert resp.status_code == 200
    assert resp.json() == result(empty_list, 1 + valid, 0 if valid else 1)
    expected = ["SM-OK"] + ([line.decode()] if valid else [])
    assert applovin.device_names(empty_list) == expected


def test_only_invalid_lines_is_200_with_nothing_processed(applovin, empty_list):
    resp = applovin.append(empty_list, b"X" * 65 + b"\n\x01\n")
    assert resp.json() == result(empty_list, 0, 2)
    assert applovin.device_names(empty_list) == []


def test_append_is_idempotent_and_repeated_lines_count_each(applovin):
    list_id = applovin.default_list_id
    resp = applovin.append(list_id, "SM-G900F\nNEW-1\nNEW-1\nSM-G900F")
    assert resp.json() == result(list_id, 4, 0)
    # existing models keep their place; new ones go to the end once
    assert applovin.device_names(list_id) == ["SM-G900F", "SM-G900FD", "SM-J100H", "NEW-1"]
    assert applovin.lists().json()["device_lists"][0]["device_count"] == 4


def test_device_names_are_case_sensitive(applovin):
    resp = applovin.append(applovin.default_list_id, "sm-g900f")
    assert resp.json() == result(applovin.default_list_id, 1, 0)
    assert applovin.device_names(applovin.default_list_id)[-1] == "sm-g900f"


def test_delete_devices_not_on_the_list_and_invalid_lines_fail(applovin):
    list_id = applovin.default_list_id
    body = "SM-G900F\nSM-G900F\nsm-g900fd\nNOT-THERE\n" + "Y" * 65 + "\n\nSM-J100H\r\n"
    resp = applovin.delete_devices(list_id, body)
    # processed: SM-G900F twice (it was on the list when the request started) and SM-J100H
    assert resp.json() == result(list_id, 3, 3)
    assert applovin.device_names(list_id) == ["SM-G900FD"]
    assert applovin.lists().json()["device_lists"][0]["device_count"] == 1


def test_re_appending_a_removed_device_puts_it_at_the_end(applovin):
    list_id = applovin.default_list_id
    applovin.delete_devices(list_id, "SM-G900F")
    applovin.append(list_id, "SM-G900F")
    assert applovin.device_names(list_id) == ["SM-G900FD", "SM-J100H", "SM-G900F"]


@pytest.mark.parametrize("command", ["append", "deleteDevices"])
@pytest.mark.parametrize("body", [b"", b"\n", b"\r\n\r\n", b"   \n\t\n"])
def test_empty_or_blank_body_is_400_and_changes_nothing(applovin, device_emulator, expect_error, command, body):
    before = device_emulator.state("applovin")
    resp = applovin.call(command, "POST", {"device_list_id": applovin.default_list_id}, data=body)
    expect_error(resp, 400, NO_DEVICES)
    assert device_emulator.state("applovin") == before


@pytest.mark.parametrize("command", ["append", "deleteDevices"])
def test_get_without_body_is_400(applovin, device_emulator, expect_error, command):
    before = device_emulator.state("applovin")
    resp = applovin.call(command, "GET", {"device_list_id": applovin.default_list_id})
    expect_error(resp, 400, "Missing device list: send the devices in a POST body")
    assert device_emulator.state("applovin") == before


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain",
                                          "application/json", "application/octet-stream", None])
def test_any_content_type_is_read_as_lines(applovin, empty_list, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = applovin.call("append", "POST", {"device_list_id": empty_list}, data=b"SM-X\nSM-Y", headers=headers)
    assert resp.json() == result(empty_list, 2, 0)


def test_body_cap_default_is_one_mebibyte(applovin, device_emulator, expect_error, empty_list):
    line = b"SM-G900F\n"
    exact = line * (1024 * 1024 // len(line))
    exact += b"A" * (1024 * 1024 - len(exact))
    assert len(exact) == 1024 * 1024
    resp = applovin.append(empty_list, exact)
    assert resp.json() == result(empty_list, 1024 * 1024 // len(line) + 1, 0)
    before = device_emulator.state("applovin")
    expect_error(applovin.append(empty_list, exact + b"B"), 400, "Request body is larger than 1048576 bytes")
    assert device_emulator.state("applovin") == before


def test_body_cap_is_an_option_and_applies_to_chunked_bodies(applovin, device_emulator, expect_error, empty_list):
    device_emulator.set_options({"applovin": {"max_body_bytes": 20}})
    assert applovin.append(empty_list, b"0123456789\n012345678").json() == result(empty_list, 2, 0)
    message = "Request body is larger than 20 bytes"
    expect_error(applovin.delete_devices(empty_list, b"0123456789\n0123456789"), 400, message)
    chunks = iter([b"0123456789\n", b"0123456789\n"])  # a generator makes requests send it chunked
    expect_error(applovin.call("append", "POST", {"device_list_id": empty_list}, data=chunks), 400, message)
    assert applovin.device_names(empty_list) == ["0123456789", "012345678"]
