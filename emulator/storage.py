"""SQLite state: migrations, snapshot reads, and group-committed writes.

Writes are plain functions ``fn(conn, *args)`` run inside a transaction. In file mode one
writer thread owns the write connection; it takes every write that is waiting, runs each in
its own SAVEPOINT (a refused request rolls back only itself), commits once, and only then
resolves the callers' futures. Concurrent requests therefore share one commit (and one
fsync) and none is acknowledged before it is durable.

Reads run on the event-loop thread through a second connection. WAL gives them a consistent
snapshot of committed data without waiting for the writer; a point lookup costs tens of
microseconds, cheaper than any thread hop.

``:memory:`` has no second connection to share, and nothing to fsync, so reads and writes both
run inline on the loop thread, one transaction per write.

aiosqlite was the first candidate; it hops threads once per *statement*, and group commit
needs a whole batch of transaction functions run in one hop, so the writer thread is our own.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable, Sequence

log = logging.getLogger("emulator.storage")

WriteFn = Callable[..., Any]

CORE_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS core_schema_versions (
        component TEXT PRIMARY KEY,
        version   INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS core_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """
)

MAX_BATCH = 256


@dataclass(frozen=True)
class Component:
    """A named set of ordered migrations (``core`` or a vendor)."""

    name: str
    migrations: Sequence[str]


def _configure(conn: sqlite3.Connection, *, file_backed: bool, writer: bool) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    if file_backed:
        if writer:
            conn.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every commit, so an acknowledged write survives
        # a power cut as well as a kill -9. Group commit makes that fsync shared.
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA temp_store = MEMORY")


def _connect(path: str, *, file_backed: bool, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,
        cached_statements=512,
    )
    _configure(conn, file_backed=file_backed, writer=writer)
    return conn


def _run_in_savepoint(conn: sqlite3.Connection, fn: WriteFn, args: tuple) -> Any:
    conn.execute("SAVEPOINT w")
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK TO w")
        conn.execute("RELEASE w")
        raise
    conn.execute("RELEASE w")
    return result


class Store:
    """The emulator's database. Create with :meth:`open`, close with :meth:`close`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file_backed = path != ":memory:"
        self._read_conn: sqlite3.Connection | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0  # number of transactions committed (group commit shares them)
        self.writes = 0

    # -- lifecycle --------------------------------------------------------------------------
    def open(self, components: Iterable[Component]) -> None:
        """Open and migrate; the reader connection too in file mode."""
        self._write_conn = _connect(self.path, file_backed=self.file_backed, writer=True)
        self._migrate(self._write_conn, list(components))
        if self.file_backed:
            self._read_conn = _connect(self.path, file_backed=True, writer=False)
            self._read_conn.execute("PRAGMA query_only = ON")
        else:
            self._read_conn = self._write_conn

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the serving loop; in file mode start the writer thread."""
        self._loop = loop
        if self.file_backed and self._thread is None:
            self._thread = threading.Thread(
                target=self._writer_main, name="emulator-sqlite-writer", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Finish pending writes, stop the writer, checkpoint and close."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._read_conn is not None and self._read_conn is not self._write_conn:
            self._read_conn.close()
        if self._write_conn is not None:
            if self.file_backed:
                try:
                    self._write_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:  # pragma: no cover - best effort
                    log.exception("checkpoint at close failed")
            self._write_conn.close()
        self._read_conn = self._write_conn = None

    def _migrate(self, conn: sqlite3.Connection, components: list[Component]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _split_sql(CORE_SCHEMA):
                conn.execute(stmt)
            for comp in components:
                row = conn.execute(
                    "SELECT version FROM core_schema_versions WHERE component = ?", (comp.name,)
                ).fetchone()
                current = row[0] if row else 0
                if current > len(comp.migrations):
                    raise RuntimeError(
                        f"database schema of {comp.name!r} is version {current}, newer than "
                        f"this emulator's {len(comp.migrations)}; use a newer emulator or a new --db"
                    )
                for version in range(current + 1, len(comp.migrations) + 1):
                    for stmt in _split_sql(comp.migrations[version - 1]):
                        conn.execute(stmt)
                conn.execute(
                    "INSERT INTO core_schema_versions(component, version) VALUES (?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (comp.name, len(comp.migrations)),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- reads ------------------------------------------------------------------------------
    def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(conn, *args)`` on one consistent snapshot, on the calling thread."""
        conn = self._read_conn
        assert conn is not None, "store is not open"
        conn.execute("BEGIN")
        try:
            return fn(conn, *args)
        finally:
            conn.execute("COMMIT")

    # -- writes -----------------------------------------------------------------------------
    async def write(self, fn: WriteFn, *args: Any) -> Any:
        """Run ``fn(conn, *args)`` in a transaction; return its result after COMMIT.

        If ``fn`` raises, its changes are rolled back and the exception propagates;
        other writes sharing the batch are unaffected.
        """
        if not self.file_backed or self._thread is None:
            return self.write_now(fn, *args)
        loop = self._loop or asyncio.get_running_loop()
        fut = loop.create_future()
        self._queue.put((fn, args, fut))
        return await fut

    def write_now(self, fn: WriteFn, *args: Any) -> Any:
        """Synchronous write on the calling thread (memory mode, start-up, CLI)."""
        conn = self._write_conn
        assert conn is not None, "store is not open"
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn, *args)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self.commits += 1
        self.writes += 1
        return result

    def _writer_main(self) -> None:
        conn = self._write_conn
        assert conn is not None
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._run_batch(conn, batch)

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[tuple[asyncio.Future, bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, fut in batch:
                try:
                    outcomes.append((fut, True, _run_in_savepoint(conn, fn, args)))
                except Exception as exc:  # the caller gets its own exception back
                    outcomes.append((fut, False, exc))
            conn.execute("COMMIT")
            self.commits += 1
            self.writes += len(batch)
        except BaseException as exc:  # the commit itself failed: nobody is acknowledged
            log.exception("write batch failed")
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            failure = exc if isinstance(exc, Exception) else RuntimeError(str(exc))
            outcomes = [(fut, False, failure) for _, _, fut in batch]
        loop = self._loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(_resolve_all, outcomes)
        except RuntimeError:  # loop closed during shutdown
            pass


def _resolve_all(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for fut, ok, value in outcomes:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (sqlite3.execute runs one at a time and
    executescript would commit our transaction)."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements


def mark_startup_fixtures_loaded(conn: sqlite3.Connection, when: str) -> None:
    """Record (in the load's own transaction) that the start-up fixtures are in the database."""
    conn.execute("INSERT OR REPLACE INTO core_meta(key, value) VALUES ('startup_fixtures_loaded', ?)", (when,))


def startup_fixtures_were_loaded(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM core_meta WHERE key = 'startup_fixtures_loaded'").fetchone() is not None


def vendor_tables(conn: sqlite3.Connection, vendor: str) -> list[str]:
    """Tables owned by a vendor, children first (so deletes respect foreign keys)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE ? ESCAPE '\\'",
            (vendor.replace("_", "\\_") + "\\_%",),
        )
    ]
    # order: tables referencing others come first
    deps: dict[str, set[str]] = {}
    for name in names:
        refs = {r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
        deps[name] = {r for r in refs if r in names and r != name}
    ordered: list[str] = []
    remaining = set(names)
    while remaining:
        # a table is safe to empty when no remaining table references it
        ready = sorted(t for t in remaining if not any(t in deps[o] for o in remaining if o != t))
        if not ready:  # cycle: fall back to any order (FKs deferred by caller)
            ready = sorted(remaining)
        ordered.extend(ready)
        remaining -= set(ready)
    return ordered


def clear_tables(conn: sqlite3.Connection, tables: Iterable[str]) -> None:
    conn.execute("PRAGMA defer_foreign_keys = ON")
    for table in tables:
        conn.execute(f'DELETE FROM "{table}"')


# -- browsing, for the dashboard: paged, per tenant, never the whole state ---------------------

@dataclass(frozen=True)
class Browse:
    """Where a vendor keeps its tenants and devices, so the control plane can page through them
    with indexed queries instead of exporting the whole state. Names are the vendor's own tables
    and columns (declared in its storage.py); ``tenant_key`` joins devices to tenants, ``tenant_name``
    is what people know the tenant by (they differ where the key is a surrogate id)."""

    tenant_table: str
    tenant_key: str
    device_table: str
    device_tenant: str
    device_id: str
    columns: tuple[str, ...]
    tenant_name: str = ""
    #: what the "devices" of this vendor are (AppLovin's are device lists)
    device_label: str = "devices"

    @property
    def name_column(self) -> str:
        return self.tenant_name or self.tenant_key


def browse_tenants(conn: sqlite3.Connection, spec: Browse) -> list[dict[str, Any]]:
    """Every tenant with its device count (tenants are few: no paging)."""
    rows = conn.execute(
        f'SELECT t."{spec.name_column}", (SELECT COUNT(*) FROM "{spec.device_table}" d '
        f'WHERE d."{spec.device_tenant}" = t."{spec.tenant_key}") '
        f'FROM "{spec.tenant_table}" t ORDER BY t."{spec.name_column}"').fetchall()
    return [{"id": name, "devices": count} for name, count in rows]


def browse_devices(conn: sqlite3.Connection, spec: Browse, tenant: str, search: str, offset: int,
                   limit: int) -> dict[str, Any] | None:
    """One page of a tenant's devices, ordered by id, optionally only ids containing ``search``;
    None when the tenant does not exist."""
    key = conn.execute(f'SELECT "{spec.tenant_key}" FROM "{spec.tenant_table}" WHERE "{spec.name_column}" = ?',
                       (tenant,)).fetchone()
    if key is None:
        return None
    where = f'WHERE "{spec.device_tenant}" = ?'
    params: list[Any] = [key[0]]
    if search:
        where += f' AND instr(lower("{spec.device_id}"), ?) > 0'
        params.append(search.lower())
    total = conn.execute(f'SELECT COUNT(*) FROM "{spec.device_table}" {where}', params).fetchone()[0]
    columns = ", ".join(f'"{c}"' for c in spec.columns)
    rows = conn.execute(f'SELECT {columns} FROM "{spec.device_table}" {where} ORDER BY "{spec.device_id}" '
                        'LIMIT ? OFFSET ?', [*params, limit, offset]).fetchall()
    return {"total": total, "devices": [dict(zip(spec.columns, row, strict=True)) for row in rows]}
