"""``python -m bench.profile``: where the emulator's CPU goes under load.

For each chosen scenario it starts the emulator on the bench fixtures (rate limits off, as in
the benchmark), drives it with ``wrk`` (16 connections) and samples it with ``py-spy`` for the
same seconds (all threads, idle time excluded). It prints the functions with the most samples
of their own ("self": the leaf frame) and the most samples under them ("total"), per thread
(the event loop's ``MainThread`` and the SQLite writer thread).

Needs ``py-spy`` (``pip install py-spy``; it reads the process' memory, so it needs ptrace
permission: root or ``kernel.yama.ptrace_scope=0``) and ``wrk``.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import fixtures
from .procs import ServerProc, stop_all
from .runner import rate_limit_off
from .scenarios import SCENARIOS, Tenants, http_request, prepare
from .wrk import run_wrk, write_script

#: frames every sample passes through (start-up, the loop's own run): left out of "total"
SCAFFOLD = ("_run_module_as_main ", "_run_code ", "<module> (__main__.py)", "<module> (emulator/__main__.py)",
            "main (emulator/cli.py)", "run (asyncio/runners.py)", "Runner.run ", "run (emulator/server.py)",
            "BaseEventLoop.run_forever ", "BaseEventLoop._run_once ", "BaseEventLoop.run_until_complete ",
            "Thread._bootstrap", "Thread.run ")

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)`` with the emulator's package path kept."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("/emulator/", "/aiohttp/", "/asyncio/", "/uvloop/", "/bench/", "/multidict/", "/yarl/"):
        if marker in path:
            path = marker.strip("/") + "/" + path.split(marker, 1)[1]
            break
    else:
        path = os.path.basename(path)
    return f"{m.group('func')} ({path})"


def summarise(raw: str, top: int) -> dict[str, Any]:
    """Self and total sample counts per function and thread from py-spy's raw (collapsed) output."""
    threads: dict[str, dict[str, Any]] = {}
    for line in raw.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        thread = frames[0]
        name = re.sub(r"\s*\(?0x[0-9a-f]+\)?", "", thread).strip().strip('"') or thread
        if not thread.startswith(("thread", "process")) and "(" not in thread:
            name = "all"
        else:
            frames = frames[1:]
        t = threads.setdefault(name, {"samples": 0, "self": collections.Counter(), "total": collections.Counter()})
        t["samples"] += count
        if not frames:
            continue
        short = [_short(f) for f in frames]
        t["self"][short[-1]] += count
        for f in set(short):
            if not f.startswith(SCAFFOLD):
                t["total"][f] += count
    out = {}
    for name, t in sorted(threads.items(), key=lambda kv: -kv[1]["samples"]):
        n = t["samples"] or 1
        out[name] = {
            "samples": t["samples"],
            "self": [(f, round(100 * c / n, 1)) for f, c in t["self"].most_common(top)],
            "total": [(f, round(100 * c / n, 1)) for f, c in t["total"].most_common(top)],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default="beams_register,jpush_get_device,capgo_list_page")
    p.add_argument("--duration", type=float, default=8.0, help="seconds sampled per scenario (default 8)")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--output", help="write the summaries as JSON here")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.path.exists(spy):
        raise SystemExit("bench.profile: py-spy is required (pip install py-spy)")
    chosen = [s for s in SCENARIOS if s.name in args.scenarios.split(",")]
    tmp = tempfile.mkdtemp(prefix="device-emulator-profile-")
    results: dict[str, Any] = {"loadavg_start": os.getloadavg()}
    try:
        doc = fixtures.bench_document()
        doc_path = os.path.join(tmp, "fixtures.json")
        Path(doc_path).write_text(json.dumps(doc))
        tenants = Tenants.from_document(doc)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICE_EMULATOR_")}
        serve = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--log-level", "warning"]
        probe = ServerProc("probe", serve + ["--db", os.path.join(tmp, "probe.db")], env=env).start(60)
        status, body = http_request(probe.url, "GET", "/_emulator/options")
        probe.stop()
        opts = rate_limit_off(json.loads(body)) if status == 200 else []
        for i, sc in enumerate(chosen):
            cmd = serve + ["--db", os.path.join(tmp, f"{i}.db"), "--fixtures", doc_path]
            cmd += [x for o in opts for x in ("--option", o)]
            server = ServerProc("emulator", cmd, env=env, cwd=str(fixtures.ROOT)).start(60)
            try:
                spec = prepare(sc, server.url, tenants)[0]
                script = write_script(Path(tmp, f"{sc.name}.lua"), spec, os.urandom(4).hex())
                run_wrk(server.url + "/", script, duration=1, connections=args.connections, threads=1)
                raw_path = os.path.join(tmp, f"{sc.name}.txt")
                spy_proc = subprocess.Popen(
                    [spy, "record", "--pid", str(server.pid), "--duration", str(round(args.duration)),
                     "--rate", str(args.rate), "--format", "raw", "--threads", "--nonblocking",
                     "--output", raw_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                cpu0 = server.cpu_seconds()
                res = run_wrk(server.url + "/", script, duration=args.duration, connections=args.connections,
                              threads=1)
                cpu1 = server.cpu_seconds()
                _, err = spy_proc.communicate(timeout=args.duration + 60)
                if not os.path.exists(raw_path):
                    raise SystemExit(f"py-spy wrote nothing: {err.strip()[:500]}")
                summary = summarise(Path(raw_path).read_text(), args.top)
                cpu_us = round((cpu1 - cpu0) / res.requests * 1e6, 1) if cpu0 is not None and cpu1 is not None \
                    and res.requests else None
                results[sc.name] = {"rps": round(res.rps), "p99_ms": res.p99_ms, "cpu_us_per_req": cpu_us,
                                    "loadavg": os.getloadavg()[0], "threads": summary}
                print(f"\n## {sc.name}: {res.rps:,.0f} req/s, server CPU {cpu_us} µs/request "
                      f"(load average {os.getloadavg()[0]:.1f})")
                for thread, t in summary.items():
                    print(f"\n### {thread}: {t['samples']} samples\n")
                    print("| self % | function | | total % | function |\n|---:|---|---|---:|---|")
                    for (fs, ps), (ft, pt) in zip(t["self"], t["total"]):
                        print(f"| {ps} | `{fs}` | | {pt} | `{ft}` |")
            finally:
                server.stop()
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results["loadavg_end"] = os.getloadavg()
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
