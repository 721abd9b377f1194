"""The per-app context: every request handler, the control plane, the CLI and the pytest
plugin reach the emulator's state through one :class:`Context`, found on the app under
:data:`CONTEXT`. It lives apart from :mod:`emulator.app` so that the app factory, the control
plane and the vendors can all import it without importing each other."""
from __future__ import annotations

import inspect
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import deliveries
from .clock import Clock
from .config import Config
from .faults import FaultRules
from .fixtures import FixtureError, validate_document
from .journal import Journal
from .options import Options
from .ratelimit import SlidingWindowLimiter
from .storage import (ResetSnapshot, Store, clear_tables, mark_startup_fixtures_loaded, startup_fixtures_were_loaded,
                      vendor_tables)
from .vendor import Route, Vendor

if TYPE_CHECKING:  # the CA (and cryptography) is loaded where the proxy starts, in a worker thread
    from .ca import CertificateAuthority


def takes_now(vendor: Vendor) -> bool:
    """Whether the vendor's ``load_fixture`` accepts ``now`` (an override may predate it)."""
    try:
        return "now" in inspect.signature(vendor.load_fixture).parameters
    except (TypeError, ValueError):
        return False


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
    #: the HTTPS proxy's address and CA, once it listens (None when it is off)
    proxy_url: str | None = None
    ca: CertificateAuthority | None = None
    #: what the start-up fixtures produce, restored by reset instead of loading them again
    reset_snapshot: ResetSnapshot = field(default_factory=ResetSnapshot)

    # -- lookups ----------------------------------------------------------------------------
    def vendor_for_path(self, path: str) -> Vendor | None:
        return self.roots.get(path.lstrip("/").split("/", 1)[0])

    # -- state operations shared by the control plane, the CLI and the pytest plugin ---------
    def validate(self, doc: Any) -> dict[str, Any]:
        return validate_document(doc, self.vendors)

    def _load(self, conn: sqlite3.Connection, doc: dict[str, Any], only: str | None = None,
              now: str | None = None) -> None:
        for name, part in doc.items():
            if only is None or name == only:
                if now is None:
                    self.vendors[name].load_fixture(conn, part)
                else:
                    self.vendors[name].load_fixture(conn, part, now=now)

    def _clear(self, conn: sqlite3.Connection, only: str | None = None) -> None:
        for name in self.vendors:
            if only is None or name == only:
                if name not in self.tables:  # the schema is fixed once migrated: look it up once
                    self.tables[name] = vendor_tables(conn, name)
                clear_tables(conn, self.tables[name])
        deliveries.clear(conn, only)  # the ledger is reset with the state

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
            mark_startup_fixtures_loaded(conn, self.clock.iso())
        self.store.write_now(load)

    def startup_fixtures_loaded(self) -> bool:
        return bool(self.store.read(startup_fixtures_were_loaded))

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

        snapshot = self.reset_snapshot
        if snapshot.usable is None and not all(takes_now(v) for v in self.vendors.values()):
            snapshot.usable = False  # a load we cannot give another clock reading cannot be verified
        building = vendor is None and snapshot.usable is None

        def reset(conn):
            if snapshot.usable:
                snapshot.restore(conn, [vendor] if vendor is not None else list(self.vendors))
                deliveries.clear(conn, vendor)  # the ledger is no fixture: it is emptied, not restored
                return

            def reload(now: str | None = None) -> None:
                self._clear(conn, vendor)
                for doc in self.startup_documents:
                    self._load(conn, doc, vendor, now)

            reload()
            if building:
                snapshot.build(conn, self.tables, reload, lambda: self._clear(conn))

        if vendor is None:  # first: reloading fixtures stamps them with the clock's time
            self.clock.reset()
        try:
            await self.store.write(reset)
        except BaseException:
            if building:  # rolled back with the transaction: the copy and triggers are gone too
                snapshot.usable = None
            raise
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
