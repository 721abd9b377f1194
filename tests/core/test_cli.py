"""The real CLI process: ready line, env vars, start-up failures, signals, durability."""
from __future__ import annotations

import concurrent.futures
import json
import random
import re
import signal
import sqlite3
import threading
import time

import pytest
import requests

from emulator.vendors import REGISTRY
from tests.credentials import APPLOVIN_KEY
from tests.support import ServerProcess, run_cli

VENDORS = [cls.name for cls in REGISTRY]
READY_LINE = re.compile(r"^device-api-emulator ready on http://127\.0\.0\.1:(\d+) \(db (.+), %d vendors\)$" % len(VENDORS))


def test_ready_line_names_the_free_port_and_db(tmp_path):
    db = tmp_path / "e.db"
    with ServerProcess("--db", str(db)) as server:
        match = READY_LINE.match(server.ready_line)
        assert match, server.ready_line
        assert int(match.group(1)) > 0 and match.group(2) == str(db)
        health = server.get("/_emulator/health").json()
        assert health["vendors"] == VENDORS
        assert health["db"] == str(db)
    assert db.exists()


def test_env_vars_configure_the_server(tmp_path):
    db = tmp_path / "env.db"
    env = {"DEVICE_EMULATOR_DB": str(db), "DEVICE_EMULATOR_AUTH": "open", "DEVICE_EMULATOR_JOURNAL_SIZE": "3"}
    with ServerProcess(env=env) as server:
        health = server.get("/_emulator/health").json()
        assert health["db"] == str(db) and health["auth"] == "open"
        for i in range(5):
            server.get(f"/v3/nothing-{i}")
        assert len(server.get("/_emulator/requests").json()["requests"]) == 3


def test_flags_override_env_vars(tmp_path):
    with ServerProcess("--db", ":memory:", "--auth", "strict", env={"DEVICE_EMULATOR_AUTH": "open",
                                                                    "DEVICE_EMULATOR_DB": str(tmp_path / "x.db")}) as server:
        health = server.get("/_emulator/health").json()
        assert health["db"] == ":memory:" and health["auth"] == "strict"
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("content,problem", [
    ('{"jpush": []}', "$.jpush: expected an object, got an array"),
    ('{"nobody": {}}', f"$.nobody: unknown vendor (expected one of {', '.join(VENDORS)})"),
    ('{"jpush": {', "$: invalid JSON at line 1 column 12: Expecting property name enclosed in double quotes"),
])
def test_invalid_fixture_exits_2_naming_the_json_path_and_loads_nothing(tmp_path, content, problem):
    fixture = tmp_path / "bad.json"
    fixture.write_text(content)
    db = tmp_path / "never.db"
    result = run_cli("serve", "--port", "0", "--db", str(db), "--fixtures", str(fixture))
    assert result.returncode == 2
    assert result.stderr.strip() == f"device-api-emulator: invalid fixture {fixture}: {problem}"
    assert "ready on" not in result.stdout
    assert not db.exists()


def test_a_fixture_refused_while_loading_names_its_file_and_leaves_the_database_new(tmp_path):
    """Cross-references are checked by loading (a Capgo channel naming a missing version):
    the start fails, and the next start with good fixtures still loads them."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"capgo": {"apps": [{"app_id": "com.example.bad", "versions": ["1.0.0"],
                                                   "channels": [{"name": "beta", "public": False,
                                                                 "version": "9.9.9"}]}]}}))
    db = tmp_path / "d.db"
    result = run_cli("serve", "--port", "0", "--db", str(db), "--fixtures", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"device-api-emulator: invalid fixture {bad}: $.capgo.apps[0].channels[0]")
    with ServerProcess("--db", str(db)) as server:  # default fixtures, same database
        assert server.get("/devices/list", params={"api_key": APPLOVIN_KEY}).json()["count"] >= 1


def test_missing_fixture_file_exits_2(tmp_path):
    result = run_cli("serve", "--port", "0", "--db", str(tmp_path / "d.db"), "--fixtures", str(tmp_path / "none.json"))
    assert result.returncode == 2
    assert f"invalid fixture {tmp_path / 'none.json'}: $: cannot read" in result.stderr


@pytest.mark.parametrize("flag,message", [
    (["--profile", "capgo"], "profile 'capgo': expected VENDOR=PROFILE, e.g. capgo=live"),
    (["--option", "jpush=1"], "option 'jpush=1': expected VENDOR.NAME=VALUE, e.g. jpush.rate_limit=on"),
    (["--option", "nobody.x=1"], "nobody: unknown vendor or option"),
])
def test_bad_profile_or_option_exits_2(tmp_path, flag, message):
    result = run_cli("serve", "--port", "0", "--db", str(tmp_path / "d.db"), *flag)
    assert result.returncode == 2
    assert result.stderr.strip() == f"device-api-emulator: {message}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_down_cleanly(tmp_path, sig):
    server = ServerProcess("--db", str(tmp_path / "s.db"))
    assert server.get("/_emulator/health").status_code == 200
    assert server.terminate(sig) == 0
    assert "Traceback" not in server.stderr_text()
    con = sqlite3.connect(tmp_path / "s.db")
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_port_in_use_exits_1(tmp_path):
    with ServerProcess("--db", ":memory:") as first:
        port = first.url.rsplit(":", 1)[1]
        result = run_cli("serve", "--port", port, "--db", ":memory:")
        assert result.returncode == 1
        assert "device-api-emulator: cannot serve:" in result.stderr


# -- durability, on the core alone (toy vendor in a real process) --------------------------

def _toy(db, *extra):
    return ServerProcess("--db", str(db), *extra, module="tests.core.toy_main")


def test_state_survives_a_restart_and_startup_fixtures_load_only_when_new(tmp_path):
    db = tmp_path / "toy.db"
    fixture = tmp_path / "f.json"
    fixture.write_text(json.dumps({"toy": {"items": [{"name": "seed", "value": 1}]}}))
    with _toy(db, "--fixtures", str(fixture)) as server:
        assert server.post("/toy/items", json={"name": "seed", "add": 41}).json()["value"] == 42
        assert server.post("/toy/items", json={"name": "kept"}).status_code == 201
    with _toy(db, "--fixtures", str(fixture)) as server:  # same db: fixtures not re-applied
        assert server.get("/toy/items/seed").json()["value"] == 42
        assert server.get("/toy/items/kept").json()["value"] == 1
        server.post("/_emulator/reset")  # reset does re-apply them
        assert server.get("/toy/items/seed").json()["value"] == 1
        assert server.get("/toy/items/kept").status_code == 404


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_write(tmp_path):
    """Several rounds: clients write concurrently, the process is SIGKILLed at a random
    moment, and after restart every acknowledged write is there and the file is sound."""
    db = tmp_path / "crash.db"
    rng = random.Random(1234)
    acknowledged: set[str] = set()
    for round_no in range(3):
        server = _toy(db)
        stop = threading.Event()
        lock = threading.Lock()

        def client(cid: int) -> None:
            session = requests.Session()
            n = 0
            while not stop.is_set():
                name = f"r{round_no}-c{cid}-{n}"
                try:
                    r = session.post(server.url + "/toy/items", json={"name": name}, timeout=5)
                except requests.RequestException:
                    return
                if r.status_code == 201:
                    with lock:
                        acknowledged.add(name)
                n += 1

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(client, i) for i in range(6)]
            time.sleep(0.3 + rng.random() * 0.5)
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(10)
            stop.set()
            for f in futures:
                f.result()
        server.close_pipes()
        assert len(acknowledged) > round_no * 10
        con = sqlite3.connect(db)
        stored = {r[0] for r in con.execute("SELECT name FROM toy_items")}
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        con.close()
        assert acknowledged - stored == set()


# -- the same guarantees on the real product, through a vendor route -----------------------



def _applovin_lists(server) -> list[str]:
    r = server.get("/devices/list", params={"api_key": APPLOVIN_KEY})
    assert r.status_code == 200, r.text
    return sorted(item["name"] for item in r.json()["device_lists"])


def test_product_state_survives_restart_and_reset_restores_default_fixtures(tmp_path):
    db = tmp_path / "product.db"
    with ServerProcess("--db", str(db)) as server:
        defaults = _applovin_lists(server)
        r = server.post("/devices/create", params={"api_key": APPLOVIN_KEY, "name": "Restart Proof"})
        assert r.status_code == 200
    with ServerProcess("--db", str(db)) as server:
        assert _applovin_lists(server) == sorted(defaults + ["Restart Proof"])
        assert server.post("/_emulator/reset").status_code == 200
        assert _applovin_lists(server) == defaults
