"""The per-app context: every request handler, the control plane, the CLI and the pytest
plugin reach the emulator's state through one :class:`Context`, found on the app under
:data:`CONTEXT`. It lives apart from :mod:`emulator.app` so that the app factory, the control
plane and the vendors can all import it without importing each other."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .clock import Clock
from .config import Config
from .faults import FaultRules
from .fixtures import FixtureError, validate_document
from .journal import Journal
from .options import Options
from .ratelimit import SlidingWindowLimiter
from .storage import Store, clear_tables, vendor_tables
from .vendor import Route, Vendor

CONTEXT: web.AppKey[Context] = web.AppKey("emulator_context")
CONTROL_ROOT = "_emulator"


@dataclass
class Context:
    """Everything a request handler may need, built once per app."""

    config: Config
    store: Store
    clock: Clock
    limiter: SlidingWindowLimiter
    journal: Journal
    options: Options
    faults: FaultRules = field(default_factory=FaultRules)
    vendors: dict[str, Vendor] = field(default_factory=dict)
    #: first path segment -> vendor, for error shapes and journal attribution
    roots: dict[str, Vendor] = field(default_factory=dict)
    #: (vendor name or None for the control plane, route) in registration order
    routes: list[tuple[str | None, Route]] = field(default_factory=list)
    startup_documents: list[dict[str, Any]] = field(default_factory=list)
    openapi: dict[str, Any] | None = None
    #: vendor -> its tables, children first (what reset empties)
    tables: dict[str, list[str]] = field(default_factory=dict)

    # -- lookups ----------------------------------------------------------------------------
    def vendor_for_path(self, path: str) -> Vendor | None:
        return self.roots.get(path.lstrip("/").split("/", 1)[0])

    # -- state operations shared by the control plane, the CLI and the pytest plugin ---------
    def validate(self, doc: Any) -> dict[str, Any]:
        return validate_document(doc, self.vendors)

    def _load(self, conn: sqlite3.Connection, doc: dict[str, Any], only: str | None = None) -> None:
        for name, part in doc.items():
            if only is None or name == only:
                self.vendors[name].load_fixture(conn, part)

    def _clear(self, conn: sqlite3.Connection, only: str | None = None) -> None:
        for name in self.vendors:
            if only is None or name == only:
                if name not in self.tables:  # the schema is fixed once migrated: look it up once
                    self.tables[name] = vendor_tables(conn, name)
                clear_tables(conn, self.tables[name])

    def load_startup_sync(self) -> None:
        """Load the start-up fixtures into a database that never had them, and mark it in the
        same transaction: a load that fails leaves the database as new as it was."""
        def load(conn):
            for file, doc in zip(self.config.fixtures, self.startup_documents, strict=True):
                try:
                    self._load(conn, doc)
                except FixtureError as exc:  # a check only loading can make (cross-references)
                    exc.file = file  # type: ignore[attr-defined]
                    raise
            conn.execute("INSERT OR REPLACE INTO core_meta(key, value) VALUES ('startup_fixtures_loaded', ?)",
                         (self.clock.iso(),))
        self.store.write_now(load)

    def startup_fixtures_loaded(self) -> bool:
        return self.store.read(lambda conn: conn.execute(
            "SELECT 1 FROM core_meta WHERE key = 'startup_fixtures_loaded'").fetchone() is not None)

    async def merge(self, doc: Any) -> None:
        """Validate (raises FixtureError) and merge a fixture document."""
        doc = self.validate(doc)
        await self.store.write(self._load, doc)

    async def replace(self, doc: Any) -> None:
        """Validate, then replace the whole state in one transaction."""
        doc = self.validate(doc)

        def replace(conn):
            self._clear(conn)
            self._load(conn, doc)

        await self.store.write(replace)
        for vendor in self.vendors.values():
            vendor.on_reset()

    async def reset(self, vendor: str | None = None) -> None:
        """Empty the state (one vendor or all) and reload the start-up fixtures, in one
        transaction; forget rate windows, journal entries, options set at run time."""

        def reset(conn):
            self._clear(conn, vendor)
            for doc in self.startup_documents:
                self._load(conn, doc, vendor)

        if vendor is None:  # first: reloading fixtures stamps them with the clock's time
            self.clock.reset()
        await self.store.write(reset)
        self.limiter.reset(vendor)
        self.faults.clear(vendor)
        self.journal.clear(vendor)
        self.options.reset(vendor)
        for name, v in self.vendors.items():
            if vendor is None or name == vendor:
                v.on_reset()

    def export(self, vendor: str | None = None) -> dict[str, Any]:
        def export(conn):
            return {
                name: v.export_state(conn)
                for name, v in self.vendors.items()
                if vendor is None or name == vendor
            }
        return self.store.read(export)
