"""Crash safety of the real product process (``python -m emulator serve``).

Several clients write concurrently through real vendor routes (AppLovin create + append,
Beams device registration, JPush tag additions); the process is SIGKILLed at a seeded random
moment, several rounds in a row on the same ``--db``. After every kill the file passes
``PRAGMA integrity_check`` and, after the restart, every write a client saw acknowledged (2xx)
is in ``GET /_emulator/state``. The same holds for SIGTERM under load, which must exit 0.
"""
from __future__ import annotations

import random
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from collections.abc import Callable

import pytest
import requests

from tests.credentials import APPLOVIN_KEY, BEAMS_INSTANCE, JPUSH_KEY, JPUSH_RID, JPUSH_SECRET, jpush_auth
from tests.reliability.rel_helpers import beams_fcm_token, state
from tests.support import ServerProcess

pytestmark = pytest.mark.slow  # real processes killed under load, in loops

SEED = 20261123
TIMEOUT = 5  # client read timeout; bounds the wait of finding F3
KILL_ROUNDS = 4
CLIENTS_PER_VENDOR = 2
JPUSH_DEVICES_PER_CLIENT = 20
TAGS_PER_DEVICE = 150  # well under JPush's 1000 tags per device


@dataclass
class Ledger:
    """Everything a client saw acknowledged, plus every answer that was not a 2xx."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    applovin_lists: dict[str, str] = field(default_factory=dict)  # id -> name
    applovin_devices: set[tuple[str, str]] = field(default_factory=set)  # (list id, device)
    beams_devices: set[str] = field(default_factory=set)
    jpush_tags: set[tuple[str, str]] = field(default_factory=set)  # (rid, tag)
    refused: list[str] = field(default_factory=list)
    attempts: int = 0
    connection_errors: int = 0

    def count(self) -> int:
        return (len(self.applovin_lists) + len(self.applovin_devices) + len(self.beams_devices)
                + len(self.jpush_tags))


def jpush_rid(cid: int, k: int) -> str:
    return f"relcrash{cid}d{k:03d}"


def jpush_fixture() -> dict:
    devices = [{"registration_id": jpush_rid(cid, k), "platform": "android", "tags": []}
               for cid in range(CLIENTS_PER_VENDOR) for k in range(JPUSH_DEVICES_PER_CLIENT)]
    return {"jpush": {"apps": [{"app_key": JPUSH_KEY, "master_secret": JPUSH_SECRET,
                                "devices": devices}]}}


class Load:
    """Client threads writing until told to stop or until the server goes away."""

    def __init__(self, url: str, ledger: Ledger, round_no: int, counters: dict[tuple[str, int], int]) -> None:
        self.url = url
        self.ledger = ledger
        self.round_no = round_no
        self.counters = counters
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for cid in range(CLIENTS_PER_VENDOR):
            for fn in (self.applovin, self.beams, self.jpush):
                t = threading.Thread(target=self._run, args=(fn, cid), daemon=True)
                t.start()
                self.threads.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
            assert not t.is_alive(), "a client thread hung"

    def _run(self, fn: Callable[[requests.Session, int], None], cid: int) -> None:
        with requests.Session() as session:
            try:
                fn(session, cid)
            except requests.RequestException:
                with self.ledger.lock:
                    self.ledger.connection_errors += 1

    def _send(self, session: requests.Session, method: str, path: str, **kw) -> requests.Response | None:
        with self.ledger.lock:
            self.ledger.attempts += 1
        r = session.request(method, self.url + path, timeout=TIMEOUT, **kw)
        if not 200 <= r.status_code < 300:
            with self.ledger.lock:
                self.ledger.refused.append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
            return None
        return r

    def _next(self, vendor: str, cid: int) -> int:
        n = self.counters.get((vendor, cid), 0)
        self.counters[(vendor, cid)] = n + 1
        return n

    def applovin(self, session: requests.Session, cid: int) -> None:
        current: str | None = None
        while not self.stop.is_set():
            n = self._next("applovin", cid)
            if current is None or n % 8 == 0:
                name = f"crash c{cid} n{n}"
                r = self._send(session, "GET", "/devices/create",
                               params={"api_key": APPLOVIN_KEY, "name": name, "description": f"round {self.round_no}"})
                if r is not None:
                    current = r.json()["device_list_id"]
                    with self.ledger.lock:
                        self.ledger.applovin_lists[current] = name
            else:
                device = f"MODEL-{cid}-{n}"
                r = self._send(session, "POST", "/devices/append",
                               params={"api_key": APPLOVIN_KEY, "device_list_id": current},
                               data=f"{device}\n".encode())
                if r is not None:
                    assert r.json()["processed_devices"] == 1, r.text
                    with self.ledger.lock:
                        self.ledger.applovin_devices.add((current, device))

    def beams(self, session: requests.Session, cid: int) -> None:
        while not self.stop.is_set():
            n = self._next("beams", cid)
            r = self._send(session, "POST", f"/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm",
                           json={"token": beams_fcm_token(f"crash-{cid}-{n}"), "metadata": {"sdkVersion": "1.9.2"}})
            if r is not None:
                with self.ledger.lock:
                    self.ledger.beams_devices.add(r.json()["id"])

    def jpush(self, session: requests.Session, cid: int) -> None:
        auth = jpush_auth()
        while not self.stop.is_set():
            n = self._next("jpush", cid)
            rid, tag = jpush_rid(cid, n // TAGS_PER_DEVICE), f"crash_{cid}_{n}"
            r = self._send(session, "POST", f"/v3/devices/{rid}", json={"tags": {"add": [tag]}}, headers=auth)
            if r is not None:
                with self.ledger.lock:
                    self.ledger.jpush_tags.add((rid, tag))


def integrity(db) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def missing(url: str, ledger: Ledger) -> list[str]:
    """Acknowledged writes absent from the state (an empty list when nothing was lost)."""
    doc = state(url)
    lost: list[str] = []
    account = next(a for a in doc["applovin"]["accounts"] if a["api_key"] == APPLOVIN_KEY)
    lists = {lst["device_list_id"]: lst for lst in account["device_lists"]}
    for list_id, name in ledger.applovin_lists.items():
        if list_id not in lists or lists[list_id]["name"] != name:
            lost.append(f"applovin list {list_id} {name!r}")
    for list_id, device in ledger.applovin_devices:
        if device not in lists.get(list_id, {}).get("devices", []):
            lost.append(f"applovin device {device} in {list_id}")
    instance = next(i for i in doc["beams"]["instances"] if i["instance_id"] == BEAMS_INSTANCE)
    stored_beams = {d["id"] for d in instance["devices"]}
    lost += [f"beams device {d}" for d in ledger.beams_devices - stored_beams]
    app = next(a for a in doc["jpush"]["apps"] if a["app_key"] == JPUSH_KEY)
    tags = {(d["registration_id"], t) for d in app["devices"] for t in d.get("tags", [])}
    lost += [f"jpush tag {t} on {rid}" for rid, t in ledger.jpush_tags - tags]
    return lost


def run_round(db, ledger: Ledger, round_no: int, counters: dict, sig: int, delay: float) -> int:
    """One server life: load, signal after ``delay`` seconds, wait for the exit; the exit code."""
    server = ServerProcess("--db", str(db))
    try:
        if round_no == 0:
            r = requests.post(server.url + "/_emulator/fixtures", json=jpush_fixture(), timeout=30)
            assert r.status_code == 200, r.text
        else:  # everything acknowledged before the previous kill is still there
            assert missing(server.url, ledger) == []
        load = Load(server.url, ledger, round_no, counters)
        before = ledger.count()
        load.start()
        deadline = time.monotonic() + 20  # a slow machine: let every vendor see some acknowledged writes first
        while time.monotonic() < deadline and ledger.count() < before + 12:
            time.sleep(0.01)
        time.sleep(delay)
        server.proc.send_signal(sig)
        rc = server.proc.wait(30)
        load.join()
        assert ledger.count() > before, "no write was acknowledged in this round"
        if sig == signal.SIGTERM:
            log = server.stderr_text()  # a client cut off by the shutdown is not an error (finding F1)
            assert "Traceback" not in log and "ERROR" not in log, log[-1500:]
        return rc
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)
        server.close_pipes()


def test_sigkill_under_concurrent_writes_loses_no_acknowledged_write(tmp_path):
    db = tmp_path / "crash.db"
    rng = random.Random(SEED)
    ledger = Ledger()
    counters: dict = {}
    for round_no in range(KILL_ROUNDS):
        rc = run_round(db, ledger, round_no, counters, signal.SIGKILL, 0.2 + rng.random() * 0.8)
        assert rc == -signal.SIGKILL
        assert integrity(db) == "ok"
    with ServerProcess("--db", str(db)) as server:
        lost = missing(server.url, ledger)
        assert server.terminate() == 0
    assert lost == [], f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
    assert ledger.refused == [], ledger.refused[:5]
    print(f"\n[reliability] SIGKILL: {KILL_ROUNDS} kills, {ledger.attempts} writes sent, "
          f"{ledger.count()} acknowledged and checked (applovin lists {len(ledger.applovin_lists)}, "
          f"applovin devices {len(ledger.applovin_devices)}, beams devices {len(ledger.beams_devices)}, "
          f"jpush tags {len(ledger.jpush_tags)}), lost 0")


def test_sigterm_under_concurrent_writes_exits_0_and_loses_nothing(tmp_path):
    db = tmp_path / "term.db"
    ledger = Ledger()
    counters: dict = {}
    rng = random.Random(SEED + 1)
    for round_no in range(2):
        rc = run_round(db, ledger, round_no, counters, signal.SIGTERM, 0.2 + rng.random() * 0.6)
        assert rc == 0
        assert integrity(db) == "ok"
        assert not (tmp_path / "term.db-wal").exists() or (tmp_path / "term.db-wal").stat().st_size == 0
    with ServerProcess("--db", str(db)) as server:
        lost = missing(server.url, ledger)
        assert server.terminate() == 0
    assert lost == [], f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
    assert ledger.refused == [], ledger.refused[:5]
    print(f"\n[reliability] SIGTERM: 2 shutdowns under load, {ledger.attempts} writes sent, "
          f"{ledger.count()} acknowledged and checked, lost 0")


# -- PUT /_emulator/state is all or nothing, even under SIGKILL ------------------------------------

def replacement(tag: str, lists: int = 40, devices: int = 250) -> dict:
    """A whole-state document: one AppLovin account with lists*devices devices, ids tagged."""
    digit = {"a": "a", "b": "b"}[tag]
    return {"applovin": {"accounts": [{"api_key": APPLOVIN_KEY, "device_lists": [
        {"device_list_id": f"{digit * 24}{i:08x}", "name": f"Replace {tag} {i}", "description": tag,
         "devices": [f"M{tag}-{i}-{k}" for k in range(devices)]} for i in range(lists)]}]}}


def fingerprint(applovin: dict) -> dict:
    return {lst["device_list_id"]: (lst["name"], tuple(lst["devices"]))
            for acc in applovin["accounts"] for lst in acc["device_lists"]}


def test_sigkill_during_whole_state_replacement_leaves_one_whole_state(tmp_path):
    db = tmp_path / "replace.db"
    docs = {tag: replacement(tag) for tag in "ab"}
    expected = {tag: fingerprint(doc["applovin"]) for tag, doc in docs.items()}
    rng = random.Random(SEED + 2)
    replaced = 0
    for round_no in range(3):
        server = ServerProcess("--db", str(db))
        stop = threading.Event()
        acked: list[str] = []

        def client() -> None:
            with requests.Session() as s:
                i = 0
                while not stop.is_set():
                    tag = "ab"[i % 2]
                    try:
                        r = s.put(server.url + "/_emulator/state", json=docs[tag], timeout=30)
                    except requests.RequestException:
                        return
                    assert r.status_code == 200, r.text
                    acked.append(tag)
                    i += 1

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while len(acked) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.5)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        stop.set()
        thread.join(30)
        server.close_pipes()
        assert acked, "no replacement was acknowledged"
        replaced += len(acked)
        assert integrity(db) == "ok"
        with ServerProcess("--db", str(db)) as check:
            got = fingerprint(state(check.url, "applovin"))
            assert check.terminate() == 0
        last = acked[-1]
        in_flight = "ab"[len(acked) % 2]
        assert got in (expected[last], expected[in_flight]), f"round {round_no}: a mixed or older state"
    print(f"\n[reliability] SIGKILL during PUT /_emulator/state: 3 kills, {replaced} replacements "
          f"of 10,000 devices acknowledged, every restart found one whole document")


# -- a request whose body straddles SIGTERM -----------------------------------------------------------

# Finding F3 (fixed in 2deefaa), was: on SIGTERM aiohttp's RequestHandler.shutdown() sets _force_close, after
#   which data_received() drops incoming bytes; a request whose body is still arriving is never answered and
#   holds the exit until the client gives up or the runner's 60 s shutdown_timeout


def test_sigterm_with_a_request_body_in_flight_exits_promptly(tmp_path):
    server = ServerProcess("--db", str(tmp_path / "t.db"))
    host, port = server.url.rsplit("/", 1)[1].split(":")
    body = b'{"tags":{"add":["during_shutdown"]}}'
    conn = socket.create_connection((host, int(port)), timeout=10)
    try:
        conn.sendall(f"POST /v3/devices/{JPUSH_RID} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                     f"{jpush_auth()['Authorization']}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        time.sleep(0.3)  # the handler is reading the body
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        conn.sendall(body[10:])  # the rest arrives during the shutdown
        try:
            server.proc.wait(8)  # "in-flight requests finish": answered (or refused) and gone promptly
        except subprocess.TimeoutExpired:
            pytest.fail("the process was still waiting for the in-flight request 8 s after SIGTERM")
        assert server.proc.returncode == 0
    finally:
        conn.close()
        if server.proc.poll() is None:
            server.proc.wait(90)
        server.close_pipes()


def test_an_acknowledged_reset_survives_sigkill(tmp_path):
    """Writes, then POST /_emulator/reset (200), then SIGKILL: after the restart the writes stay
    gone and the start-up fixtures are back (no write resurrected from the WAL)."""
    db = tmp_path / "reset.db"
    server = ServerProcess("--db", str(db))
    try:
        created = server.get("/devices/create", params={"api_key": APPLOVIN_KEY, "name": "Gone After Reset"})
        assert created.status_code == 200
        r = server.post(f"/v3/devices/{JPUSH_RID}", json={"tags": {"add": ["gone_after_reset"]}}, headers=jpush_auth())
        assert r.status_code == 200
        assert server.post("/_emulator/reset").status_code == 200
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
    finally:
        server.close_pipes()
    assert integrity(db) == "ok"
    with ServerProcess("--db", str(db)) as again:
        lists = again.get("/devices/list", params={"api_key": APPLOVIN_KEY}).json()["device_lists"]
        tags = again.get(f"/v3/devices/{JPUSH_RID}", headers=jpush_auth()).json()["tags"]
        assert again.terminate() == 0
    assert [x["name"] for x in lists] == ["List Test"] and tags == []
