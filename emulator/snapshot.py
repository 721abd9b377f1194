"""Reset by restoring a snapshot instead of re-running the fixture load.

A reset empties the vendors' tables and loads the start-up fixtures again: ~80 statements
and the fixture modules' Python for the default document, every test. The first full reset
keeps a copy of what the load produced in the write connection's TEMP schema (never on disk,
never seen by another connection) and, from then on, TEMP triggers note which tables any
write changed. A later reset deletes and re-copies only those tables, in the same one
transaction as before, so a test that touched two tables pays for two.

The copy is only used when the load is a pure function of the fixture documents: before it
is trusted, the documents are loaded a second time with another clock reading and every table
is compared with the copy (a stamp taken from the clock, a random id, anything that differs
disables the snapshot, and resets keep loading the fixtures as before).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

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
                conn.execute(f"CREATE TEMP TRIGGER {trig} AFTER {event} ON main.{_q(t)} "
                             f"BEGIN INSERT INTO {DIRTY} (name) SELECT {lit} "
                             f"WHERE NOT EXISTS (SELECT 1 FROM {DIRTY} WHERE name = {lit}); END")
        self.tables = {v: list(ts) for v, ts in tables.items()}
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
        conn.execute("PRAGMA defer_foreign_keys = ON")
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
