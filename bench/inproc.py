"""``python -m bench.inproc``: the cost of one request through the whole aiohttp stack, in-process.

Requests are fed to aiohttp's own protocol object through an in-memory transport (no socket, no
kernel), on uvloop, against the emulator's app on a file database with the bench fixtures, and
against bare aiohttp answering the same body for the reads. What remains is the CPU work of
parsing, routing, the envelope around each handler, the handler, SQLite and writing the answer:
the part of a request the emulator's code decides.

Two measures:

- time per request: the best of ``--repeats`` runs of ``--requests`` requests (wall time of a
  busy loop; a shared machine still moves it by tens of percent);
- ``--instructions``: instructions per request, counted by valgrind's callgrind (all threads,
  the SQLite writer's included; kernel work excluded). The process runs twice under callgrind,
  with ``N`` and ``N + --requests`` requests, and the difference is divided by ``--requests``:
  start-up cancels out. Deterministic to a fraction of a percent, so a change of a few percent is
  visible on a noisy machine. Needs ``valgrind`` (``apt-get install valgrind``); ~1 min per
  scenario.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

from aiohttp import web

from . import fixtures
from .baseline import bare_routes
from .scenarios import Tenants

SCENARIOS = ("jpush_get_device", "capgo_list_page", "beams_register", "bare_jpush_get_device",
             "bare_capgo_list_page")


class MemoryTransport(asyncio.Transport):
    """What aiohttp writes goes nowhere; the first write of an answer wakes the driver."""

    def __init__(self) -> None:
        super().__init__()
        self.written: asyncio.Future[None] | None = None
        self.chunks: list[bytes] | None = None
        self._closing = False

    def _wrote(self, data: bytes) -> None:
        if self.chunks is not None:
            self.chunks.append(bytes(data))
        if self.written is not None and not self.written.done():
            self.written.set_result(None)

    def write(self, data: Any) -> None:
        self._wrote(data)

    def writelines(self, lines: Any) -> None:
        self._wrote(b"".join(lines))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def abort(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8780)}.get(name, default)

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8780", *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Driver:
    """One keep-alive connection to ``app``; ``await driver.send(raw)`` returns when answered."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def start(self) -> Driver:
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        assert self.runner.server is not None
        self.protocol = self.runner.server()
        self.transport = MemoryTransport()
        self.protocol.connection_made(self.transport)
        return self

    async def send(self, raw: bytes) -> None:
        self.transport.written = asyncio.get_running_loop().create_future()
        self.protocol.data_received(raw)
        await self.transport.written

    async def answer(self, raw: bytes) -> tuple[int, bytes]:
        """Status and body of one request (for checking and for the bare server's body)."""
        self.transport.chunks = []
        await self.send(raw)
        await asyncio.sleep(0.05)
        data = b"".join(self.transport.chunks)
        self.transport.chunks = None
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body


def requests_for(doc: dict[str, Any]) -> dict[str, Callable[[int], bytes]]:
    t = Tenants.from_document(doc)
    basic = "Basic " + base64.b64encode(f"{t.jpush_key}:{t.jpush_secret}".encode()).decode()
    beams_key = next(i["secret_key"] for i in doc["beams"]["instances"] if i["instance_id"] == t.beams_instance)
    jpush = [raw_request("GET", f"/v3/devices/{fixtures.jpush_rid(i)}", {"Authorization": basic})
             for i in range(fixtures.JPUSH_DEVICES)]
    capgo = raw_request("GET", f"/device?app_id={t.capgo_app}", {"authorization": t.capgo_key})
    register_path = f"/device_api/v1/instances/{t.beams_instance}/devices/apns"
    register_headers = {"Authorization": f"Bearer {beams_key}", "Content-Type": "application/json"}
    run = os.urandom(4).hex()
    return {
        "jpush_get_device": lambda n: jpush[n % len(jpush)],
        "capgo_list_page": lambda n: capgo,
        "beams_register": lambda n: raw_request("POST", register_path, register_headers, json.dumps(
            {"token": f"{run}{n:056x}", "bundleIdentifier": "com.example.app",
             "metadata": {"sdkVersion": "1.0"}}).encode()),
    }


async def measure(scenario: str, requests: int, repeats: int, warmup: int) -> list[float]:
    """Per-request seconds of each repeat."""
    from emulator.app import build_context, create_app
    from emulator.config import Config

    tmp = tempfile.mkdtemp(prefix="device-emulator-inproc-")
    try:
        doc = fixtures.bench_document()
        doc_path = Path(tmp, "fixtures.json")
        doc_path.write_text(json.dumps(doc))
        ctx = build_context(Config(db=os.path.join(tmp, "bench.db"), fixtures=[str(doc_path)],
                                   options={"moengage": {"rate_limit": False}, "jpush": {"rate_limit": False}}))
        make = requests_for(doc)[scenario.removeprefix("bare_")]
        drivers = [await Driver(create_app(context=ctx)).start()]
        status, body = await drivers[0].answer(make(0))
        if not 200 <= status < 300:
            raise SystemExit(f"{scenario}: the emulator answered {status}: {body[:300]!r}")
        if scenario.startswith("bare_"):
            bare = web.Application()
            bare.add_routes(bare_routes({scenario.removeprefix("bare_"): json.loads(body)}))
            drivers.append(await Driver(bare).start())
        driver = drivers[-1]
        for n in range(1, warmup + 1):
            await driver.send(make(n))
        out = []
        n = warmup
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(requests):
                n += 1
                await driver.send(make(n))
            out.append((time.perf_counter() - started) / requests)
        for d in drivers:  # the emulator's closes its store
            d.protocol.connection_lost(None)
            await d.runner.cleanup()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_measure(scenario: str, requests: int, repeats: int, warmup: int) -> list[float]:
    import uvloop

    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(measure(scenario, requests, repeats, warmup))
    finally:
        loop.close()


def instructions(scenario: str, requests: int, warmup: int) -> float:
    """Instructions per request: two callgrind runs differing by ``requests`` requests."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("bench.inproc --instructions needs valgrind (apt-get install valgrind)")
    counts = []
    for n in (1, 1 + requests):
        run = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m", "bench.inproc",
             "--scenarios", scenario, "--requests", str(n), "--repeats", "1", "--warmup", str(warmup)],
            capture_output=True, text=True, cwd=fixtures.ROOT, env={**os.environ, "PYTHONHASHSEED": "0"})
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or not found:
            raise SystemExit(f"callgrind run failed: {run.stderr[-2000:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / requests


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--instructions", action="store_true", help="count instructions with callgrind instead")
    args = p.parse_args(argv)
    for scenario in args.scenarios.split(","):
        if scenario not in SCENARIOS:
            raise SystemExit(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
        if args.instructions:
            print(f"{scenario}: {instructions(scenario, args.requests, args.warmup):,.0f} instructions per request",
                  flush=True)
        else:
            times = run_measure(scenario, args.requests, args.repeats, args.warmup)
            print(f"{scenario}: best {min(times) * 1e6:.1f} µs per request, median {sorted(times)[len(times) // 2] * 1e6:.1f}"
                  f" ({args.repeats} × {args.requests})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
