"""``python -m bench``: the whole benchmark run, table on stdout, JSON to a file.

Phases (each bounded in time; every server is stopped at the end, also on Ctrl-C/SIGTERM):

1. start-up: time from process start to the ready line, on a new database (default fixtures
   loaded) and on a restart; the interpreter/import floor for comparison.
2. reset: ``POST /_emulator/reset`` with the default fixtures, many times (median), with
   nothing changed and after one write; then the pytest plugin's own cost per test.
3. throughput: the emulator, the naive baseline and (for reads) bare aiohttp, driven
   alternately with wrk, ``--rounds`` rounds of ``--duration`` s per scenario and server,
   16 connections; medians of req/s, p50, p99, server CPU per request and the ratios. Write
   scenarios also run against the naive server with ``synchronous=NORMAL`` (not durable).
4. scale: per-request latency of JPush get device (1 connection, random devices) with 1k,
   100k and 1M stored devices, and how long loading them took.
5. audience: the delivery ledger with a 100k-device audience (:mod:`bench.ledger`).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import fixtures, ledger
from .procs import ServerProc, StartError, stop_all
from .scenarios import SCENARIOS, Tenants, Unavailable, http_request, prepare
from .wrk import RequestSpec, run_wrk, wrk_binary, write_script

ROOT = fixtures.ROOT
DEFAULT_OUTPUT = ROOT / "bench" / "results.json"

TARGETS = {
    "write_ratio": 1.0,      # Beams register >= 1.0x the naive server (durable and non-durable)
    "write_cpu_us": 150.0,   # ... at most 150 us of server CPU per register
    "write_p99_ms": 10.0,    # ... with p99 < 10 ms at 16 connections
    "read_bare_ratio": 0.7,  # reads >= 0.7x bare aiohttp returning the same body
    "ready_s": 0.25,         # ready line on a new database
    "reset_ms": 1.0,         # per-test reset with the default fixtures (median)
    "scale_ratio": 1.5,      # latency at 1M within 1.5x of latency at 1k
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# -- tools ----------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    found = wrk_binary()
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk not found: installing Debian's wrk (apt-get update && apt-get install -y wrk)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, timeout=600)
        found = wrk_binary()
    if not found:
        raise SystemExit("bench: wrk is required: install it (Debian: sudo apt-get install wrk) and run again")
    return found


def ensure_aiosqlite() -> None:
    try:
        import aiosqlite  # noqa: F401
    except ImportError:
        log("aiosqlite not found (the baseline needs it): pip install aiosqlite")
        try:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "aiosqlite"], check=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            log(f"could not install aiosqlite ({exc}); the naive baseline will be missing from this run")


def fsync_us(directory: str, n: int = 100) -> float:
    """Median cost of a 4 KiB write + fsync where the databases live: what one commit costs
    at synchronous=FULL, the floor under any commit-per-request server."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times) * 1e6


def environment(tmp: str) -> dict[str, Any]:
    wrk_version = subprocess.run([wrk_binary() or "wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version.strip(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "fsync_us_median": round(fsync_us(tmp), 1),
        "git": _git_head(),
    }


def _git_head() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "emulator"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return head + ("+uncommitted emulator/ changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


# -- servers -------------------------------------------------------------------------------------

class Run:
    def __init__(self, args: argparse.Namespace, tmp: str) -> None:
        self.args = args
        self.tmp = tmp
        self.seq = 0
        self.options: list[str] = []

    def path(self, name: str) -> str:
        self.seq += 1
        return os.path.join(self.tmp, f"{self.seq:03d}-{name}")

    def emulator(self, *, fixtures_file: str | None = None, db: str | None = None,
                 options: list[str] | None = None, bytecode: bool = True, cwd: str | None = None) -> ServerProc:
        cmd = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--db", db or self.path("emulator.db"),
               "--log-level", "warning"]
        if fixtures_file:
            cmd += ["--fixtures", fixtures_file]
        for opt in options or []:
            cmd += ["--option", opt]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICE_EMULATOR_")}
        if bytecode:  # as users run it: .pyc files cached (PYTHONDONTWRITEBYTECODE=1 recompiles every start)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        return ServerProc("emulator", cmd, cwd=cwd or str(ROOT), log_path=os.path.join(self.tmp, "emulator.log"),
                          env=env)

    def baseline(self, mode: str, **kw: str) -> ServerProc:
        cmd = [sys.executable, "-m", "bench.baseline", "--mode", mode, "--port", "0"]
        for key, value in kw.items():
            cmd += [f"--{key}", value]
        return ServerProc(f"baseline-{mode}", cmd, cwd=str(ROOT), log_path=os.path.join(self.tmp, f"{mode}.log"))


def _exchange(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> int:
    """One request on a keep-alive connection, its answer read to the end; its status."""
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    resp.read()
    return resp.status


def _keepalive_timings(base: str, method: str, path: str, n: int, deadline_s: float) -> tuple[list[float], list[int]]:
    """``n`` sequential requests on one keep-alive connection: per-request seconds, statuses."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    times, statuses = [], []
    stop_at = time.perf_counter() + deadline_s
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            statuses.append(_exchange(conn, method, path, b"" if method == "POST" else None))
            times.append(time.perf_counter() - t0)
            if time.perf_counter() > stop_at:
                break
    finally:
        conn.close()
    return times, statuses


def _stats_ms(times: list[float]) -> dict[str, Any]:
    if not times:
        return {"n": 0}
    ordered = sorted(times)
    return {
        "n": len(times),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000, 3),
        "min_ms": round(ordered[0] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


# -- phase 1 + 2: start-up and reset ----------------------------------------------------------------

def phase_startup(run: Run) -> dict[str, Any]:
    args = run.args
    out: dict[str, Any] = {}
    # the floor: the interpreter alone, the framework alone (aiohttp's web module; importing it
    # imports aiohttp's client, which builds its TLS contexts), and importing the server code
    for label, code in (("python_s", "pass"), ("import_aiohttp_s", "import aiohttp.web"),
                        ("import_emulator_s", "import emulator.server")):
        times = []
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60, env=env)
            times.append(time.perf_counter() - t0)
        out[label] = round(min(times), 4)
    # the first start after a source change compiles; the measured ones then read the .pyc
    run.emulator(db=run.path("ready.db")).start(timeout=60).stop()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # this environment never writes .pyc files: a fresh clone recompiles the emulator's own
        # modules at every start (installed dependencies keep the .pyc pip wrote). Measured on a
        # copy of emulator/ without __pycache__, so the work tree's caches do not hide it.
        src = os.path.join(run.tmp, "src")
        shutil.copytree(ROOT / "emulator", os.path.join(src, "emulator"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        where = subprocess.run([sys.executable, "-c", "import emulator; print(emulator.__file__)"], cwd=src,
                               capture_output=True, text=True, timeout=60).stdout.strip()
        if where.startswith(src):  # the copy is what gets imported (not an installed one)
            as_is = []
            for _ in range(args.ready_runs):
                server = run.emulator(db=run.path("ready.db"), bytecode=False, cwd=src).start(timeout=60)
                as_is.append(server.ready_s)
                server.stop()
            out["ready_new_db_no_bytecode_cache_s"] = {"median": round(median(as_is), 4),
                                                       "all": [round(x, 4) for x in as_is]}
    fresh, restart, stops = [], [], []
    db = None
    for i in range(args.ready_runs):
        db = run.path("ready.db")
        server = run.emulator(db=db).start(timeout=60)
        fresh.append(server.ready_s)
        if i == 0:  # which rate limits exist to turn off (declared by the vendor packages)
            status, body = http_request(server.url, "GET", "/_emulator/options")
            run.options = rate_limit_off(json.loads(body)) if status == 200 else []
        server.stop()
        stops.append(server.stop_s)
        server = run.emulator(db=db).start(timeout=60)
        restart.append(server.ready_s)
        server.stop()
    out["ready_new_db_s"] = {"median": round(median(fresh), 4), "all": [round(x, 4) for x in fresh]}
    out["ready_restart_s"] = {"median": round(median(restart), 4), "all": [round(x, 4) for x in restart]}
    out["stop_s_median"] = round(median([s for s in stops if s is not None]) or 0, 4)
    return out


def rate_limit_off(described: dict[str, Any]) -> list[str]:
    """``VENDOR.NAME=off`` for every boolean option whose name says rate limit and is on."""
    opts = []
    for vendor, defs in described.get("options", {}).items():
        if not isinstance(defs, dict) or vendor == "auth":
            continue
        for name, meta in defs.items():
            if "rate_limit" in name and meta.get("type") == "bool" and meta.get("default") is True:
                opts.append(f"{vendor}.{name}=off")
    return opts


def phase_reset(run: Run) -> dict[str, Any]:
    """Reset back to back (nothing changed in between), and reset after one write (a Beams
    register, as a test would leave behind), with the server CPU each costs."""
    args = run.args
    server = run.emulator().start(timeout=60)
    doc = fixtures.default_document()
    register = ("POST", f"/device_api/v1/instances/{doc['beams']['instances'][0]['instance_id']}/devices/apns",
                {"Content-Type": "application/json"})
    try:
        health, hs = _keepalive_timings(server.url, "GET", "/_emulator/health", args.resets, 60)
        cpu0 = server.cpu_seconds()
        times, statuses = _keepalive_timings(server.url, "POST", "/_emulator/reset", args.resets, 120)
        cpu1 = server.cpu_seconds()
        after, after_statuses, write_cpu = _reset_after_write(server, register, args.resets, 120)
        cpu2 = server.cpu_seconds()
    finally:
        server.stop()
    bad = sum(1 for s in statuses + hs + after_statuses if not 200 <= s < 300)
    out = {"reset": _stats_ms(times), "reset_after_write": _stats_ms(after), "health_round_trip": _stats_ms(health),
           "non2xx": bad, "loadavg": os.getloadavg()[0]}
    if cpu0 is not None and cpu1 is not None and cpu2 is not None and times and after:
        out["reset"]["server_cpu_us"] = round((cpu1 - cpu0) / len(times) * 1e6, 1)
        # the register's own CPU is not the reset's: measured apart (same loop, no reset)
        out["reset_after_write"]["server_cpu_us"] = round(((cpu2 - cpu1) / len(after) - write_cpu) * 1e6, 1)
    return out


def _reset_after_write(server: ServerProc, register: tuple[str, str, dict[str, str]], n: int,
                       deadline_s: float) -> tuple[list[float], list[int], float]:
    """Per round one Beams register (untimed) then one timed reset, on one keep-alive
    connection; also the server CPU per register alone (the same registers without resets)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    method, path, headers = register
    times, statuses = [], []
    stop_at = time.perf_counter() + deadline_s

    def write(i: int) -> int:
        body = json.dumps({"token": f"{i:064x}", "bundleIdentifier": "com.example.app"})
        return _exchange(conn, method, path, body.encode(), headers)

    try:
        cpu0 = server.cpu_seconds()
        for i in range(n):
            statuses.append(write(i))
        cpu1 = server.cpu_seconds()
        write_cpu = (cpu1 - cpu0) / n if cpu0 is not None and cpu1 is not None else 0.0
        for i in range(n):
            statuses.append(write(i))
            t0 = time.perf_counter()
            statuses.append(_exchange(conn, "POST", "/_emulator/reset", b""))
            times.append(time.perf_counter() - t0)
            if time.perf_counter() > stop_at:
                break
    finally:
        conn.close()
    return times, statuses, write_cpu


PLUGIN_TEST = """
def test_{i}({arg}):
    pass
"""


def phase_plugin(run: Run) -> dict[str, Any]:
    """The pytest plugin's own cost: a file of N trivial tests taking ``device_emulator``
    against the same file without it. Per test: (T_with(N) - T_with(1) - (T_without(N) -
    T_without(1))) / (N - 1); the session's start (the server starting once) apart."""
    n = run.args.plugin_tests
    where = os.path.join(run.tmp, "plugin")
    os.makedirs(where, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICE_EMULATOR_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # only this plugin: other installed plugins' start-up would drown the difference
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    extra = ["-p", "emulator.pytest_plugin"]

    def timed(name: str, count: int, arg: str) -> float:
        path = os.path.join(where, f"test_{name}_{count}.py")
        Path(path).write_text("".join(PLUGIN_TEST.format(i=i, arg=arg) for i in range(count)))
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, path],
                                  cwd=where, env=env, capture_output=True, text=True, timeout=600)
            took = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"pytest failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
            best = took if best is None else min(best, took)
        assert best is not None
        return best

    with_n, with_1 = timed("with", n, "device_emulator"), timed("with", 1, "device_emulator")
    without_n, without_1 = timed("without", n, ""), timed("without", 1, "")
    per_test = ((with_n - with_1) - (without_n - without_1)) / (n - 1)
    return {"tests": n, "with_s": round(with_n, 3), "without_s": round(without_n, 3),
            "with_1_s": round(with_1, 3), "without_1_s": round(without_1, 3),
            "per_test_ms": round(per_test * 1000, 3), "session_start_ms": round((with_1 - without_1) * 1000, 1),
            "loadavg": os.getloadavg()[0]}


# -- phase 3: throughput -------------------------------------------------------------------------

def phase_throughput(run: Run) -> dict[str, Any]:
    args = run.args
    doc = fixtures.bench_document()
    doc_path = run.path("bench-fixtures.json")
    with open(doc_path, "w") as fh:
        json.dump(doc, fh)
    tenants = Tenants.from_document(doc)
    selected = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios]
    results: dict[str, Any] = {}

    emu = run.emulator(fixtures_file=doc_path, options=run.options).start(timeout=120)
    naive: ServerProc | None
    try:
        naive = run.baseline("naive", db=run.path("baseline.db"), fixtures=doc_path, sync=args.baseline_sync).start(60)
    except StartError as exc:  # e.g. aiosqlite could not be installed: measure the emulator alone
        log(f"the naive baseline did not start; emulator-only numbers: {exc}"[:500])
        naive = None
    # the same naive server, not durable per request (synchronous=NORMAL: a commit is not fsynced)
    nondurable: ServerProc | None = None
    if naive is not None and args.baseline_sync != "normal":
        try:
            nondurable = run.baseline("naive", db=run.path("nondurable.db"), fixtures=doc_path, sync="normal").start(60)
        except StartError as exc:
            log(f"the non-durable baseline did not start: {exc}"[:500])
    specs: dict[str, dict[str, RequestSpec]] = {}
    bodies: dict[str, Any] = {}
    for sc in selected:
        entry: dict[str, Any] = {"title": sc.title, "kind": sc.kind}
        results[sc.name] = entry
        try:
            spec, status, body = prepare(sc, emu.url, tenants)
        except Unavailable as exc:
            entry.update(status="unavailable", reason=str(exc))
            log(f"{sc.name}: unavailable on the emulator: {exc}")
            continue
        specs[sc.name] = {"emulator": spec}
        if sc.kind == "read":
            try:
                bodies[sc.name] = json.loads(body)
            except ValueError:
                bodies[sc.name] = {"body": body.decode(errors="replace")}
        try:
            if naive is None:
                raise Unavailable("the baseline server did not start")
            specs[sc.name]["baseline"] = prepare(sc, naive.url, tenants)[0]
        except Unavailable as exc:
            entry["baseline_unavailable"] = str(exc)
            log(f"{sc.name}: unavailable on the baseline: {exc}")
        if nondurable is not None and sc.kind == "write":
            try:
                specs[sc.name]["nondurable"] = prepare(sc, nondurable.url, tenants)[0]
            except Unavailable as exc:
                entry["nondurable_unavailable"] = str(exc)
        entry["status"] = "ok"
    bare = None
    if any(sc.kind == "read" and sc.name in specs for sc in selected):
        bodies_path = run.path("bare-bodies.json")
        with open(bodies_path, "w") as fh:
            json.dump(bodies, fh)
        try:
            bare = run.baseline("bare", bodies=bodies_path).start(60)
        except StartError as exc:
            log(f"the bare server did not start: {exc}"[:500])
        for sc in selected if bare is not None else []:
            if sc.kind == "read" and sc.name in specs:
                try:
                    specs[sc.name]["bare"] = prepare(sc, bare.url, tenants)[0]
                except Unavailable as exc:
                    results[sc.name]["bare_unavailable"] = str(exc)
    servers = {"emulator": emu, "baseline": naive, "nondurable": nondurable, "bare": bare}

    def one(name: str, target: str, duration: float) -> dict[str, Any]:
        server = servers[target]
        assert server is not None
        script = write_script(Path(run.path(f"{name}-{target}.lua")), specs[name][target], os.urandom(4).hex())
        cpu0 = server.cpu_seconds()
        res = run_wrk(server.url + "/", script, duration=duration, connections=args.connections,
                      threads=args.threads)
        cpu1 = server.cpu_seconds()
        out = res.as_dict()
        out["loadavg"] = os.getloadavg()[0]
        if cpu0 is not None and cpu1 is not None and res.requests:
            out["server_cpu_us_per_req"] = round((cpu1 - cpu0) / res.requests * 1e6, 1)
        return out

    order = [sc.name for sc in selected if sc.name in specs]
    if args.warmup > 0:
        log(f"warm-up: {args.warmup:g} s per scenario and server")
        for name in order:
            for target in specs[name]:
                try:
                    one(name, target, args.warmup)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    log(f"  warm-up {name} {target} failed: {exc}"[:300])
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        for name in order:
            targets = list(specs[name])
            k = r % len(targets)
            for target in targets[k:] + targets[:k]:  # alternate who goes first
                try:
                    res = one(name, target, args.duration)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    results[name].setdefault("run_errors", []).append(f"{target}: {exc}"[:500])
                    log(f"  {name:24s} {target:9s} wrk failed: {exc}"[:300])
                    continue
                results[name].setdefault("runs", {}).setdefault(target, []).append(res)
                log(f"  {name:24s} {target:9s} {res['rps']:9.0f} req/s  p50 {res['p50_ms']:.2f} ms"
                    f"  p99 {res['p99_ms']:.2f} ms  non-2xx {res['non2xx']}")
    for server in (bare, nondurable, naive, emu):
        if server is not None:
            server.stop()
    for name in order:
        summarise(results[name])
    return results


def summarise(entry: dict[str, Any]) -> None:
    summary: dict[str, Any] = {}
    flagged = False
    for target, runs in entry.get("runs", {}).items():
        errors = sum(r["non2xx"] + r["socket_errors"] + r["timeouts"] for r in runs)
        flagged |= errors > 0
        cpu = [r["server_cpu_us_per_req"] for r in runs if "server_cpu_us_per_req" in r]
        summary[target] = {
            "rps": round(median([r["rps"] for r in runs]), 1),
            "p50_ms": round(median([r["p50_ms"] for r in runs]), 3),
            "p99_ms": round(median([r["p99_ms"] for r in runs]), 3),
            "non2xx": sum(r["non2xx"] for r in runs),
            "socket_errors": sum(r["socket_errors"] + r["timeouts"] for r in runs),
            "requests": sum(r["requests"] for r in runs),
            "server_cpu_us_per_req": round(median(cpu), 1) if cpu else None,
        }
    emu = summary.get("emulator")
    runs = entry.get("runs", {})
    for key in ("baseline", "nondurable", "bare"):
        other = summary.get(key)
        if emu and other and other["rps"]:
            summary[f"ratio_vs_{key}"] = round(emu["rps"] / other["rps"], 3)
            # the same round's runs were back to back: their ratios show the spread
            pairs = zip(runs.get("emulator", []), runs.get(key, []))
            summary[f"ratio_vs_{key}_rounds"] = [round(a["rps"] / b["rps"], 3) for a, b in pairs if b["rps"]]
    entry["summary"] = summary
    entry["flagged"] = flagged or bool(entry.get("run_errors"))


# -- phase 4: scale ------------------------------------------------------------------------------

def phase_scale(run: Run, base_ready_s: float | None) -> dict[str, Any]:
    args = run.args
    out: dict[str, Any] = {}
    for n in args.scale_sizes:
        entry: dict[str, Any] = {"devices": n}
        out[str(n)] = entry
        doc_path = run.path(f"scale-{n}.json")
        db = run.path(f"scale-{n}.db")
        t0 = time.perf_counter()
        entry["document_bytes"] = fixtures.write_scale_document(Path(doc_path), n)
        entry["document_write_s"] = round(time.perf_counter() - t0, 2)
        log(f"scale {n:,} devices: starting the emulator on a {entry['document_bytes'] / 1e6:.1f} MB fixture")
        server = run.emulator(fixtures_file=doc_path, db=db, options=run.options)
        try:
            server.start(timeout=args.scale_timeout)
        except StartError as exc:
            entry.update(status="failed", reason=str(exc)[:500],
                         note=f"not ready within {args.scale_timeout:g} s: loading is impractically slow")
            log(f"scale {n:,}: {exc}"[:300])
            os.unlink(doc_path)
            continue
        try:
            entry["ready_s"] = round(server.ready_s or 0, 3)
            if base_ready_s is not None:  # the start-up without the bulk document, measured earlier
                entry["load_s"] = round(max(0.0, (server.ready_s or 0) - base_ready_s), 3)
            entry["db_bytes"] = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
            spec = RequestSpec("GET", "/v3/devices/bench${rand}", {
                "Authorization": _jpush_basic(), "Accept": "application/json"}, rand_n=n)
            status, body = http_request(server.url, "GET", f"/v3/devices/{fixtures.jpush_rid(n - 1)}", spec.headers)
            if not 200 <= status < 300:
                entry.update(status="unavailable", reason=f"GET device -> {status} {body[:200]!r}")
                continue
            script = write_script(Path(run.path(f"scale-{n}.lua")), spec, os.urandom(4).hex())
            # measure the steady state, not the kernel writing back the freshly loaded database
            t0 = time.perf_counter()
            os.sync()
            entry["sync_s"] = round(time.perf_counter() - t0, 3)
            run_wrk(server.url + "/", script, duration=max(2.0, args.warmup), connections=1, threads=1)
            res = run_wrk(server.url + "/", script, duration=args.scale_duration, connections=1, threads=1)
            entry.update(status="ok", c1=res.as_dict())
            log(f"  scale {n:>9,}: ready {entry['ready_s']:.2f} s, GET device p50 {res.p50_ms:.3f} ms "
                f"p99 {res.p99_ms:.3f} ms ({res.rps:.0f} req/s, 1 connection)")
        finally:
            server.stop()
            for p in (doc_path, db, db + "-wal", db + "-shm"):
                if os.path.exists(p):
                    os.unlink(p)
    return out


def _jpush_basic() -> str:
    import base64
    app = fixtures.default_document()["jpush"]["apps"][0]
    return "Basic " + base64.b64encode(f"{app['app_key']}:{app['master_secret']}".encode()).decode()


# -- report ----------------------------------------------------------------------------------------

def evaluate(results: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, Any] = {}

    def check(key: str, value: Any, wanted: str, met: bool) -> None:
        checks[key] = {"value": value, "target": wanted, "met": met}

    sc = results.get("scenarios", {})
    sc = sc if "error" not in sc else {}
    reg = sc.get("beams_register", {}).get("summary", {})
    for key in ("baseline", "nondurable"):
        if f"ratio_vs_{key}" in reg:
            v = reg[f"ratio_vs_{key}"]
            check(f"beams_register_vs_{key}", v, ">= 1.0", v >= TARGETS["write_ratio"])
    if "emulator" in reg:
        p99 = reg["emulator"]["p99_ms"]
        check("beams_register_p99_ms", p99, "< 10", p99 < TARGETS["write_p99_ms"])
        cpu = reg["emulator"].get("server_cpu_us_per_req")
        if cpu is not None:
            check("beams_register_cpu_us", cpu, "<= 150", cpu <= TARGETS["write_cpu_us"])
    for name in ("jpush_get_device", "capgo_list_page"):
        s = sc.get(name, {}).get("summary", {})
        if "ratio_vs_bare" in s:
            check(f"{name}_vs_bare", s["ratio_vs_bare"], ">= 0.7", s["ratio_vs_bare"] >= TARGETS["read_bare_ratio"])
    st = results.get("startup", {})
    if "ready_new_db_s" in st:
        v = st["ready_new_db_s"]["median"]
        check("ready_new_db_s", v, "<= 0.25", v <= TARGETS["ready_s"])
    rs = results.get("reset", {})
    for key in ("reset", "reset_after_write"):
        r = rs.get(key, {})
        if r.get("n"):
            check(f"{key}_ms", r["median_ms"], "<= 1", r["median_ms"] <= TARGETS["reset_ms"])
    scale = results.get("scale", {})
    scale = scale if "error" not in scale else {}
    small = scale.get("1000", {}).get("c1")
    big = scale.get("1000000", {}).get("c1")
    if small and big:
        ratio = round(big["p50_ms"] / small["p50_ms"], 3) if small["p50_ms"] else None
        check("latency_1M_vs_1k", ratio, "<= 1.5", ratio is not None and ratio <= TARGETS["scale_ratio"])
    return checks


def fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "–"
    return format(value, spec)


def table_lines(results: dict[str, Any], markdown: bool = False) -> list[str]:
    rows: list[list[str]] = [["scenario", "emulator req/s", "p50 ms", "p99 ms", "durable naive req/s", "p99 ms",
                              "emu/durable", "non-durable naive req/s", "emu/non-durable", "bare req/s", "emu/bare",
                              "CPU µs/req (emu/durable/non-durable/bare)", "errors"]]
    failed = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    scenarios = results.get("scenarios", {}) if "scenarios" not in failed else {}
    for name, entry in scenarios.items():
        if entry.get("status") != "ok":
            rows.append([name, "unavailable", "", "", "", "", "", "", "", "", "", "", entry.get("reason", "")[:60]])
            continue
        s = entry.get("summary", {})
        e, b, nd, x = (s.get(k, {}) for k in ("emulator", "baseline", "nondurable", "bare"))
        errs = "/".join(str(d.get("non2xx", 0) + d.get("socket_errors", 0)) if d else "–" for d in (e, b, nd, x))
        rows.append([
            name + (" ⚠" if entry.get("flagged") else ""),
            fmt(e.get("rps"), ",.0f"), fmt(e.get("p50_ms"), ".2f"), fmt(e.get("p99_ms"), ".2f"),
            fmt(b.get("rps"), ",.0f"), fmt(b.get("p99_ms"), ".2f"), _ratio(s, "baseline"),
            fmt(nd.get("rps"), ",.0f"), _ratio(s, "nondurable"),
            fmt(x.get("rps"), ",.0f"), _ratio(s, "bare"),
            "/".join(fmt(d.get("server_cpu_us_per_req"), ".0f") if d else "–" for d in (e, b, nd, x)),
            errs,
        ])
    lines = [run_line(results), ""] + _render(rows, markdown)
    st = results.get("startup", {}) if "startup" not in failed else {}
    rs = results.get("reset", {}) if "reset" not in failed else {}
    other = [["measure", "value"]]
    if st:
        other += [
            ["ready line, new DB (default fixtures), median", f"{st['ready_new_db_s']['median'] * 1000:.0f} ms"],
            ["ready line, restart on existing DB, median", f"{st['ready_restart_s']['median'] * 1000:.0f} ms"],
        ]
        if "ready_new_db_no_bytecode_cache_s" in st:
            other.append(["ready line, new DB, fresh clone under PYTHONDONTWRITEBYTECODE=1 (no .pyc), median",
                          f"{st['ready_new_db_no_bytecode_cache_s']['median'] * 1000:.0f} ms"])
        other += [
            ["floor: `python -c pass` / `import aiohttp.web` / `import emulator.server` (best of 5)",
             f"{st['python_s'] * 1000:.0f} ms / {st.get('import_aiohttp_s', 0) * 1000:.0f} ms / "
             f"{st['import_emulator_s'] * 1000:.0f} ms"],
        ]
    for key, label in (("reset", "nothing changed"), ("reset_after_write", "after one Beams register")):
        r = rs.get(key, {})
        if r.get("n"):
            cpu = f", server CPU {r['server_cpu_us']:.0f} µs" if "server_cpu_us" in r else ""
            other.append([f"POST /_emulator/reset, default fixtures, {label} (median of {r['n']})",
                          f"{r['median_ms']:.2f} ms (p90 {r['p90_ms']:.2f}, min {r['min_ms']:.2f}{cpu})"])
    if rs.get("health_round_trip", {}).get("n"):
        h = rs["health_round_trip"]
        other.append(["floor: GET /_emulator/health round trip (median)", f"{h['median_ms']:.3f} ms"])
    pl = results.get("plugin", {}) if "plugin" not in failed else {}
    if pl:
        other.append([f"pytest plugin: own cost per test ({pl['tests']} trivial tests with and without "
                      "`device_emulator`)", f"{pl['per_test_ms']:.2f} ms per test; session start "
                      f"{pl['session_start_ms']:.0f} ms once"])
    for n, entry in (results.get("scale", {}) if "scale" not in failed else {}).items():
        label = f"JPush get device at {int(n):,} devices (1 conn.)"
        if entry.get("status") == "ok":
            c1 = entry["c1"]
            other.append([label, f"p50 {c1['p50_ms']:.3f} ms, p99 {c1['p99_ms']:.3f} ms, {c1['rps']:,.0f} req/s; "
                                 f"ready in {entry['ready_s']:.1f} s with a "
                                 f"{entry['document_bytes'] / 1e6:.1f} MB fixture"])
        else:
            other.append([label, f"{entry.get('status')}: {entry.get('note') or entry.get('reason', '')}"[:120]])
    if "audience" not in failed:
        other += [[label, value] for label, value in ledger.table(results.get("audience", {}))]
    lines += [""] + _render(other, markdown)
    for key, error in failed.items():
        other.append([f"phase {key} failed", error[:200]])
    checks = results.get("targets", {})
    if checks:
        tl = [["target", "measured", "wanted", "met"]]
        for key, c in checks.items():
            tl.append([key, fmt(c["value"]), c["target"], "yes" if c["met"] else "NO"])
        lines += [""] + _render(tl, markdown)
    return lines


def _ratio(summary: dict[str, Any], key: str) -> str:
    value = summary.get(f"ratio_vs_{key}")
    if value is None:
        return "–"
    rounds = summary.get(f"ratio_vs_{key}_rounds") or []
    spread = f" ({min(rounds):.2f}–{max(rounds):.2f})" if len(rounds) > 1 else ""
    return f"{value:.2f}×{spread}"


def run_line(results: dict[str, Any]) -> str:
    env = results.get("environment", {})
    start, end = env.get("loadavg_start"), env.get("loadavg_end")
    load = f"load average {start[0]:.1f} → {end[0]:.1f}" if start and end else ""
    s = results.get("settings", {})
    return (f"Run {env.get('time', '?')} (git {env.get('git', '?')}), {env.get('cpus', '?')} CPUs, Python "
            f"{env.get('python', '?')}, SQLite {env.get('sqlite', '?')}, {load}, fsync median "
            f"{env.get('fsync_us_median', '?')} µs; wrk -t{s.get('threads')} -c{s.get('connections')}, "
            f"{s.get('rounds')} rounds × {s.get('duration')} s, {env.get('wall_s', '?')} s in all.")


def _render(rows: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return out
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


# -- main ------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 round of 2 s, fewer start-ups and resets, scale 1k and 100k only")
    p.add_argument("--rounds", type=int, help="rounds per scenario and server (default 5; quick 1)")
    p.add_argument("--duration", type=float, help="seconds per wrk run (default 6; quick 2)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up per scenario and server (default 1)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the other core serves)")
    p.add_argument("--scenarios", help="comma-separated subset: " + ",".join(s.name for s in SCENARIOS))
    p.add_argument("--scale-sizes", help="stored-device counts for the scale test (default 1000,100000,1000000; "
                                         "quick 1000,100000; 'none' skips it)")
    p.add_argument("--scale-duration", type=float, help="seconds of the 1-connection latency run (default 5)")
    p.add_argument("--scale-timeout", type=float, default=600.0, help="give up loading a scale fixture after this")
    p.add_argument("--ready-runs", type=int, help="start-ups measured (default 5; quick 2)")
    p.add_argument("--resets", type=int, help="resets measured (default 200; quick 30)")
    p.add_argument("--baseline-sync", choices=("full", "normal", "off"), default="full",
                   help="PRAGMA synchronous of the naive baseline (default full: a 2xx is durable, as in the emulator)")
    p.add_argument("--plugin-tests", type=int, help="trivial tests timed for the plugin's overhead (default 300; quick 60)")
    p.add_argument("--skip", default="", help="comma-separated phases to skip: startup,reset,plugin,throughput,scale,audience")
    p.add_argument("--output", default=str(DEFAULT_OUTPUT), help="JSON results file (default bench/results.json)")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (databases, logs, scripts)")
    args = p.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds or (1 if q else 5)
    args.duration = args.duration or (2.0 if q else 6.0)
    args.warmup = 1.0 if args.warmup is None else args.warmup
    args.scale_duration = args.scale_duration or (2.0 if q else 5.0)
    args.ready_runs = args.ready_runs or (2 if q else 5)
    args.resets = args.resets or (30 if q else 200)
    args.plugin_tests = max(2, args.plugin_tests or (60 if q else 300))
    sizes = args.scale_sizes or ("1000,100000" if q else "1000,100000,1000000")
    args.scale_sizes = [] if sizes == "none" else [int(s) for s in sizes.split(",") if s]
    args.scenarios = [s for s in (args.scenarios or "").split(",") if s]
    unknown = set(args.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    args.skip = {s for s in args.skip.split(",") if s}
    return args


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    ensure_wrk()
    ensure_aiosqlite()
    tmp = tempfile.mkdtemp(prefix="device-emulator-bench-")
    run = Run(args, tmp)
    results: dict[str, Any] = {"settings": {k: (sorted(v) if isinstance(v, set) else v)
                                            for k, v in vars(args).items()}}
    started = time.perf_counter()
    code = 0
    try:
        results["environment"] = environment(tmp)
        log(f"python {results['environment']['python']}, sqlite {results['environment']['sqlite']}, "
            f"fsync {results['environment']['fsync_us_median']:.0f} µs, load {os.getloadavg()[0]:.2f}; tmp {tmp}")
        def phase(key: str, fn, *fn_args: Any) -> None:
            try:
                results[key] = fn(*fn_args)
            except (StartError, RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
                log(f"phase {key} failed: {type(exc).__name__}: {exc}"[:800])
                results[key] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}

        if "startup" not in args.skip:
            log("start-up times")
            phase("startup", phase_startup, run)
        if not run.options:  # also when startup was skipped: ask a running emulator
            try:
                probe = run.emulator().start(60)
                status, body = http_request(probe.url, "GET", "/_emulator/options")
                probe.stop()
                run.options = rate_limit_off(json.loads(body)) if status == 200 else []
            except (StartError, OSError, ValueError) as exc:
                log(f"could not read the emulator's options: {exc}"[:500])
        results["emulator_options"] = run.options
        if "reset" not in args.skip:
            log("reset times")
            phase("reset", phase_reset, run)
        if "plugin" not in args.skip:
            log(f"pytest plugin overhead ({args.plugin_tests} tests)")
            phase("plugin", phase_plugin, run)
        if "throughput" not in args.skip:
            log(f"throughput: {args.rounds} round(s) x {args.duration:g} s, {args.connections} connections; "
                f"emulator options {' '.join(run.options) or '(none)'}")
            phase("scenarios", phase_throughput, run)
        if "scale" not in args.skip and args.scale_sizes:
            base = results.get("startup", {}).get("ready_new_db_s", {}).get("median")
            phase("scale", phase_scale, run, base)
        if "audience" not in args.skip:
            log("audience: a publish to 100,000 devices and the delivery ledger")
            phase("audience", ledger.phase, run)
    except KeyboardInterrupt:
        log("interrupted: stopping servers; partial results follow")
        results["interrupted"] = True
        code = 130
    finally:
        stop_all()
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    results["environment"] = {**results.get("environment", {}), "loadavg_end": os.getloadavg(),
                              "wall_s": round(time.perf_counter() - started, 1)}
    results["targets"] = evaluate(results)
    lines = table_lines(results)
    print("\n".join(lines))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(results, fh, indent=2)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(table_lines(results, markdown=True)) + "\n")
    log(f"results written to {args.output} ({results['environment']['wall_s']:.0f} s)")
    return code
