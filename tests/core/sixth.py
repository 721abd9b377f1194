"""A toy sixth vendor with tenants, and its test contract: it proves the cross-vendor tests follow
the registry (tests/core/test_sixth_vendor.py runs them on a registry copy that adds it).

Notes per account: ``X-Sixth-Key`` names the account; ``GET /sixth/v1/notes`` lists the account's
notes, ``PUT|GET|DELETE /sixth/v1/notes/{name}`` write, read and remove one. Bodies are JSON
objects of at most 4 KiB; every error is ``{"sixth_error": message, "status": status}``.
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any

from aiohttp import web

from emulator.errors import ApiError, json_response
from emulator.fixtures import expect_keys, expect_list, expect_object, expect_str, expect_unique
from emulator.httputil import BodyError, read_json
from emulator.openapi import closed_object, success
from emulator.vendor import Route, Vendor
from tests.contract import Call, Contract

CAP = 4096
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
HEADER = "X-Sixth-Key"
NOTE = closed_object({"name": {"type": "string"}, "text": {"type": "string"}})


def sixth_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"sixth_error": message, "status": status})


# -- storage (a real vendor keeps this in its storage.py) ------------------------------------------
def find_account(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT key FROM sixth_accounts WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def create_account(conn: sqlite3.Connection, key: str) -> str:
    conn.execute("INSERT INTO sixth_accounts(key) VALUES (?)", (key,))
    return key


def notes(conn: sqlite3.Connection, account: str) -> list[dict[str, str]]:
    return [{"name": n, "text": t} for n, t in conn.execute(
        "SELECT name, text FROM sixth_notes WHERE account = ? ORDER BY name", (account,))]


def put_note(conn: sqlite3.Connection, account: str, name: str, text: str) -> None:
    conn.execute("INSERT INTO sixth_notes(account, name, text) VALUES (?, ?, ?) "
                 "ON CONFLICT(account, name) DO UPDATE SET text = excluded.text", (account, name, text))


def delete_note(conn: sqlite3.Connection, account: str, name: str) -> int:
    return conn.execute("DELETE FROM sixth_notes WHERE account = ? AND name = ?", (account, name)).rowcount


class Sixth(Vendor):
    name = "sixth"
    title = "Sixth (a toy vendor for the tests)"
    path_roots = frozenset({"sixth"})
    migrations = (
        "CREATE TABLE sixth_accounts (key TEXT PRIMARY KEY);",
        "CREATE TABLE sixth_notes (account TEXT NOT NULL REFERENCES sixth_accounts(key), name TEXT NOT NULL,"
        " text TEXT NOT NULL, PRIMARY KEY (account, name));",
    )
    error_schema = {"type": "object", "required": ["sixth_error", "status"], "additionalProperties": False,
                    "properties": {"sixth_error": {"type": "string"}, "status": {"type": "integer"}}}

    def routes(self) -> list[Route]:
        key = {"name": HEADER, "in": "header", "required": True, "schema": {"type": "string"}}
        body = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 200}}}
        note = {"200": success(NOTE, "the note")}
        return [
            Route("GET", "/sixth/v1/notes", self.list_notes, "the account's notes", doc={"parameters": [key],
                  "responses": {"200": success(closed_object({"notes": {"type": "array", "items": NOTE}}), "notes")}}),
            Route("PUT", "/sixth/v1/notes/{name}", self.put, "write a note",
                  doc={"parameters": [key], "requestBody": body, "responses": note}),
            Route("GET", "/sixth/v1/notes/{name}", self.get, "read a note", doc={"parameters": [key], "responses": note}),
            Route("DELETE", "/sixth/v1/notes/{name}", self.delete, "remove a note",
                  doc={"parameters": [key], "responses": {"200": success(closed_object({}), "removed: {}")}}),
        ]

    async def account(self, request: web.Request) -> str:
        key = request.headers.get(HEADER, "")
        return str(await self.tenant(request, find_account, create_account, key,
                                     refusal=sixth_error(401, "unknown key"), creatable=0 < len(key) <= 64))

    @staticmethod
    def note_name(request: web.Request) -> str:
        name = request.match_info["name"]
        if not NAME.fullmatch(name):
            raise sixth_error(400, "bad note name")
        return name

    async def list_notes(self, request: web.Request) -> web.Response:
        account = await self.account(request)
        return json_response({"notes": self.ctx.store.read(notes, account)})

    async def put(self, request: web.Request) -> web.Response:
        account = await self.account(request)
        name = self.note_name(request)
        try:
            body = await read_json(request, CAP, require_object=True)
        except BodyError as exc:
            raise sixth_error(413 if exc.kind == "too_large" else 400, exc.kind) from None
        text = body.get("text")
        if set(body) != {"text"} or not isinstance(text, str) or len(text) > 200:
            raise sixth_error(400, "expected {\"text\": a string of at most 200 characters}")
        await self.ctx.store.write(put_note, account, name, text)
        return json_response({"name": name, "text": text})

    async def get(self, request: web.Request) -> web.Response:
        account = await self.account(request)
        name = self.note_name(request)
        found = [n for n in self.ctx.store.read(notes, account) if n["name"] == name]
        if not found:
            raise sixth_error(404, "no such note")
        return json_response(found[0])

    async def delete(self, request: web.Request) -> web.Response:
        account = await self.account(request)
        name = self.note_name(request)
        if not await self.ctx.store.write(delete_note, account, name):
            raise sixth_error(404, "no such note")
        return json_response({})

    # fixtures: {"accounts": [{"key": ..., "notes": [{"name": ..., "text": ...}]}]}
    def validate_fixture(self, doc: Any, path: str) -> None:
        expect_keys(doc, path, optional=("accounts",))
        accounts = expect_list(doc.get("accounts", []), f"{path}.accounts")
        for i, acc in enumerate(accounts):
            p = f"{path}.accounts[{i}]"
            expect_object(acc, p)
            expect_keys(acc, p, required=("key",), optional=("notes",))
            expect_str(acc["key"], f"{p}.key", pattern=r".{1,64}")
            for j, note in enumerate(expect_list(acc.get("notes", []), f"{p}.notes")):
                expect_object(note, f"{p}.notes[{j}]")
                expect_keys(note, f"{p}.notes[{j}]", required=("name", "text"))
                expect_str(note["name"], f"{p}.notes[{j}].name", pattern=NAME.pattern)
                expect_str(note["text"], f"{p}.notes[{j}].text")
        expect_unique(((f"{path}.accounts[{i}].key", a["key"]) for i, a in enumerate(accounts)), "account key")

    def load_fixture(self, conn: sqlite3.Connection, doc: dict[str, Any]) -> None:
        for acc in doc.get("accounts", []):
            if find_account(conn, acc["key"]) is None:
                create_account(conn, acc["key"])
            for note in acc.get("notes", []):
                put_note(conn, acc["key"], note["name"], note["text"])

    def export_state(self, conn: sqlite3.Connection) -> dict[str, Any]:
        keys = [r[0] for r in conn.execute("SELECT key FROM sixth_accounts ORDER BY key")]
        return {"accounts": [{"key": k, "notes": notes(conn, k)} for k in keys]}

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return sixth_error(status, "generic")

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        return sixth_error(status, "no such route")


SIXTH_FIXTURE = {"sixth": {"accounts": [{"key": "sixth-key-a", "notes": [{"name": "a-note", "text": "hello"}]}]}}


class SixthContract(Contract):
    vendor = "sixth"
    caps = [(".*", ".*", CAP)]
    valid_bodies = [("PUT", r"/notes/\{name\}$", {"text": "a note"})]
    default = {"key": "sixth-key-a", "note": "a-note"}
    a = default
    b = {"key": "sixth-key-b", "note": "b-note"}
    unknown = {"key": "sixth-nobody"}
    state_tenants = ("accounts", "key", "key")
    b_markers = ["b-secret-text"]
    probe = ("GET", "/sixth/v1/notes", {HEADER: "sixth-key-a"}, None)

    def path_table(self, t):
        return {"name": t["note"]}

    def credentials(self, op, t):
        headers = {HEADER: t["key"]}
        if op.method == "PUT":
            headers["Content-Type"] = "application/json"
        return headers, {}

    def second_fixture(self) -> dict[str, Any]:
        return {"accounts": [{"key": self.b["key"], "notes": [{"name": self.b["note"], "text": "b-secret-text"}]}]}

    def fuzz_pins(self, path, operation):
        return {"headers": {HEADER: self.default["key"]}}

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        return [("PUT", f"{url}/sixth/v1/notes/chaos-{n % 10}", {"headers": {HEADER: "sixth-key-a"},
                                                                 "json": {"text": f"chaos {n}"}})]


SIXTH_CONTRACT = SixthContract()
