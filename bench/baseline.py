"""The two reference servers the emulator is measured against.

``naive``: what one would write in an afternoon -- aiohttp + aiosqlite, one connection, one
``commit()`` per mutating request, no batching, no prepared-statement care. It serves the
same paths and accepts the same bodies as the emulator's benchmarked routes (Beams register
and set interests, JPush get device and tag update, Capgo list page, MoEngage track device),
with a tenant/credential lookup and a little validation, so one wrk script drives both.

``bare``: aiohttp returning JSON and nothing else -- the ceiling for reads. Its read routes
answer the very bodies the emulator answered in the pre-flight (``--bodies FILE``), serialised
per request with ``web.json_response``.

Run: ``python -m bench.baseline --mode naive --port 0 --db /tmp/x.db --fixtures doc.json``;
it prints ``baseline ready on http://127.0.0.1:PORT`` when listening and stops on SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import sqlite3
import sys
import time
import uuid
from typing import Any

from aiohttp import web

SCHEMA = """
CREATE TABLE IF NOT EXISTS beams_instances (instance_id TEXT PRIMARY KEY, secret_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS beams_devices (
    id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, platform TEXT NOT NULL, token TEXT NOT NULL,
    bundle_identifier TEXT, metadata TEXT NOT NULL, user_id TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS beams_interests (
    device_id TEXT NOT NULL, interest TEXT NOT NULL, PRIMARY KEY (device_id, interest));
CREATE TABLE IF NOT EXISTS jpush_apps (app_key TEXT PRIMARY KEY, master_secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jpush_devices (
    app_key TEXT NOT NULL, registration_id TEXT NOT NULL, platform TEXT NOT NULL,
    alias TEXT, mobile TEXT, PRIMARY KEY (app_key, registration_id));
CREATE TABLE IF NOT EXISTS jpush_tags (
    app_key TEXT NOT NULL, registration_id TEXT NOT NULL, tag TEXT NOT NULL,
    PRIMARY KEY (app_key, registration_id, tag));
CREATE TABLE IF NOT EXISTS capgo_keys (key TEXT PRIMARY KEY, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS capgo_devices (
    app_id TEXT NOT NULL, device_id TEXT NOT NULL, custom_id TEXT NOT NULL DEFAULT '',
    platform TEXT, version_name TEXT, plugin_version TEXT, os_version TEXT, version_build TEXT,
    is_prod INTEGER NOT NULL DEFAULT 1, is_emulator INTEGER NOT NULL DEFAULT 0,
    created_at TEXT, updated_at TEXT, PRIMARY KEY (app_id, device_id));
CREATE TABLE IF NOT EXISTS moengage_workspaces (app_id TEXT PRIMARY KEY, api_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS moengage_customers (
    app_id TEXT NOT NULL, customer_id TEXT NOT NULL, PRIMARY KEY (app_id, customer_id));
CREATE TABLE IF NOT EXISTS moengage_devices (
    app_id TEXT NOT NULL, device_id TEXT NOT NULL, customer_id TEXT NOT NULL,
    attributes TEXT NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (app_id, device_id));
"""

MOE_OK = {"status": "success", "message": "Your request has been accepted and will be processed soon."}


def load_fixtures(path: str, doc: dict[str, Any]) -> None:
    """Seed the baseline's tables from the same fixture document the emulator loads
    (synchronously, before serving; not part of any measurement)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    with conn:
        for inst in doc.get("beams", {}).get("instances", []):
            conn.execute("INSERT OR REPLACE INTO beams_instances VALUES (?, ?)",
                         (inst["instance_id"], inst["secret_key"]))
        for app in doc.get("jpush", {}).get("apps", []):
            conn.execute("INSERT OR REPLACE INTO jpush_apps VALUES (?, ?)", (app["app_key"], app["master_secret"]))
            conn.executemany(
                "INSERT OR REPLACE INTO jpush_devices VALUES (?, ?, ?, ?, ?)",
                [(app["app_key"], d["registration_id"], d["platform"], d.get("alias"), d.get("mobile"))
                 for d in app.get("devices", [])])
            conn.executemany(
                "INSERT OR IGNORE INTO jpush_tags VALUES (?, ?, ?)",
                [(app["app_key"], d["registration_id"], t) for d in app.get("devices", []) for t in d.get("tags", [])])
        capgo = doc.get("capgo", {})
        for key in capgo.get("api_keys", []):
            conn.execute("INSERT OR REPLACE INTO capgo_keys VALUES (?, ?)", (key["key"], key["mode"]))
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        for app in capgo.get("apps", []):
            conn.executemany(
                "INSERT OR REPLACE INTO capgo_devices (app_id, device_id, custom_id, platform, version_name, "
                "plugin_version, os_version, version_build, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(app["app_id"], d["device_id"], d.get("custom_id", ""), d.get("platform"), d.get("version_name"),
                  d.get("plugin_version", ""), d.get("os_version"), d.get("version_build", ""), now, now)
                 for d in app.get("devices", [])])
        for ws in doc.get("moengage", {}).get("workspaces", []):
            conn.execute("INSERT OR REPLACE INTO moengage_workspaces VALUES (?, ?)", (ws["app_id"], ws["api_key"]))
            conn.executemany("INSERT OR IGNORE INTO moengage_customers VALUES (?, ?)",
                             [(ws["app_id"], c["customer_id"]) for c in ws.get("customers", [])])
    conn.close()


def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except Exception:
        return None
    return user, password


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "bad json"}', content_type="application/json") from None


class Naive:
    """Handlers of the naive server; ``self.db`` is one aiosqlite connection."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def _one(self, sql: str, args: tuple) -> Any:
        async with self.db.execute(sql, args) as cur:
            return await cur.fetchone()

    async def _all(self, sql: str, args: tuple) -> list:
        async with self.db.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def _run(self, sql: str, rows: list[tuple]) -> None:
        # one execute per row, each cursor closed: executemany on the shared connection while
        # another request's cursor is open trips sqlite3's "bad parameter or other API misuse"
        for args in rows:
            async with self.db.execute(sql, args):
                pass

    # -- Beams -------------------------------------------------------------------------------
    async def beams_register(self, request: web.Request) -> web.Response:
        instance_id, platform = request.match_info["instance"], request.match_info["platform"]
        if await self._one("SELECT 1 FROM beams_instances WHERE instance_id = ?", (instance_id,)) is None:
            return _json_error(404, "Instance not found")
        body = await _json_body(request)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return _json_error(400, "Missing token")
        device_id = f"{platform}-{uuid.uuid4()}"
        await self._run(
            "INSERT INTO beams_devices VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            [(device_id, instance_id, platform, token, body.get("bundleIdentifier"),
              json.dumps(body.get("metadata") or {}), time.time())])
        await self.db.commit()
        return web.json_response({"id": device_id, "initialInterestSet": []})

    async def beams_set_interests(self, request: web.Request) -> web.Response:
        device_id = request.match_info["device_id"]
        body = await _json_body(request)
        interests = body.get("interests") if isinstance(body, dict) else None
        if not isinstance(interests, list) or not all(isinstance(i, str) for i in interests):
            return _json_error(400, "Bad request")
        if await self._one("SELECT 1 FROM beams_devices WHERE id = ? AND instance_id = ?",
                           (device_id, request.match_info["instance"])) is None:
            return _json_error(404, "Device not found")
        await self._run("DELETE FROM beams_interests WHERE device_id = ?", [(device_id,)])
        await self._run("INSERT OR IGNORE INTO beams_interests VALUES (?, ?)",
                                  [(device_id, i) for i in interests])
        await self.db.commit()
        return web.Response(status=200)

    # -- JPush -------------------------------------------------------------------------------
    async def _jpush_app(self, request: web.Request) -> str | None:
        creds = _basic(request)
        if creds is None:
            return None
        row = await self._one("SELECT master_secret FROM jpush_apps WHERE app_key = ?", (creds[0],))
        return creds[0] if row is not None and row[0] == creds[1] else None

    async def jpush_get_device(self, request: web.Request) -> web.Response:
        app_key = await self._jpush_app(request)
        if app_key is None:
            return _json_error(401, "unauthorized")
        rid = request.match_info["rid"]
        row = await self._one("SELECT alias, mobile FROM jpush_devices WHERE app_key = ? AND registration_id = ?",
                              (app_key, rid))
        if row is None:
            return _json_error(400, "The registration_id does not belong to this appkey!")
        tags = [r[0] for r in await self._all(
            "SELECT tag FROM jpush_tags WHERE app_key = ? AND registration_id = ? ORDER BY tag", (app_key, rid))]
        return web.json_response({"tags": tags, "alias": row[0], "mobile": row[1]})

    async def jpush_tag_update(self, request: web.Request) -> web.Response:
        app_key = await self._jpush_app(request)
        if app_key is None:
            return _json_error(401, "unauthorized")
        tag = request.match_info["tag"]
        body = await _json_body(request)
        ids = body.get("registration_ids") if isinstance(body, dict) else None
        if not isinstance(ids, dict):
            return _json_error(400, "illegal request parameters")
        for rid in ids.get("add", []) + ids.get("remove", []):
            if await self._one("SELECT 1 FROM jpush_devices WHERE app_key = ? AND registration_id = ?",
                               (app_key, rid)) is None:
                return _json_error(400, "The registration_id does not belong to this appkey!")
        await self._run("DELETE FROM jpush_tags WHERE app_key = ? AND registration_id = ? AND tag = ?",
                                  [(app_key, rid, tag) for rid in ids.get("remove", [])])
        await self._run("INSERT OR IGNORE INTO jpush_tags VALUES (?, ?, ?)",
                                  [(app_key, rid, tag) for rid in ids.get("add", [])])
        await self.db.commit()
        return web.Response(status=200)

    # -- Capgo -------------------------------------------------------------------------------
    async def capgo_list(self, request: web.Request) -> web.Response:
        key = request.headers.get("capgkey") or request.headers.get("authorization")
        if not key or await self._one("SELECT 1 FROM capgo_keys WHERE key = ?", (key,)) is None:
            return _json_error(401, "invalid_apikey")
        app_id = request.query.get("app_id")
        if not app_id:
            return _json_error(400, "missing_app_id")
        try:
            page = int(request.query.get("page") or 0)
        except ValueError:
            page = 0
        rows = await self._all(
            "SELECT device_id, custom_id, platform, version_name, plugin_version, os_version, version_build, "
            "is_prod, is_emulator, created_at, updated_at FROM capgo_devices WHERE app_id = ? "
            "ORDER BY device_id LIMIT 50 OFFSET ?", (app_id, page * 50))
        data = [{"device_id": r[0], "custom_id": r[1], "platform": r[2], "version": r[3], "app_id": app_id,
                 "plugin_version": r[4], "os_version": r[5], "version_build": r[6], "is_prod": bool(r[7]),
                 "is_emulator": bool(r[8]), "created_at": r[9], "updated_at": r[10]} for r in rows]
        return web.json_response(data)

    # -- MoEngage ----------------------------------------------------------------------------
    async def moengage_track_device(self, request: web.Request) -> web.Response:
        app_id = request.match_info["app_id"]
        creds = _basic(request)
        row = await self._one("SELECT api_key FROM moengage_workspaces WHERE app_id = ?", (app_id,))
        if creds is None or row is None or creds != (app_id, row[0]):
            return _json_error(401, "Authentication required")
        body = await _json_body(request)
        if not isinstance(body, dict) or body.get("type") != "device" or not isinstance(body.get("attributes"), dict):
            return _json_error(400, "bad payload")
        customer, device = body.get("customer_id"), body.get("device_id")
        if await self._one("SELECT 1 FROM moengage_customers WHERE app_id = ? AND customer_id = ?",
                           (app_id, customer)) is None:
            return web.json_response(MOE_OK)  # unknown customer: accepted and dropped
        await self._run(
            "INSERT INTO moengage_devices VALUES (?, ?, ?, ?, ?) ON CONFLICT (app_id, device_id) DO UPDATE SET "
            "customer_id = excluded.customer_id, attributes = excluded.attributes, updated_at = excluded.updated_at",
            [(app_id, device, customer, json.dumps(body["attributes"]), time.time())])
        await self.db.commit()
        return web.json_response(MOE_OK)


BEAMS = "/device_api/v1/instances/{instance}/devices/{platform}"


def naive_routes(handlers: Naive) -> list[web.RouteDef]:
    return [
        web.post(BEAMS, handlers.beams_register),
        web.put(BEAMS + "/{device_id}/interests", handlers.beams_set_interests),
        web.get("/v3/devices/{rid}", handlers.jpush_get_device),
        web.post("/v3/tags/{tag}", handlers.jpush_tag_update),
        web.get("/device", handlers.capgo_list),
        web.post("/v1/device/{app_id}", handlers.moengage_track_device),
    ]


def bare_routes(bodies: dict[str, Any]) -> list[web.RouteDef]:
    def canned(name: str):
        body = bodies.get(name, {"status": "ok"})

        async def handler(request: web.Request) -> web.Response:
            return web.json_response(body)
        return handler

    return [
        web.get("/v3/devices/{rid}", canned("jpush_get_device")),
        web.get("/device", canned("capgo_list_page")),
        web.get("/bare", canned("-")),
    ]


async def serve(args: argparse.Namespace) -> None:
    db = None
    if args.mode == "naive":
        import aiosqlite  # not a project dependency: the harness installs it when missing

        doc = json.load(open(args.fixtures)) if args.fixtures else {}
        load_fixtures(args.db, doc)
        db = await aiosqlite.connect(args.db)
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute(f"PRAGMA synchronous = {args.sync.upper()}")
        routes = naive_routes(Naive(db))
    else:
        bodies = json.load(open(args.bodies)) if args.bodies else {}
        routes = bare_routes(bodies)
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"baseline ready on http://127.0.0.1:{port} ({args.mode})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if db is not None:
            await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("naive", "bare"), default="naive")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=":memory:")
    parser.add_argument("--fixtures", help="fixture document (the emulator's format) to seed the naive server")
    parser.add_argument("--bodies", help="JSON {scenario: body} answered by the bare server")
    parser.add_argument("--sync", choices=("full", "normal", "off"), default="full",
                        help="PRAGMA synchronous of the naive server (full: a 2xx is fsynced, like the emulator)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
