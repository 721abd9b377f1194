"""Group commit under failure (issue: group commit and shared servers). One write's failure
never fails or decides another's; an answer says exactly what happened to that request's write;
the database file is one server's, and its loss is noticed."""
from __future__ import annotations

import os
import sys
import sqlite3
import subprocess
import threading
import time
from collections import Counter

import pytest
import requests

from tests.credentials import APPLOVIN_KEY, APPLOVIN_LIST, JPUSH_RID, jpush_auth
from tests.reliability.rel_helpers import state
from tests.support import ROOT, ServerProcess, run_cli

EXTRA_INSTANCE = "0e0e0e0e-1111-4222-8333-444455556666"
EXTRA_DOC = {"beams": {"instances": [{"instance_id": EXTRA_INSTANCE, "secret_key": "E" * 64, "devices": []}]}}


def _register(url: str, instance: str, n: int) -> requests.Response:
    return requests.post(f"{url}/device_api/v1/instances/{instance}/devices/fcm", timeout=30,
                         json={"token": f"fcm-token:race-{n}", "metadata": {"sdkVersion": "1"}})


@pytest.mark.slow
def test_reset_racing_writes_fails_nobody_else(tmp_path):
    """Merge a tenant, write to it, reset -- in a loop -- while other clients write to the default
    tenants. On main a stale write's deferred foreign-key violation failed the whole batch at
    COMMIT: 500s for unrelated writes and for the reset itself. Now: 0 × 5xx, every stale write
    gets the vendor's 4xx, the resets all 200."""
    statuses: Counter[tuple[str, int]] = Counter()
    stop = threading.Event()
    lock = threading.Lock()

    def note(kind: str, r: requests.Response) -> None:
        with lock:
            statuses[(kind, r.status_code)] += 1

    with ServerProcess("--db", str(tmp_path / "race.db")) as srv:
        url = srv.url

        def control() -> None:
            while not stop.is_set():
                note("merge", requests.post(f"{url}/_emulator/fixtures", json=EXTRA_DOC, timeout=30))
                note("reset", requests.post(f"{url}/_emulator/reset", timeout=30))

        def stale(seed: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                note("extra-tenant write", _register(url, EXTRA_INSTANCE, seed * 100_000 + n))

        def default_jpush() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                note("jpush", requests.post(f"{url}/v3/devices/{JPUSH_RID}", headers=jpush_auth(), timeout=30,
                                            json={"tags": {"add": [f"t{n % 50}"]}}))

        def default_applovin() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                note("applovin", requests.post(f"{url}/devices/append", data=f"idfa-{n:032x}\n", timeout=30,
                                               params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST}))

        threads = [threading.Thread(target=f, args=a) for f, a in
                   [(control, ()), (control, ()), (stale, (1,)), (stale, (2,)), (stale, (3,)),
                    (default_jpush, ()), (default_applovin, ())]]
        for t in threads:
            t.start()
        time.sleep(5)
        stop.set()
        for t in threads:
            t.join()
        log = srv.stderr_text()
    print("\nreset race:", dict(sorted(statuses.items())))
    server_errors = {k: v for k, v in statuses.items() if k[1] >= 500}
    assert server_errors == {}, (server_errors, log[-2000:])
    assert {s for (kind, s) in statuses if kind in ("reset", "merge", "jpush", "applovin")} == {200}
    assert {s for (kind, s) in statuses if kind == "extra-tenant write"} <= {200, 404}
    assert statuses[("reset", 200)] > 10 and statuses[("extra-tenant write", 200)] > 0
    assert "Traceback" not in log


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs: a disk that fills up. Needs root (mount)."""
    if os.geteuid() != 0:
        pytest.skip("the disk-full test mounts a small tmpfs, which needs root (it runs as root in CI)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def _list_devices(url: str) -> set[str]:
    lists = state(url, "applovin")["accounts"][0]["device_lists"]
    return {d for lst in lists if lst["device_list_id"] == APPLOVIN_LIST for d in lst["devices"]}


@pytest.mark.slow
def test_disk_full_answers_match_state(small_disk):
    """When the disk fills up, every answer says what happened to its write: a 2xx write is in
    the state, a refused one (503) is not; health says why writes fail and recovers when space
    returns; the log names the real error. (Main answered every request of a batch 500 while the
    writes queued after the failing one were committed one by one.)"""
    answers: list[tuple[int, list[str]]] = []
    lock = threading.Lock()
    with ServerProcess("--db", str(small_disk / "full.db")) as srv:
        url = srv.url
        stop = threading.Event()

        def writer(prefix: str, size: int, filler: str, timeout: float) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                names = [f"{prefix}-{n}-{i:05d}-" + filler * 40 for i in range(size)]
                r = requests.post(f"{url}/devices/append", data="\n".join(names), timeout=timeout,
                                  params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST})
                with lock:
                    answers.append((r.status_code, names))

        threads = [threading.Thread(target=writer, args=(f"w{i}", 50, "x", 30)) for i in range(4)]
        # big enough to spill SQLite's page cache before COMMIT
        threads.append(threading.Thread(target=writer, args=("big", 17_000, "y", 60)))
        for t in threads:
            t.start()
        time.sleep(0.5)
        _fill(small_disk / "filler")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(1 for s, _ in answers if s >= 500) < 20:
            time.sleep(0.1)
        health_full = requests.get(f"{url}/_emulator/health", timeout=10)
        stop.set()
        for t in threads:
            t.join()
        os.remove(small_disk / "filler")
        # health recovers once space is back: within the few seconds it keeps reporting a failure
        recover_by = time.monotonic() + 15
        health_after = requests.get(f"{url}/_emulator/health", timeout=10)
        while health_after.status_code != 200 and time.monotonic() < recover_by:
            time.sleep(0.5)
            health_after = requests.get(f"{url}/_emulator/health", timeout=10)
        after = requests.post(f"{url}/devices/append", data="after-the-disk-was-freed", timeout=30,
                              params={"api_key": APPLOVIN_KEY, "device_list_id": APPLOVIN_LIST})
        stored = _list_devices(url)
        log = srv.stderr_text()
    statuses = Counter(s for s, _ in answers)
    disagree = [(s, names[0]) for s, names in answers
                if (s == 200) != all(n in stored for n in names) or (s != 200 and any(n in stored for n in names))]
    print(f"\ndisk full: {dict(statuses)}; answers vs state disagreements: {len(disagree)}")
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 1, "the disk never filled up"
    assert disagree == []
    assert health_full.status_code == 503
    assert health_full.json()["status"] == "error" and "full" in health_full.json()["error"]
    assert (health_after.status_code, health_after.json()["status"]) == (200, "ok"), health_after.text
    assert after.status_code == 200 and "after-the-disk-was-freed" in stored
    assert "database or disk is full" in log
    assert "no transaction is active" not in log and "Traceback" not in log


def test_second_server_on_one_database_refuses_to_start(tmp_path):
    """Two servers on one --db silently shared it (main); the second refuses with one line."""
    db = str(tmp_path / "one.db")
    with ServerProcess("--db", db) as first:
        done = run_cli("serve", "--port", "0", "--db", db)
        assert done.returncode == 1
        assert done.stderr == f"device-api-emulator: database {db} is in use by another device-api-emulator process\n"
        assert first.get("/_emulator/health").status_code == 200
    with ServerProcess("--db", db) as again:  # the lock goes with the first process
        assert again.get("/_emulator/health").status_code == 200


def test_deleted_database_fails_health_and_refuses_writes(tmp_path):
    """A database deleted while running: main answered 200 to writes that were all lost at restart.
    Now health fails and writes answer 503: nothing is acknowledged that is not stored."""
    db = tmp_path / "gone.db"
    with ServerProcess("--db", str(db)) as srv:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{db}{suffix}"):
                os.remove(f"{db}{suffix}")
        r = srv.post(f"/v3/devices/{JPUSH_RID}", headers=jpush_auth(), json={"tags": {"add": ["lost"]}})
        assert r.status_code == 503
        assert r.json() == {"error": {"code": 7030, "message": "System busy, please try again later"}}
        health = srv.get("/_emulator/health")
        assert health.status_code == 503
        assert health.json()["status"] == "error"
        assert health.json()["error"] == f"database file {db} has vanished; writes are refused (restart the emulator)"
        log = srv.stderr_text()
    assert "has vanished" in log and "Traceback" not in log


def _sqlite_newer(db: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE core_schema_versions SET version = version + 5 WHERE component = 'jpush'")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("case", ["missing directory", "not a database", "newer schema", "port 99999",
                                  "port env abc", "journal -3", "read-only mount"])
def test_startup_errors_are_one_line(tmp_path, case):
    """Each start-up error is one line naming the cause and the file or variable; exit code 2 (bad
    configuration). On main these were tracebacks."""
    env: dict[str, str] = {}
    db = str(tmp_path / "e.db")
    args = ["serve", "--port", "0", "--db", db]
    if case == "missing directory":
        args[-1] = db = str(tmp_path / "nope" / "e.db")
        expected = f"cannot use database {db}: directory {tmp_path / 'nope'} does not exist"
    elif case == "not a database":
        with open(db, "wb") as fh:
            fh.write(os.urandom(4096))
        expected = f"cannot use database {db}: the file is not an SQLite database"
    elif case == "newer schema":
        with ServerProcess("--db", db):
            pass
        _sqlite_newer(db)
        expected = "newer than this emulator's"
    elif case == "port 99999":
        args[2] = "99999"
        expected = "port: expected 0 to 65535, got 99999"
    elif case == "port env abc":
        args = ["serve", "--db", db]
        env["DEVICE_EMULATOR_PORT"] = "abc"
        expected = "DEVICE_EMULATOR_PORT: expected an integer, got 'abc'"
    elif case == "journal -3":
        args += ["--journal-size", "-3"]
        expected = "journal size: expected 0 (off) or more, got -3"
    else:
        if os.geteuid() != 0:
            pytest.skip("mounting a read-only tmpfs needs root")
        ro = tmp_path / "ro"
        ro.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        args[-1] = db = str(ro / "e.db")
        expected = f"cannot use database {db}: Read-only file system"
    try:
        done = subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True,
                              timeout=30, env={**os.environ, **env}, cwd=ROOT)
    finally:
        if case == "read-only mount":
            subprocess.run(["umount", "-l", str(tmp_path / "ro")], check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("device-api-emulator: ") and expected in done.stderr, done.stderr
