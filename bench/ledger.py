"""The delivery ledger at scale: ``python -m bench.ledger`` (or the ``audience`` phase of
``python -m bench``).

Two parts:

- **core** (in-process, no vendor): :func:`emulator.deliveries.record` of a 100,000-device
  audience into an empty ledger and into a full one (the bound then drops 100,000 old rows in
  the same transaction), on a file database with WAL and ``synchronous=FULL`` as the server
  runs it; then the lookups the control plane makes (explain's point lookup, a device's
  timeline, a publish's page) and the database size after several such publishes, which the
  bound keeps flat.
- **audience** (a real server): a Beams publish to an interest and a JPush push to a tag, each
  reaching 100,000 devices loaded as a start-up fixture; the wall time of the HTTP request
  (resolution, ledger rows and commit included), checked by reading the ledger back; and
  ``GET /_emulator/deliveries/explain`` over HTTP. A vendor whose publish does not answer 2xx
  or records no delivery is reported *unavailable*.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from . import fixtures

AUDIENCE = 100_000
INTEREST = "bench-all"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _lookup_stats(times: list[float]) -> dict[str, Any]:
    ordered = sorted(times)
    return {"n": len(ordered), "median_ms": _ms(statistics.median(ordered)),
            "p99_ms": _ms(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])}


# -- core: record() and the lookups, in-process ---------------------------------------------------------

def measure_core(directory: str, n: int = AUDIENCE, publishes: int = 5, lookups: int = 1000) -> dict[str, Any]:
    from emulator import deliveries
    from emulator.storage import Component, Store

    db = os.path.join(directory, "ledger-core.db")
    store = Store(db)
    store.open([Component("core", deliveries.MIGRATIONS)])
    store.write_now(deliveries.configure, n)
    payloads = {"apns": {"aps": {"alert": {"title": "Hello", "body": "bench"}}},
                "fcm": {"notification": {"title": "Hello", "body": "bench"}}}
    devices = [f"device-{i:07d}" for i in range(n)]

    def audience(k: int) -> list[deliveries.Delivery]:
        out = []
        for i, device in enumerate(devices):
            platform = "apns" if i % 2 else "fcm"
            out.append(deliveries.Delivery(device, platform, "delivered", f"subscribed to {INTEREST}",
                                           {"interest": INTEREST}, payloads[platform]))
        return out

    out: dict[str, Any] = {"audience": n, "bound": n, "record_s": [], "db_bytes": []}
    try:
        for k in range(publishes):
            batch = audience(k)  # building the Delivery objects is the vendor's resolution, not timed
            t0 = time.perf_counter()
            store.write_now(lambda conn, k=k: deliveries.record(
                conn, vendor="bench", tenant="t", publish_id=f"pub-{k}", deliveries=batch,
                now="2026-01-01T00:00:00.000Z"))
            out["record_s"].append(round(time.perf_counter() - t0, 3))
            out["db_bytes"].append(sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p)))
        last = f"pub-{publishes - 1}"
        rng = random.Random(7)
        finds, timelines, pages = [], [], []
        for _ in range(lookups):
            device = rng.choice(devices)
            t0 = time.perf_counter()
            store.read(deliveries.find, "bench", "t", last, device)
            t1 = time.perf_counter()
            store.read(lambda conn, d=device: deliveries.query(conn, device_id=d, limit=100))
            t2 = time.perf_counter()
            store.read(lambda conn: deliveries.query(conn, vendor="bench", publish_id=last, limit=100))
            t3 = time.perf_counter()
            finds.append(t1 - t0)
            timelines.append(t2 - t1)
            pages.append(t3 - t2)
        out["rows_kept"] = store.read(lambda conn: conn.execute("SELECT count(*) FROM core_deliveries").fetchone()[0])
        out["explain_find"] = _lookup_stats(finds)
        out["device_timeline"] = _lookup_stats(timelines)
        out["publish_page"] = _lookup_stats(pages)
        t0 = time.perf_counter()
        store.write_now(deliveries.clear)
        out["clear_s"] = round(time.perf_counter() - t0, 3)
    finally:
        store.close()
        for p in (db, db + "-wal", db + "-shm"):
            if os.path.exists(p):
                os.unlink(p)
    return out


# -- audience: a real server ------------------------------------------------------------------------------

def write_audience_document(path: Path, n: int = AUDIENCE) -> dict[str, Any]:
    """The default tenants plus ``n`` Beams devices subscribed to ``bench-all`` and ``n`` JPush
    devices tagged ``bench-all``."""
    doc = fixtures.default_document()
    inst = doc["beams"]["instances"][0]
    inst.setdefault("devices", []).extend(
        {"id": f"bench-{i:07d}", "platform": "apns" if i % 2 else "fcm",
         "token": f"{i:064x}" if i % 2 else f"fcm-token-{i}", "interests": [INTEREST]} for i in range(n))
    app = doc["jpush"]["apps"][0]
    app.setdefault("devices", []).extend(
        {"registration_id": fixtures.jpush_rid(i), "platform": "ios" if i % 2 else "android", "tags": [INTEREST]}
        for i in range(n))
    path.write_text(json.dumps(doc, separators=(",", ":")))
    return doc


def _publishes(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, str], bytes, str]]:
    """vendor -> (method, path, headers, body, JSON key of the publish id in the answer)."""
    inst = doc["beams"]["instances"][0]
    app = doc["jpush"]["apps"][0]
    jpush_auth = base64.b64encode(f"{app['app_key']}:{app['master_secret']}".encode()).decode()
    return {
        "beams": ("POST", f"/publish_api/v1/instances/{inst['instance_id']}/publishes/interests",
                  {"Authorization": f"Bearer {inst['secret_key']}", "Content-Type": "application/json"},
                  json.dumps({"interests": [INTEREST],
                              "apns": {"aps": {"alert": {"title": "Hello", "body": "bench"}}},
                              "fcm": {"notification": {"title": "Hello", "body": "bench"}}}).encode(),
                  "publishId"),
        "jpush": ("POST", "/v3/push",
                  {"Authorization": f"Basic {jpush_auth}", "Content-Type": "application/json"},
                  json.dumps({"platform": "all", "audience": {"tag": [INTEREST]},
                              "notification": {"alert": "bench"}}).encode(),
                  "msg_id"),
    }


def measure_audience(directory: str, start_emulator, n: int = AUDIENCE, repeats: int = 5,
                     lookups: int = 200) -> dict[str, Any]:
    """``start_emulator(fixtures_file, db)`` returns a started server with ``.url`` and ``.stop()``."""
    from .scenarios import http_request

    doc_path = Path(directory) / "audience.json"
    db = os.path.join(directory, "audience.db")
    doc = write_audience_document(doc_path, n)
    out: dict[str, Any] = {"audience": n}
    server = start_emulator(str(doc_path), db)
    try:
        out["ready_s"] = round(server.ready_s or 0, 2)
        for vendor, (method, path, headers, body, key) in _publishes(doc).items():
            entry: dict[str, Any] = {"publish_s": []}
            out[vendor] = entry
            publish_id = None
            for _ in range(repeats):
                t0 = time.perf_counter()
                status, answer = http_request(server.url, method, path, headers, body, timeout=120)
                elapsed = time.perf_counter() - t0
                if not 200 <= status < 300:
                    entry.update(status="unavailable", reason=f"publish -> {status} {answer[:200]!r}")
                    break
                entry["publish_s"].append(round(elapsed, 3))
                publish_id = str(json.loads(answer)[key])
            if publish_id is None:
                continue
            query = urlencode({"vendor": vendor, "publish_id": publish_id, "limit": 10000})
            status, answer = http_request(server.url, "GET", f"/_emulator/deliveries?{query}")
            rows = json.loads(answer).get("deliveries", []) if status == 200 else []
            if not rows:
                entry.update(status="unavailable", reason=f"the publish recorded no delivery ({status})")
                continue
            entry.update(status="ok", publish_id=publish_id, rows_page=len(rows),
                         tenant=rows[0]["tenant"], publish_median_s=statistics.median(entry["publish_s"]))
            device_ids = [rows[i]["device_id"] for i in range(0, len(rows), max(1, len(rows) // 50))]
            times = []
            for i in range(lookups):
                q = urlencode({"vendor": vendor, "publish_id": publish_id, "device_id": device_ids[i % len(device_ids)]})
                t0 = time.perf_counter()
                status, _ = http_request(server.url, "GET", f"/_emulator/deliveries/explain?{q}")
                times.append(time.perf_counter() - t0)
                if status != 200:
                    entry["explain_non200"] = entry.get("explain_non200", 0) + 1
            entry["explain_http"] = _lookup_stats(times)
        status, answer = http_request(server.url, "GET", "/_emulator/deliveries?limit=1")
        out["db_bytes"] = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
    finally:
        server.stop()
        for p in (doc_path, Path(db), Path(db + "-wal"), Path(db + "-shm")):
            if p.exists():
                p.unlink()
    return out


def table(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    core = results.get("core") or {}
    if "record_s" in core:
        rec = core["record_s"]
        rows.append([f"ledger record() of a {core['audience']:,}-device audience, empty ledger",
                     f"{rec[0] * 1000:.0f} ms"])
        if len(rec) > 1:
            rows.append([f"... into a full ledger (bound {core['bound']:,}: drops as many rows), median of "
                         f"{len(rec) - 1}", f"{statistics.median(rec[1:]) * 1000:.0f} ms"])
        rows.append([f"ledger size after {len(rec)} such publishes", f"{core['rows_kept']:,} rows, "
                     f"database {core['db_bytes'][0] / 1e6:.0f} MB after the 1st, {core['db_bytes'][-1] / 1e6:.0f} MB "
                     "after the last"])
        for key, label in (("explain_find", "explain's point lookup"), ("device_timeline", "a device's timeline"),
                           ("publish_page", "a publish's first page (100 rows)")):
            s = core[key]
            rows.append([f"{label}, in-process", f"median {s['median_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms"])
    aud = results.get("audience") or {}
    for vendor in ("beams", "jpush"):
        entry = aud.get(vendor)
        if not entry:
            continue
        label = f"{vendor} publish to a {aud['audience']:,}-device audience (HTTP, ledger included)"
        if entry.get("status") == "ok":
            ex = entry["explain_http"]
            rows.append([label, f"median {entry['publish_median_s'] * 1000:.0f} ms, max "
                                f"{max(entry['publish_s']) * 1000:.0f} ms over {len(entry['publish_s'])}"])
            rows.append([f"{vendor} GET /_emulator/deliveries/explain (HTTP)",
                         f"median {ex['median_ms']:.2f} ms, p99 {ex['p99_ms']:.2f} ms"])
        else:
            rows.append([label, f"unavailable: {entry.get('reason', '')}"[:120]])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    p.add_argument("--audience", type=int, default=AUDIENCE)
    p.add_argument("--skip-server", action="store_true", help="only the in-process core measurement")
    p.add_argument("--output", help="write the results as JSON here")
    args = p.parse_args(argv)
    from .procs import ServerProc, stop_all

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="device-emulator-ledger-") as tmp:
        results["core"] = measure_core(tmp, args.audience)
        if not args.skip_server:
            def start(fixtures_file: str, db: str) -> ServerProc:
                env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICE_EMULATOR_")}
                cmd = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--db", db, "--log-level",
                       "warning", "--fixtures", fixtures_file, "--option", "beams.rate_limit=0"]
                return ServerProc("emulator", cmd, cwd=str(fixtures.ROOT), env=env,
                                  log_path=os.path.join(tmp, "emulator.log")).start(timeout=600)
            try:
                results["audience"] = measure_audience(tmp, start, args.audience)
            finally:
                stop_all()
    for label, value in table(results):
        print(f"{label}: {value}")
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
