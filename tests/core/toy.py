"""A minimal vendor used to test the core machinery on its own."""
from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from emulator.config import Config
from emulator.pytest_plugin import DeviceEmulator
from emulator.server import BackgroundServer

from emulator import deliveries
from emulator.errors import ApiError, json_response
from emulator.openapi import closed_object, success
from emulator.fixtures import expect_int, expect_keys, expect_list, expect_object, expect_str, expect_unique
from emulator.httputil import BodyError, read_json
from emulator.vendor import Option, Route, Vendor


def toy_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"toy_error": message, "status": status})


TOY_TENANT = "toy-app"
STR = {"type": "string"}
ITEM = closed_object({"name": STR, "value": {"type": "integer"}})


class Toy(Vendor):
    name = "toy"
    title = "Toy"
    path_roots = frozenset({"toy"})
    migrations = (
        "CREATE TABLE toy_items (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        "CREATE TABLE toy_tags (item TEXT NOT NULL REFERENCES toy_items(name), tag TEXT NOT NULL,"
        " PRIMARY KEY (item, tag));",
        # the delivery ledger: an item is a device (platform "fcm" unless set), a publish targets tags
        "CREATE TABLE toy_platforms (item TEXT PRIMARY KEY REFERENCES toy_items(name), platform TEXT NOT NULL);\n"
        "CREATE TABLE toy_publishes (id INTEGER PRIMARY KEY, tags TEXT NOT NULL, payload TEXT NOT NULL);",
    )
    options = {
        "profile": Option("plain", "toy profile", choices=("plain", "fancy")),
        "loud": Option(False, "shout", kind=bool),
    }

    def routes(self) -> list[Route]:
        item = {"201": success(ITEM, "the item")}
        return [
            Route("POST", "/toy/items", self.create, "create or add to an item", doc={"responses": item}),
            Route("GET", "/toy/items/{name}", self.get, "read one item",
                  doc={"responses": {"200": success(ITEM, "the item")}}),
            Route("POST", "/toy/items/{name}/fail", self.write_then_refuse, "write, then refuse",
                  doc={"responses": {"200": success(closed_object({}), "never answered")}}),
            Route("GET", "/toy/boom", self.boom, "crash", doc={"responses": {"200": success(None, "never")}}),
            Route("GET", "/toy/profile", self.profile, "current profile", doc={"responses": {"200": success(
                closed_object({"profile": STR, "loud": {"type": "boolean"}, "auth": STR}), "the profile")}}),
            Route("PUT", "/toy/items/{name}/platform", self.set_platform, "set an item's push platform",
                  doc={"responses": {"200": success(closed_object({"name": STR, "platform": STR}), "set")}}),
            Route("POST", "/toy/publish", self.publish, "push to the items with any of some tags",
                  doc={"responses": {"201": success(closed_object(
                      {"publish_id": STR, "deliveries": {"type": "integer"}}), "the publish")}}),
        ]

    async def create(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request, 1024, require_object=True)
        except BodyError as exc:
            raise toy_error(413 if exc.kind == "too_large" else 400, exc.kind) from None
        name, add = body.get("name"), body.get("add", 1)
        if not isinstance(name, str) or not isinstance(add, int):
            raise toy_error(400, "bad fields")

        def write(conn):
            conn.execute("INSERT INTO toy_items(name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, add))
            # registering again brings a fresh push token
            deliveries.forget_dead_token(conn, vendor=self.name, tenant=TOY_TENANT, device_id=name)
            return conn.execute("SELECT value FROM toy_items WHERE name = ?", (name,)).fetchone()[0]

        value = await self.ctx.store.write(write)
        return json_response({"name": name, "value": value}, 201)

    async def get(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        row = self.ctx.store.read(lambda c: c.execute("SELECT value FROM toy_items WHERE name = ?",
                                                       (name,)).fetchone())
        if row is None:
            raise toy_error(404, "no such item")
        return json_response({"name": name, "value": row[0]})

    async def write_then_refuse(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]

        def write(conn):
            conn.execute("UPDATE toy_items SET value = value + 1000 WHERE name = ?", (name,))
            raise toy_error(409, "refused after writing")

        await self.ctx.store.write(write)
        return json_response({})  # never reached

    async def boom(self, request: web.Request) -> web.Response:
        raise RuntimeError("a bug in a handler")

    async def profile(self, request: web.Request) -> web.Response:
        return json_response({"profile": self.option("profile"), "loud": self.option("loud"),
                              "auth": self.ctx.options.auth})

    # -- delivery ledger ------------------------------------------------------------------------
    async def set_platform(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await read_json(request, 1024, require_object=True)

        def write(conn):
            if conn.execute("SELECT 1 FROM toy_items WHERE name = ?", (name,)).fetchone() is None:
                raise toy_error(404, "no such item")
            conn.execute("INSERT OR REPLACE INTO toy_platforms(item, platform) VALUES (?, ?)",
                         (name, body["platform"]))

        await self.ctx.store.write(write)
        return json_response({"name": name, "platform": body["platform"]})

    async def publish(self, request: web.Request) -> web.Response:
        body = await read_json(request, 1 << 20, require_object=True)
        tags, payload = body.get("tags"), body.get("payload")
        if (not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags)
                or not isinstance(payload, dict)):
            raise toy_error(400, "bad fields")
        now = self.ctx.clock.iso()

        def write(conn):
            pid = conn.execute("INSERT INTO toy_publishes(tags, payload) VALUES (?, ?)",
                               (json.dumps(tags), json.dumps(payload))).lastrowid
            publish_id = f"pub-{pid}"
            dead = deliveries.dead_tokens(conn, vendor=self.name, tenant=TOY_TENANT)
            marks = ",".join("?" * len(tags))
            rows = conn.execute(
                "SELECT i.name, coalesce(p.platform, 'fcm'), min(t.tag) FROM toy_items i "
                "JOIN toy_tags t ON t.item = i.name LEFT JOIN toy_platforms p ON p.item = i.name "
                f"WHERE t.tag IN ({marks}) GROUP BY i.name ORDER BY i.name", tags).fetchall()
            out = []
            for device, platform, tag in rows:
                if platform not in payload:
                    continue
                if device in dead:
                    out.append(deliveries.Delivery(device, platform, "failed", f"token invalidated: {dead[device]}",
                                                   {"tag": tag}, payload[platform]))
                else:
                    out.append(deliveries.Delivery(device, platform, "delivered", f"tagged {tag}",
                                                   {"tag": tag}, payload[platform]))
            deliveries.record(conn, vendor=self.name, tenant=TOY_TENANT, publish_id=publish_id,
                              deliveries=out, now=now)
            return publish_id, len(out)

        publish_id, count = await self.ctx.store.write(write)
        return json_response({"publish_id": publish_id, "deliveries": count}, 201)

    def explain_miss(self, conn, tenant, publish_id, device_id):
        if tenant != TOY_TENANT or not publish_id.startswith("pub-") or not publish_id[4:].isdigit():
            return None
        publish = conn.execute("SELECT tags, payload FROM toy_publishes WHERE id = ?",
                               (int(publish_id[4:]),)).fetchone()
        item = conn.execute("SELECT coalesce(p.platform, 'fcm') FROM toy_items i LEFT JOIN toy_platforms p "
                            "ON p.item = i.name WHERE i.name = ?", (device_id,)).fetchone()
        if publish is None or item is None:
            return None
        tags = json.loads(publish[0])
        mine = {r[0] for r in conn.execute("SELECT tag FROM toy_tags WHERE item = ?", (device_id,))}
        if not mine & set(tags):
            return f"not tagged with any of {', '.join(tags)}"
        return f"the publish has no {item[0]} payload"

    def invalidate_token(self, conn, tenant, device_id, reason):
        return tenant == TOY_TENANT and conn.execute(
            "SELECT 1 FROM toy_items WHERE name = ?", (device_id,)).fetchone() is not None

    # fixtures
    def validate_fixture(self, doc, path):
        expect_keys(doc, path, optional=("items",))
        items = expect_list(doc.get("items", []), f"{path}.items")
        for i, item in enumerate(items):
            p = f"{path}.items[{i}]"
            expect_object(item, p)
            expect_keys(item, p, required=("name", "value"), optional=("tags",))
            expect_str(item["name"], f"{p}.name", pattern=r"[a-z0-9-]{1,40}")
            expect_int(item["value"], f"{p}.value")
            for j, tag in enumerate(expect_list(item.get("tags", []), f"{p}.tags")):
                expect_str(tag, f"{p}.tags[{j}]")
        expect_unique(((f"{path}.items[{i}].name", it["name"]) for i, it in enumerate(items)), "item name")

    def load_fixture(self, conn, doc):
        for item in doc.get("items", []):
            conn.execute("INSERT INTO toy_items(name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (item["name"], item["value"]))
            if "tags" in item:
                conn.execute("DELETE FROM toy_tags WHERE item = ?", (item["name"],))
                conn.executemany("INSERT INTO toy_tags(item, tag) VALUES (?, ?)",
                                 [(item["name"], t) for t in item["tags"]])

    def export_state(self, conn):
        items = []
        for name, value in conn.execute("SELECT name, value FROM toy_items ORDER BY name"):
            tags = [r[0] for r in conn.execute("SELECT tag FROM toy_tags WHERE item = ? ORDER BY tag", (name,))]
            items.append({"name": name, "value": value, "tags": tags})
        return {"items": items}

    def generic_error(self, request, status):
        return ApiError(status, {"toy_error": "generic", "status": status})

    def unknown_route(self, request, status):
        return ApiError(status, f"toy has no {request.method} {request.path}\n",
                        content_type="text/plain; charset=utf-8")


TOY_FIXTURE = {"toy": {"items": [{"name": "alpha", "value": 1, "tags": ["x"]}, {"name": "beta", "value": 2}]}}


class ToyServer(DeviceEmulator):
    def __init__(self, server: BackgroundServer) -> None:
        super().__init__(server.url)
        self.server = server
        self.context = server.context


def start_toy(tmp_path: Path, **overrides) -> BackgroundServer:
    fixture = tmp_path / "toy.json"
    fixture.write_text(json.dumps(TOY_FIXTURE))
    cfg = Config(host="127.0.0.1", port=0, db=str(tmp_path / "toy.db"), fixtures=[str(fixture)],
                 log_level="warning")
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return BackgroundServer(cfg, vendor_classes=[Toy]).start()
