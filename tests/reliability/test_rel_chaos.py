"""Vendor traffic racing the control plane: while clients write and read through every vendor,
other threads reset the state, replace and merge fixtures, switch options, move the clock, export
the state and add seeded fault rules (429/503 in the vendor's shape, latency). For a bounded time:
no 5xx except an injected 503, every error in its vendor's shape, no error logged by the server,
and afterwards the database passes ``PRAGMA integrity_check`` and the server still answers."""
from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time

import pytest
import requests

from tests.contract import contract_for, contracts
from tests.credentials import APPLOVIN_KEY, JPUSH_RID, jpush_auth
from tests.reliability.rel_helpers import VENDORS, ServerErrors, openapi, shape_problem
from tests.reliability.rel_routes import fault_problems, reset_problems

DURATION = 4.0
SEED = 7



def vendor_calls(url: str, n: int) -> list[tuple[str, str, str, dict]]:
    """Every registered vendor's chaos calls (its test contract's)."""
    return [(c.vendor, method, target, kw) for c in contracts() for method, target, kw in c.chaos_calls(url, n)]


def control_calls(url: str, rng: random.Random) -> tuple[str, str, dict]:
    choice = rng.randrange(8)
    if choice == 0:
        return "POST", f"{url}/_emulator/reset", {}
    if choice == 1:
        vendor = rng.choice(VENDORS)
        return "POST", f"{url}/_emulator/reset", {"params": {"vendor": vendor}}
    if choice == 2:
        return "GET", f"{url}/_emulator/state", {}
    if choice == 3:
        return "POST", f"{url}/_emulator/fixtures", {"json": {"applovin": {"accounts": [{"api_key": APPLOVIN_KEY}]}}}
    if choice == 4:
        return "PATCH", f"{url}/_emulator/options", {"json": {"jpush": {"success_body": rng.choice(["json", "empty"])}}}
    if choice == 5:
        return "POST", f"{url}/_emulator/clock", {"json": {"advance": rng.randrange(1, 120)}}
    if choice == 6:
        vendor = rng.choice(VENDORS)
        rule = rng.choice([{"status": 429}, {"status": 503}, {"latency_ms": 20}])
        return "POST", f"{url}/_emulator/faults", {"json": {"vendor": vendor, "times": 3, "probability": 0.5, **rule}}
    return "DELETE", f"{url}/_emulator/faults", {}


@pytest.mark.slow
def test_vendor_traffic_racing_the_control_plane(device_emulator):
    url = device_emulator.url
    doc = openapi(url)
    requests.post(f"{url}/_emulator/faults/seed", json={"seed": SEED}, timeout=10).raise_for_status()
    handler = ServerErrors()
    logging.getLogger().addHandler(handler)
    stop = time.monotonic() + DURATION
    problems: list[str] = []
    counts = {"vendor": 0, "control": 0, "injected": 0}
    lock = threading.Lock()

    def vendor_client(cid: int) -> None:
        n = cid * 100_000
        with requests.Session() as s:
            while time.monotonic() < stop:
                for vendor, method, target, kw in vendor_calls(url, n):
                    r = s.request(method, target, timeout=30, **kw)
                    with lock:
                        counts["vendor"] += 1
                        if r.status_code == 503 or r.status_code == 429:
                            counts["injected"] += 1
                    if r.status_code >= 400:
                        # an injected 503 is expected: check its shape as if it were a 4xx
                        status = 400 if r.status_code == 503 else r.status_code
                        problem = shape_problem(doc, vendor, status, r.content, r.headers)
                        if problem and len(problems) < 20:
                            problems.append(f"{method} {target[:80]} -> {r.status_code}: {problem}")
                    n += 1

    def control_client(cid: int) -> None:
        rng = random.Random(SEED + cid)
        with requests.Session() as s:
            while time.monotonic() < stop:
                method, target, kw = control_calls(url, rng)
                r = s.request(method, target, timeout=30, **kw)
                with lock:
                    counts["control"] += 1
                if r.status_code not in (200, 201) and len(problems) < 20:
                    problems.append(f"control {method} {target} -> {r.status_code} {r.text[:200]}")
                time.sleep(0.02)

    threads = [threading.Thread(target=vendor_client, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=control_client, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(DURATION + 60)
            assert not t.is_alive()
    finally:
        logging.getLogger().removeHandler(handler)
    requests.delete(f"{url}/_emulator/faults", timeout=10)
    assert problems == [], "\n".join(problems)
    assert handler.records == [], "\n".join(handler.records[:10])
    r = requests.get(f"{url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=10)
    assert r.status_code == 200
    db = device_emulator.health()["db"]
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    print(f"\n[reliability] chaos: {counts['vendor']} vendor requests ({counts['injected']} injected 429/503) "
          f"raced {counts['control']} control-plane calls for {DURATION:.0f} s; 0 unexpected 5xx, 0 shape errors")



@pytest.mark.parametrize("vendor", VENDORS)
def test_injected_faults_answer_in_the_vendors_shape(vendor, device_emulator):
    problems = fault_problems(device_emulator.url, openapi(device_emulator.url), contract_for(vendor))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("vendor", VENDORS)
def test_reset_of_one_vendor_restores_it_and_only_it(vendor, device_emulator):
    problems = reset_problems(device_emulator.url, contract_for(vendor))
    assert problems == [], "\n".join(problems)
