"""The store's reads on the serving loop share one read transaction per loop iteration
(emulator/storage.py, Store.read): a write acknowledged meanwhile starts a new one, so a request
always reads what it was told is written; the transaction ends with the iteration."""
from __future__ import annotations

import asyncio

import pytest_asyncio

from emulator.storage import Component, Store, single_statement


def _count(conn) -> int:
    return conn.execute("SELECT count(*) FROM toy_rows").fetchone()[0]


@single_statement
def _count_alone(conn) -> int:
    return conn.execute("SELECT count(*) FROM toy_rows").fetchone()[0]


def _insert(conn) -> None:
    conn.execute("INSERT INTO toy_rows (x) VALUES (1)")


@pytest_asyncio.fixture
async def served_store(tmp_path):
    """A store on a file, started on the test's loop (the serving loop)."""
    store = Store(str(tmp_path / "reads.db"))
    store.open([Component("toy", ["CREATE TABLE toy_rows (x INTEGER)"])])
    store.start(asyncio.get_running_loop())
    try:
        yield store
    finally:
        store.close()


async def test_a_read_after_an_acknowledged_write_sees_it(served_store):
    store = served_store
    read_conn = store._read_conn
    assert store.read(_count) == 0
    assert read_conn.in_transaction  # the snapshot stays open for this iteration's other reads
    store.write_now(_insert)  # committed and acknowledged within the same iteration
    assert store.read(_count) == 1
    await store.write(_insert)  # through the writer thread
    assert store.read(_count) == 2
    await asyncio.sleep(0)  # the next iteration ends the read transaction
    await asyncio.sleep(0)
    assert not read_conn.in_transaction


async def test_reads_off_the_serving_loop_use_their_own_transaction(tmp_path):
    store = Store(str(tmp_path / "reads.db"))
    store.open([Component("toy", ["CREATE TABLE toy_rows (x INTEGER)"])])
    try:  # not started: a CLI or start-up read
        assert store.read(_count) == 0
        assert not store._read_conn.in_transaction
    finally:
        store.close()


async def test_a_single_statement_read_opens_no_transaction_and_sees_acknowledged_writes(served_store):
    """One statement is its own snapshot: outside a shared snapshot it runs alone; inside a
    fresh one it reads that snapshot; a stale one (a write acknowledged since) is ended first."""
    store = served_store
    read_conn = store._read_conn
    assert store.read(_count_alone) == 0
    assert not read_conn.in_transaction
    await store.write(_insert)
    assert store.read(_count_alone) == 1
    assert store.read(_count) == 1  # opens the iteration's snapshot
    assert store.read(_count_alone) == 1 and read_conn.in_transaction  # inside it
    store.write_now(_insert)  # acknowledged in the same iteration: the snapshot is stale
    assert store.read(_count_alone) == 2
    assert not read_conn.in_transaction  # ended, not renewed
