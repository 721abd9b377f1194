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
import json
import logging
import os
import time
import queue
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, TypeVar
from collections.abc import Callable, Iterable, Sequence

log = logging.getLogger("emulator.storage")

WriteFn = Callable[..., Any]
ReadFn = TypeVar("ReadFn", bound=Callable[..., Any])

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
#: health keeps reporting a failed write this long after it, whatever succeeded since
FAILURE_MEMORY_SECONDS = 5.0


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
            # 64 MiB of page cache at most (the default is 2 MiB): a transaction writing a large
            # audience's delivery rows updates index pages all over the file (~40% faster for
            # 100,000 random device ids in a paired run; docs/benchmark.md)
            conn.execute("PRAGMA cache_size = -65536")
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


#: write connections on which the running write deferred its foreign-key checks
#: (:func:`defer_foreign_keys`): only those writes pay for a foreign_key_check
_DEFERRED: set[int] = set()


#: read functions that run exactly one SQL statement (:func:`single_statement`)
_SINGLE_STATEMENT: set[Callable[..., Any]] = set()


def single_statement(fn: ReadFn) -> ReadFn:
    """Mark a read function that runs exactly one SQL statement. One statement is its own
    consistent snapshot, so :meth:`Store.read` runs it without opening a read transaction (a
    BEGIN and a COMMIT are most of the cost of a one-row read)."""
    _SINGLE_STATEMENT.add(fn)
    return fn


def defer_foreign_keys(conn: sqlite3.Connection) -> None:
    """Check this write's foreign keys when it is done rather than per statement (emptying and
    refilling related tables). Every deferral goes through here (tests/core/test_imports.py)."""
    conn.execute("PRAGMA defer_foreign_keys = ON")
    _DEFERRED.add(id(conn))


def _run_in_savepoint(conn: sqlite3.Connection, fn: WriteFn, args: tuple, alone: bool = False) -> Any:
    """One write of a batch in its own SAVEPOINT. Its foreign keys are checked before it is
    released, so one write's violation never surfaces at the batch's COMMIT and fails the others:
    a write that deferred its checks (``clear_tables``) is checked in full here. A write ``alone``
    in its transaction needs no savepoint: its failure rolls the transaction back."""
    if not alone:
        conn.execute("SAVEPOINT w")
    try:
        result = fn(conn, *args)
        if id(conn) in _DEFERRED:
            _DEFERRED.discard(id(conn))
            conn.execute("PRAGMA defer_foreign_keys = OFF")
            if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")
    except BaseException:
        _DEFERRED.discard(id(conn))
        if conn.in_transaction:  # else SQLite already rolled back the whole transaction
            try:
                if alone:
                    conn.execute("ROLLBACK")
                else:
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
            except sqlite3.Error:  # pragma: no cover - the original error says more
                log.exception("rollback of a failed write failed")
        raise
    if not alone:
        conn.execute("RELEASE w")
    return result


#: SQLite primary result codes that mean the database cannot take writes (not a refusal)
_STORAGE_FAILURES = {8: "READONLY", 10: "IOERR", 11: "CORRUPT", 13: "FULL", 14: "CANTOPEN", 26: "NOTADB"}


def storage_failure(exc: BaseException) -> bool:
    """True for the errors that say the disk or file failed, not the write."""
    if isinstance(exc, StorageError):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and (code & 0xFF) in _STORAGE_FAILURES


class DatabaseOpenError(Exception):
    """The database cannot be used at start-up; the message is one line naming the file."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SchemaTooNew(RuntimeError):
    """The database was written by a newer emulator."""


def _explain(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, SchemaTooNew):
        return text
    if "file is not a database" in text:
        return "the file is not an SQLite database"
    if "readonly" in text or "read-only" in text:
        return "the file or its directory is read-only (the emulator needs to write it)"
    if "unable to open" in text:
        return "cannot create or open the file (is its directory writable?)"
    return text


class StorageError(RuntimeError):
    """The database cannot take writes (its file vanished, the disk is full...)."""


class WriteNotCommitted(StorageError):
    """This write succeeded, but the transaction it shared was lost by another write's failure."""


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
        #: writes whose commit was answered (on the loop thread): a read snapshot older than the
        #: newest answer is renewed (see :meth:`read`)
        self.acknowledged = 0
        self._snapshot_at = 0
        #: why writes fail (disk full, file vanished), None while they work
        self.write_error: str | None = None
        #: (why, monotonic time) of the newest failed write: a small write succeeding on a
        #: nearly full disk does not make the disk healthy while bigger ones still fail
        self._last_failure: tuple[str, float] | None = None
        self._identity: tuple[int, int] | None = None
        self._lock_fd: int | None = None
        self.writes = 0

    # -- lifecycle --------------------------------------------------------------------------
    def open(self, components: Iterable[Component]) -> None:
        """Open and migrate; the reader connection too in file mode. Raises
        :class:`DatabaseOpenError` with one line naming the file and the cause."""
        if self.file_backed:
            self._lock()
        try:
            self._write_conn = _connect(self.path, file_backed=self.file_backed, writer=True)
            self._migrate(self._write_conn, list(components))
            if self.file_backed:
                self._read_conn = _connect(self.path, file_backed=True, writer=False)
                self._read_conn.execute("PRAGMA query_only = ON")
            else:
                self._read_conn = self._write_conn
        except (sqlite3.Error, SchemaTooNew) as exc:
            self.close()
            raise DatabaseOpenError(f"cannot use database {self.path}: {_explain(exc)}") from None
        if self.file_backed:
            st = os.stat(self.path)
            self._identity = (st.st_dev, st.st_ino)

    def _lock(self) -> None:
        """One emulator per database file: an exclusive ``flock`` (independent of SQLite's own
        POSIX locks) held until :meth:`close`. A second server on the same ``--db`` would share
        the state silently; it refuses to start instead."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            where = os.path.dirname(os.path.abspath(self.path))
            reason = (f"directory {where} does not exist" if not os.path.isdir(where)
                      else exc.strerror or str(exc))
            raise DatabaseOpenError(f"cannot use database {self.path}: {reason}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DatabaseOpenError(f"database {self.path} is in use by another device-api-emulator process",
                                    exit_code=1) from None
        self._lock_fd = fd

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
        if self._lock_fd is not None:  # after SQLite's connections: closing it drops POSIX locks
            os.close(self._lock_fd)
            self._lock_fd = None

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
                    raise SchemaTooNew(
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
        """Run ``fn(conn, *args)`` on one consistent snapshot, on the calling thread.

        On the serving loop, the reads of one loop iteration share one read transaction, ended
        at the next iteration (most requests read twice: their tenant, then their data; a busy
        loop serves several requests per iteration). A write acknowledged since the snapshot
        began starts a new one first, so a request always reads what it was told is written.
        A read may also see a write the writer has committed but the loop has not acknowledged
        yet (``Vendor.tenant`` relies on holding a tenant from before its create is queued).
        A :func:`single_statement` read outside a snapshot opens none: its statement is one."""
        conn = self._read_conn
        assert conn is not None, "store is not open"
        loop = self._loop
        if loop is None or conn is self._write_conn or asyncio._get_running_loop() is not loop:
            conn.execute("BEGIN")
            try:
                return fn(conn, *args)
            finally:
                conn.execute("COMMIT")
        if conn.in_transaction:
            if self._snapshot_at == self.acknowledged:
                return fn(conn, *args)
            conn.execute("COMMIT")
        if fn in _SINGLE_STATEMENT:  # its own snapshot: nothing to open or end
            return fn(conn, *args)
        conn.execute("BEGIN")
        self._snapshot_at = self.acknowledged
        loop.call_soon(self._end_snapshot)
        return fn(conn, *args)

    def _end_snapshot(self) -> None:
        conn = self._read_conn
        if conn is not None and conn.in_transaction:
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
        finally:
            _DEFERRED.discard(id(conn))  # SQLite checks a deferral at this COMMIT itself
        conn.execute("COMMIT")
        self.commits += 1
        self.writes += 1
        self.acknowledged += 1
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
        """Each write in its own SAVEPOINT, one COMMIT for those that succeeded. An answer says
        exactly what happened to that write: a refused write rolled back only itself; if a
        failure took the whole transaction with it (SQLite rolls back on a full disk or an I/O
        error), the writes done so far in it fail with that cause and the rest of the batch
        continues in a new transaction; if COMMIT fails, no write of it is acknowledged."""
        outcomes: list[tuple[asyncio.Future, bool, Any]] = []
        pending: list[tuple[asyncio.Future, Any]] = []  # done in the open transaction

        def lose_pending(cause: BaseException) -> None:
            for fut, _ in pending:
                outcomes.append((fut, False, WriteNotCommitted(f"not committed: {cause}")))
            pending.clear()

        for fn, args, fut in batch:
            try:
                if not conn.in_transaction:
                    self._check_file()
                    conn.execute("BEGIN IMMEDIATE")
                pending.append((fut, _run_in_savepoint(conn, fn, args, alone=len(batch) == 1)))
            except Exception as exc:  # the caller gets its own exception back
                if storage_failure(exc):
                    self._failed(exc)
                if not conn.in_transaction:
                    lose_pending(exc)
                outcomes.append((fut, False, exc))
        if conn.in_transaction:
            try:
                conn.execute("COMMIT")
            except Exception as exc:
                self._failed(exc, f"commit of {len(pending)} write(s)")
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                lose_pending(exc)
            else:
                self.commits += 1
                self.writes += len(pending)
                self.write_error = None
                outcomes.extend((fut, True, result) for fut, result in pending)
        loop = self._loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(self._resolve_all, outcomes)
        except RuntimeError:  # loop closed during shutdown
            pass

    def _resolve_all(self, outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
        """On the loop thread: count the acknowledgement before anybody hears of it."""
        self.acknowledged += 1
        _resolve(outcomes)

    def _failed(self, exc: BaseException, what: str = "write") -> None:
        self.write_error = f"{what} failed: {exc}"
        self._last_failure = (self.write_error, time.monotonic())
        log.error("%s failed on %s: %s: %s", what, self.path, type(exc).__name__, exc)

    # -- the file under us ------------------------------------------------------------------
    def _check_file(self) -> None:
        """Refuse writes when the database file was deleted or replaced while we run: SQLite
        would keep writing to the unlinked inode and everything acknowledged would be lost."""
        if self._identity is None:
            return
        try:
            st = os.stat(self.path)
        except OSError:
            raise StorageError(f"database file {self.path} has vanished; writes are refused "
                               "(restart the emulator)") from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise StorageError(f"database file {self.path} was replaced; writes are refused "
                               "(restart the emulator)")

    def file_present(self) -> bool:
        try:
            self._check_file()
        except StorageError:
            return False
        return True

    def health(self) -> str | None:
        """None when writes work, else why not. A failed write is reported for a few seconds
        even when a later one succeeded: on a nearly full disk a small write fits where the
        next larger one does not, and "ok" would be a lie while some writes still fail."""
        try:
            self._check_file()
        except StorageError as exc:
            self.write_error = str(exc)
            return str(exc)
        if self.write_error is None and self._last_failure is not None:
            why, at = self._last_failure
            if time.monotonic() - at < FAILURE_MEMORY_SECONDS:
                return why
        return self.write_error


def _resolve(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for fut, ok, value in outcomes:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)


# -- the delivery ledger's SQL (emulator/deliveries.py decides what to keep) ----------------------

#: the delivery ledger's tables (emulator/deliveries.py), the core's migration component ``core``
#: one generation table of the ledger (two of them, 0 and 1: see deliveries.record)
_DELIVERY_GENERATION = """
    CREATE TABLE IF NOT EXISTS core_deliveries_{g} (
        id          INTEGER PRIMARY KEY,
        vendor      TEXT NOT NULL,
        tenant      TEXT NOT NULL,
        publish_id  TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        platform    TEXT,
        status      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        matched_by  TEXT,
        payload     INTEGER,  -- core_payloads.id: an audience shares a few payloads
        time        TEXT NOT NULL
    );
    -- every index ends in the rowid (id): each serves its filter newest first without a sort
    CREATE INDEX IF NOT EXISTS core_deliveries_{g}_publish ON core_deliveries_{g}(publish_id);
    CREATE INDEX IF NOT EXISTS core_deliveries_{g}_device ON core_deliveries_{g}(device_id);
"""

LEDGER_MIGRATIONS: tuple[str, ...] = (
    # version 1: one table (kept as it was, for databases made with it)
    """
    CREATE TABLE IF NOT EXISTS core_deliveries (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        vendor      TEXT NOT NULL,
        tenant      TEXT NOT NULL,
        publish_id  TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        platform    TEXT,
        status      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        matched_by  TEXT,
        payload     TEXT,
        time        TEXT NOT NULL
    );
    -- every index ends in the rowid (id): each serves its filter newest first without a sort
    CREATE INDEX IF NOT EXISTS core_deliveries_publish ON core_deliveries(vendor, publish_id);
    CREATE INDEX IF NOT EXISTS core_deliveries_device ON core_deliveries(device_id);
    CREATE TABLE IF NOT EXISTS core_publishes (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        vendor          TEXT NOT NULL,
        tenant          TEXT NOT NULL,
        publish_id      TEXT NOT NULL,
        first_delivery  INTEGER,
        time            TEXT NOT NULL,
        UNIQUE (vendor, publish_id, tenant)
    );
    CREATE TABLE IF NOT EXISTS core_dead_tokens (
        vendor     TEXT NOT NULL,
        tenant     TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        reason     TEXT NOT NULL,
        time       TEXT NOT NULL,
        PRIMARY KEY (vendor, tenant, device_id)
    );
    """,
    """
    -- version 2: two generation tables and stored-once payloads. The version 1 rows are dropped
    -- (the ledger is history, reset with the state); so are the publishes their ids referred to.
    DROP TABLE IF EXISTS core_deliveries;
    DELETE FROM core_publishes;
    DELETE FROM core_meta WHERE key = 'deliveries_trimmed_upto';
""" + "".join(_DELIVERY_GENERATION.format(g=g) for g in (0, 1)) + """
    CREATE VIEW IF NOT EXISTS core_deliveries AS
        SELECT * FROM core_deliveries_0 UNION ALL SELECT * FROM core_deliveries_1;
    CREATE TABLE IF NOT EXISTS core_payloads (
        id         INTEGER PRIMARY KEY,
        text       TEXT NOT NULL UNIQUE,
        last_used  INTEGER NOT NULL  -- the newest delivery id that may use it (dropped with it)
    );
    CREATE INDEX IF NOT EXISTS core_payloads_last_used ON core_payloads(last_used);
    """,
)

_LEDGER_COLUMNS = ("d.id, d.vendor, d.tenant, d.publish_id, d.device_id, d.platform, d.status, d.reason, "
                   "d.matched_by, pl.text, d.time")


def ledger_meta_int(conn: sqlite3.Connection, key: str, default: int) -> int:
    row = conn.execute("SELECT value FROM core_meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row is not None else default


def ledger_set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute("INSERT INTO core_meta(key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, str(value)))


def ledger_drop(conn: sqlite3.Connection, cut: int, empty: tuple[int, ...]) -> None:
    """Delete every delivery with an id up to ``cut``: the generation tables in ``empty`` whole (a
    DELETE without WHERE frees their pages without visiting rows), the others row by row."""
    for gen in (0, 1):
        if gen in empty:
            conn.execute(f"DELETE FROM core_deliveries_{gen}")
        else:
            conn.execute(f"DELETE FROM core_deliveries_{gen} WHERE id <= ?", (cut,))
    conn.execute("DELETE FROM core_payloads WHERE last_used <= ?", (cut,))


def ledger_payload(conn: sqlite3.Connection, text: str, last_used: int) -> int:
    """The id of a payload's stored text (stored once), kept until delivery ``last_used`` goes."""
    return conn.execute(
        "INSERT INTO core_payloads(text, last_used) VALUES (?, ?) ON CONFLICT(text) DO UPDATE "
        "SET last_used = excluded.last_used RETURNING id", (text, last_used)).fetchone()[0]


def ledger_insert(conn: sqlite3.Connection, gen: int, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        f"INSERT INTO core_deliveries_{gen}(id, vendor, tenant, publish_id, device_id, platform, "
        "status, reason, matched_by, payload, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def ledger_note_publish(conn: sqlite3.Connection, vendor: str, tenant: str, publish_id: str,
                        first_delivery: int | None, now: str, *, keep: int) -> None:
    """Note a publish (its first delivery id, if any) and keep only the newest ``keep`` publishes."""
    conn.execute(
        "INSERT INTO core_publishes(vendor, tenant, publish_id, first_delivery, time) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(vendor, publish_id, tenant) DO UPDATE SET "
        "first_delivery = coalesce(first_delivery, excluded.first_delivery), time = excluded.time",
        (vendor, tenant, publish_id, first_delivery, now))
    top = conn.execute("SELECT max(id) FROM core_publishes").fetchone()[0]
    if top > keep:
        conn.execute("DELETE FROM core_publishes WHERE id <= ?", (top - keep,))


def ledger_clear(conn: sqlite3.Connection, vendor: str | None, *, meta_keys: tuple[str, ...]) -> None:
    """One vendor's deliveries, publishes and dead tokens, or everything (then ids restart)."""
    tables = ["core_deliveries_0", "core_deliveries_1", "core_publishes", "core_dead_tokens"]
    if vendor is None:
        tables.append("core_payloads")
    keys = ", ".join("?" * len(meta_keys))
    # one look at what there is to forget, then only those statements: SQLite's DELETE of a whole
    # table writes its root page even when the table is empty, and a per-test reset with an empty
    # ledger would commit (and fsync) five pages that did not change
    *has_rows, meta_set, sequence_set = conn.execute(
        "SELECT " + ", ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)
        + f", EXISTS (SELECT 1 FROM core_meta WHERE key IN ({keys}))"
        + ", EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'core_publishes')", meta_keys).fetchone()
    for table, rows in zip(tables, has_rows, strict=True):
        if not rows:
            continue
        if vendor is None:
            conn.execute(f"DELETE FROM {table}")
        else:
            conn.execute(f"DELETE FROM {table} WHERE vendor = ?", (vendor,))
    if vendor is None and meta_set:
        conn.execute(f"DELETE FROM core_meta WHERE key IN ({keys})", meta_keys)
    if vendor is None and sequence_set:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = 'core_publishes'")


def ledger_dead_tokens(conn: sqlite3.Connection, vendor: str, tenant: str) -> dict[str, str]:
    return dict(conn.execute(
        "SELECT device_id, reason FROM core_dead_tokens WHERE vendor = ? AND tenant = ?", (vendor, tenant)))


def ledger_forget_dead_token(conn: sqlite3.Connection, vendor: str, tenant: str, device_id: str) -> None:
    conn.execute("DELETE FROM core_dead_tokens WHERE vendor = ? AND tenant = ? AND device_id = ?",
                 (vendor, tenant, device_id))


def ledger_mark_dead_token(conn: sqlite3.Connection, vendor: str, tenant: str, device_id: str,
                           reason: str, now: str) -> None:
    conn.execute(
        "INSERT INTO core_dead_tokens(vendor, tenant, device_id, reason, time) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(vendor, tenant, device_id) DO UPDATE SET reason = excluded.reason, time = excluded.time",
        (vendor, tenant, device_id, reason, now))


def ledger_select(conn: sqlite3.Connection, gen: int, filters: dict[str, str | None],
                  limit: int) -> list[tuple[Any, ...]]:
    """Rows of one generation table matching every non-None filter (column -> value), newest first."""
    where = [f"d.{column} = ?" for column, value in filters.items() if value is not None]
    args = [value for value in filters.values() if value is not None]
    # A device's rows are few, a publish's may be the whole ledger: the narrowest index, whose
    # rows are in id order; without either, the newest rows are read first until ``limit`` match.
    hint = (f"INDEXED BY core_deliveries_{gen}_device" if filters.get("device_id") is not None else
            f"INDEXED BY core_deliveries_{gen}_publish" if filters.get("publish_id") is not None else
            "NOT INDEXED")
    sql = (f"SELECT {_LEDGER_COLUMNS} FROM core_deliveries_{gen} d {hint} "
           "LEFT JOIN core_payloads pl ON pl.id = d.payload")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return conn.execute(sql + " ORDER BY d.id DESC LIMIT ?", (*args, limit)).fetchall()


def ledger_publish_tenant(conn: sqlite3.Connection, vendor: str, publish_id: str,
                          tenant: str | None) -> str | None:
    sql = "SELECT tenant FROM core_publishes WHERE vendor = ? AND publish_id = ?"
    args: tuple[Any, ...] = (vendor, publish_id)
    if tenant is not None:
        sql += " AND tenant = ?"
        args += (tenant,)
    row = conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
    return None if row is None else row[0]


def ledger_first_delivery(conn: sqlite3.Connection, vendor: str, tenant: str, publish_id: str) -> int | None:
    row = conn.execute("SELECT first_delivery FROM core_publishes WHERE vendor = ? AND tenant = ? "
                       "AND publish_id = ?", (vendor, tenant, publish_id)).fetchone()
    return None if row is None else row[0]


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
    defer_foreign_keys(conn)
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


# -- reset by snapshot --------------------------------------------------------------------------
# Reset by restoring a snapshot instead of re-running the fixture load.
#
# A reset empties the vendors' tables and loads the start-up fixtures again: ~80 statements
# and the fixture modules' Python for the default document, every test. The first full reset
# keeps a copy of what the load produced in the write connection's TEMP schema (never on disk,
# never seen by another connection) and, from then on, TEMP triggers note which tables any
# write changed. A later reset deletes and re-copies only those tables, in the same one
# transaction as before, so a test that touched two tables pays for two.
#
# The copy is only used when the load is a pure function of the fixture documents: before it
# is trusted, the documents are loaded a second time with another clock reading and every table
# is compared with the copy (a stamp taken from the clock, a random id, anything that differs
# disables the snapshot, and resets keep loading the fixtures as before).

#: the clock reading of the second, verifying load: any stamp taken from the clock differs
PROBE_NOW = "2001-02-03T04:05:06.789Z"
DIRTY = "emulator_reset_dirty"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy(table: str) -> str:
    return _q("emulator_reset_copy_" + table)


class ResetSnapshot:
    """States: ``None`` not built yet, ``True`` in use, ``False`` not usable (load on reset)."""

    def __init__(self) -> None:
        self.usable: bool | None = None
        #: vendor -> its tables, children first (the order :func:`storage.vendor_tables` gives)
        self.tables: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        #: table -> the tables whose foreign keys reference it
        self.children: dict[str, set[str]] = {}
        #: a foreign key the children-first order cannot satisfy statement by statement (a cycle,
        #: a table referencing itself or another vendor's): restores then defer the checks
        self.needs_deferral = False

    # -- building ------------------------------------------------------------------------------
    def build(self, conn: sqlite3.Connection, tables: dict[str, list[str]],
              reload: Callable[[str], None], clear: Callable[[], None]) -> None:
        """Called inside the reset transaction right after the fixtures were loaded (with the
        real clock). ``reload(now)`` clears and loads them again with another clock reading."""
        all_tables = [t for ts in tables.values() for t in ts]
        for t in all_tables:
            conn.execute(f"DROP TABLE IF EXISTS temp.{_copy(t)}")
            conn.execute(f"CREATE TEMP TABLE {_copy(t)} AS SELECT * FROM main.{_q(t)}")
        reload(PROBE_NOW)
        same = all(self._equal(conn, t) for t in all_tables)
        if not same:  # put the real-clock load back and forget the copy
            clear()
            for t in reversed(all_tables):
                conn.execute(f"INSERT INTO main.{_q(t)} SELECT * FROM temp.{_copy(t)}")
            for t in all_tables:
                conn.execute(f"DROP TABLE temp.{_copy(t)}")
            self.usable = False
            return
        self.rows = {t: conn.execute(f"SELECT count(*) FROM temp.{_copy(t)}").fetchone()[0] for t in all_tables}
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {DIRTY} (name TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.execute(f"DELETE FROM temp.{DIRTY}")
        for t in all_tables:
            lit = "'" + t.replace("'", "''") + "'"
            for event in ("INSERT", "UPDATE", "DELETE"):
                trig = _q(f"emulator_reset_{event.lower()}_{t}")
                # no INSERT OR IGNORE: the outer statement's conflict clause (e.g. OR ABORT)
                # would override it
                conn.execute(f"DROP TRIGGER IF EXISTS temp.{trig}")
                # the condition in WHEN: a row of an already-noted table runs no trigger program
                conn.execute(f"CREATE TEMP TRIGGER {trig} AFTER {event} ON main.{_q(t)} "
                             f"WHEN NOT EXISTS (SELECT 1 FROM {DIRTY} WHERE name = {lit}) "
                             f"BEGIN INSERT INTO {DIRTY} (name) VALUES ({lit}); END")
        self.tables = {v: list(ts) for v, ts in tables.items()}
        owner = {t: v for v, ts in self.tables.items() for t in ts}
        self.children, self.needs_deferral = {}, False
        for v, ts in self.tables.items():
            for child in ts:
                for parent in {r[2] for r in conn.execute(f"PRAGMA foreign_key_list({_q(child)})")}:
                    self.children.setdefault(parent, set()).add(child)
                    if owner.get(parent) != v or parent == child or ts.index(child) > ts.index(parent):
                        self.needs_deferral = True
        self.usable = True

    @staticmethod
    def _equal(conn: sqlite3.Connection, t: str) -> bool:
        a, b = f"main.{_q(t)}", f"temp.{_copy(t)}"
        counts = conn.execute(f"SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b})").fetchone()
        if counts[0] != counts[1]:
            return False
        diff = conn.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b})").fetchone()[0]
        return diff == 0

    # -- restoring -----------------------------------------------------------------------------
    def restore(self, conn: sqlite3.Connection, vendors: Iterable[str]) -> int:
        """Bring the changed tables of ``vendors`` back to the snapshot; returns how many."""
        mine = [t for v in vendors for t in self.tables.get(v, ())]
        if not mine:
            return 0
        wanted = set(mine)
        dirty = {r[0] for r in conn.execute(f"SELECT name FROM {DIRTY}")} & wanted
        if not dirty:
            return 0
        if self.needs_deferral:
            defer_foreign_keys(conn)
        else:
            # a restored table's children are restored with it: emptied before it and refilled
            # after it, every statement keeps the foreign keys, so nothing is deferred (setting
            # PRAGMA defer_foreign_keys makes SQLite recompile every statement of the connection)
            stack = list(dirty)
            while stack:
                for child in self.children.get(stack.pop(), ()):
                    if child in wanted and child not in dirty:
                        dirty.add(child)
                        stack.append(child)
        emptied: set[str] = set()
        while dirty - emptied:  # a delete may cascade into tables nobody touched: empty those too
            for t in mine:
                if t in dirty and t not in emptied:
                    conn.execute(f"DELETE FROM main.{_q(t)}")
                    emptied.add(t)
            dirty = {r[0] for r in conn.execute(f"SELECT name FROM {DIRTY}")} & wanted
        for t in reversed(mine):  # parents first
            if t in emptied and self.rows.get(t):
                conn.execute(f"INSERT INTO main.{_q(t)} SELECT * FROM temp.{_copy(t)}")
        if len(wanted) == len(self.rows):
            conn.execute(f"DELETE FROM {DIRTY}")
        else:
            conn.executemany(f"DELETE FROM {DIRTY} WHERE name = ?", [(t,) for t in emptied])
        return len(emptied)


# -- open-mode tenants: the rows a creation added, and taking them back --------------------------

def _key_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns naming one row: ``rowid``, or the primary key of a WITHOUT ROWID table."""
    without_rowid = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (table,)).fetchone()[0].upper().replace(" ", "").endswith("WITHOUTROWID")
    if not without_rowid:
        return ["rowid"]
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]


#: (table, key columns, key values of each row) -- rows tenant creation added, children first
CreatedRows = list[tuple[str, list[str], list[list[Any]]]]


def create_recorded(conn: sqlite3.Connection, vendor: str, create: Callable[..., Any],
                     args: tuple) -> tuple[Any, CreatedRows]:
    """``create(conn, *args)`` and the rows it added to the vendor's tables (recorded by
    temporary triggers, so rowid and WITHOUT ROWID tables alike, whatever their size)."""
    tables = vendor_tables(conn, vendor)
    keys = {t: _key_columns(conn, t) for t in tables}
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS emulator_new_rows (tbl TEXT NOT NULL, key TEXT NOT NULL)")
    conn.execute("DELETE FROM temp.emulator_new_rows")
    for i, table in enumerate(tables):
        values = ", ".join(f'NEW."{c}"' if c != "rowid" else "NEW.rowid" for c in keys[table])
        conn.execute(f'CREATE TEMP TRIGGER emulator_new_row_{i} AFTER INSERT ON main."{table}" BEGIN '
                     f"INSERT INTO emulator_new_rows(tbl, key) VALUES ({i}, json_array({values})); END")
    try:
        result = create(conn, *args)
    finally:
        for i in range(len(tables)):
            conn.execute(f"DROP TRIGGER IF EXISTS temp.emulator_new_row_{i}")
    found: dict[int, list[list[Any]]] = {}
    for index, key in conn.execute("SELECT tbl, key FROM temp.emulator_new_rows ORDER BY rowid"):
        found.setdefault(int(index), []).append(json.loads(key))
    conn.execute("DELETE FROM temp.emulator_new_rows")
    return result, [(tables[i], keys[tables[i]], found[i]) for i in sorted(found)]


def _where(columns: list[str]) -> str:
    return " AND ".join(f'"{c}" = ?' if c != "rowid" else "rowid = ?" for c in columns)


def undo_created_rows(conn: sqlite3.Connection, batches: list[CreatedRows]) -> bool:
    """Remove the rows tenant creation added for a refused request, unless another request has
    used the tenant meanwhile (a row outside ours references one of ours): then keep it all.
    Returns whether anything was removed."""
    ours: dict[str, set[tuple]] = {}
    for batch in batches:
        for table, _, rows in batch:
            ours.setdefault(table, set()).update(tuple(r) for r in rows)
    all_tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for batch in batches:
        for table, columns, rows in batch:
            for other in all_tables:
                refs = [r for r in conn.execute(f'PRAGMA foreign_key_list("{other}")') if r[2] == table]
                if not refs:
                    continue
                other_key = _key_columns(conn, other)
                select_key = ", ".join(f'"{c}"' if c != "rowid" else "rowid" for c in other_key)
                mine = ours.get(other, set())
                for ref in refs:
                    child_col, parent_col = ref[3], ref[4] or "rowid"
                    for row in rows:
                        parent = conn.execute(f'SELECT "{parent_col}" FROM "{table}" WHERE {_where(columns)}',
                                              row).fetchone()
                        if parent is None:
                            continue
                        users = {tuple(r) for r in conn.execute(
                            f'SELECT {select_key} FROM "{other}" WHERE "{child_col}" = ?', (parent[0],))}
                        if users - mine:
                            return False
    for batch in batches:
        for table, columns, rows in batch:  # children first, as vendor_tables orders them
            conn.executemany(f'DELETE FROM "{table}" WHERE {_where(columns)}', rows)
    return True


def health_probe(conn: sqlite3.Connection) -> None:
    """One tiny write: does the database take writes again (space back, file present)?"""
    conn.execute("INSERT OR REPLACE INTO core_meta(key, value) VALUES ('health_probe', 'ok')")
