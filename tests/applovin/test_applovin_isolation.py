"""Accounts see only their own lists; concurrent writes lose nothing; ``--auth open``."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

NOT_FOUND = "The device list ID that you specified does not exist."


def test_an_account_cannot_read_or_change_anothers_lists(two_accounts, device_emulator, expect_error):
    owner, other = two_accounts
    seed = owner.default_list_id
    before = device_emulator.state("applovin")
    assert other.lists().json() == {"code": 200, "device_lists": [], "count": 0}
    expect_error(other.devices(seed), 404, NOT_FOUND)
    expect_error(other.append(seed, "SM-EVIL"), 404, NOT_FOUND)
    expect_error(other.delete_devices(seed, "SM-G900F"), 404, NOT_FOUND)
    expect_error(other.delete(seed), 404, NOT_FOUND)
    assert device_emulator.state("applovin") == before


def test_names_are_per_account(two_accounts):
    owner, other = two_accounts
    theirs = other.create_id("List Test")
    assert theirs != owner.default_list_id
    other.append(theirs, "THEIRS")
    assert owner.device_names(owner.default_list_id) == ["SM-G900F", "SM-G900FD", "SM-J100H"]
    assert [e["device_list_id"] for e in owner.lists().json()["device_lists"]] == [owner.default_list_id]


def test_parallel_creates_with_one_name_give_exactly_one_200(applovin):
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda _: applovin.create("Raced"), range(32)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [406] * 31
    names = [e["name"] for e in applovin.lists().json()["device_lists"]]
    assert names.count("Raced") == 1


def test_parallel_appends_and_removals_on_one_list_lose_nothing(applovin):
    list_id = applovin.create_id("Parallel")
    batches = [[f"M{t}-{i}" for i in range(25)] for t in range(16)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda batch: applovin.append(list_id, "\n".join(batch)).json(), batches))
    assert all(r["processed_devices"] == 25 and r["failed_devices"] == 0 for r in results)
    stored = applovin.device_names(list_id)
    assert sorted(stored) == sorted(d for batch in batches for d in batch)
    with ThreadPoolExecutor(max_workers=16) as pool:
        removed = list(pool.map(lambda batch: applovin.delete_devices(list_id, "\n".join(batch[:10])).json(), batches))
    assert all(r["processed_devices"] == 10 for r in removed)
    entry = [e for e in applovin.lists().json()["device_lists"] if e["device_list_id"] == list_id][0]
    assert entry["device_count"] == 16 * 15 == len(applovin.device_names(list_id))


def test_parallel_deletes_of_one_list_succeed_once(applovin):
    list_id = applovin.create_id("DeleteRace")
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: applovin.delete(list_id).status_code, range(8)))
    assert statuses == [200] + [404] * 7


def test_open_auth_creates_an_empty_account_for_an_unknown_key(applovin, device_emulator, expect_error):
    device_emulator.set_options({"auth": "open"})
    newcomer = applovin.with_key("brand-new-key")
    assert newcomer.lists().json() == {"code": 200, "device_lists": [], "count": 0}
    list_id = newcomer.create_id("Mine")
    expect_error(newcomer.devices(applovin.default_list_id), 404, NOT_FOUND)
    accounts = {a["api_key"]: a for a in device_emulator.state("applovin")["accounts"]}
    assert [dl["device_list_id"] for dl in accounts["brand-new-key"]["device_lists"]] == [list_id]


@pytest.mark.parametrize("key_query", ["", "api_key="])
def test_open_auth_still_needs_a_key(applovin, device_emulator, expect_error, key_query):
    device_emulator.set_options({"auth": "open"})
    expect_error(applovin.call("list", query=key_query), 403,
                 "Authentication failed. Check the validity of the API Key.")
