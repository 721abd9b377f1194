"""A minimal vendor whose tenants are found or created through ``Vendor.tenant`` (as every
vendor's are): ``python -m tests.reliability.tenant_toy [serve flags]`` serves it alone."""
from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from emulator.openapi import closed_object, success
from emulator.errors import ApiError, json_response
from emulator.httputil import BodyError, read_json
from emulator.vendor import Route, Vendor


def refusal(status: int, message: str) -> ApiError:
    return ApiError(status, {"tenant_toy_error": message})


def lookup(conn, name: str):
    row = conn.execute("SELECT id FROM tentoy_tenants WHERE name = ?", (name,)).fetchone()
    return None if row is None else row[0]


def create(conn, name: str):
    conn.execute("INSERT OR IGNORE INTO tentoy_tenants(name) VALUES (?)", (name,))
    conn.execute("INSERT OR IGNORE INTO tentoy_settings(tenant_id, key) SELECT id, 'created' FROM tentoy_tenants "
                 "WHERE name = ?", (name,))
    return lookup(conn, name)


class TenantToy(Vendor):
    name = "tentoy"
    title = "Tenant toy"
    path_roots = frozenset({"tentoy"})
    migrations = (
        """CREATE TABLE tentoy_tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE tentoy_settings (tenant_id INTEGER NOT NULL REFERENCES tentoy_tenants(id), key TEXT NOT NULL,
                                      PRIMARY KEY (tenant_id, key)) WITHOUT ROWID;
        CREATE TABLE tentoy_items (tenant_id INTEGER NOT NULL REFERENCES tentoy_tenants(id), value TEXT NOT NULL);""",
    )

    def routes(self) -> list[Route]:
        added = closed_object({"tenant": {"type": "string"}, "value": {"type": "string"}})
        return [Route("POST", "/tentoy/{tenant}/items", self.add_item, "add an item to a tenant",
                      doc={"responses": {"201": success(added, "the item added")}})]

    async def add_item(self, request: web.Request) -> web.Response:
        name = request.match_info["tenant"]
        tenant_id = await self.tenant(request, lookup, create, name, refusal=lambda: refusal(401, "unknown tenant"),
                                      creatable=name.isalnum())
        try:
            body = await read_json(request, 1024, require_object=True)
        except BodyError:
            raise refusal(400, "bad body") from None
        if not isinstance(body.get("value"), str):
            raise refusal(422, "value must be a string")
        await self.ctx.store.write(lambda conn: conn.execute(
            "INSERT INTO tentoy_items(tenant_id, value) VALUES (?, ?)", (tenant_id, body["value"])))
        return json_response({"tenant": name, "value": body["value"]}, 201)

    def export_state(self, conn):
        return {"tenants": [
            {"name": name, "settings": [r[0] for r in conn.execute(
                "SELECT key FROM tentoy_settings WHERE tenant_id = ?", (tid,))],
             "items": [r[0] for r in conn.execute("SELECT value FROM tentoy_items WHERE tenant_id = ?", (tid,))]}
            for tid, name in conn.execute("SELECT id, name FROM tentoy_tenants ORDER BY name").fetchall()]}

    def generic_error(self, request, status):
        return refusal(status, "generic")


if __name__ == "__main__":
    from emulator.cli import build_parser, config_from_args
    from emulator.server import serve_forever

    args = build_parser().parse_args(["serve", "--no-default-fixtures", *sys.argv[1:]])
    asyncio.run(serve_forever(config_from_args(args), vendor_classes=[TenantToy]))
