"""The centre's database: SQLite by default (a file, no server), PostgreSQL for a city.

One schema for both, written in the SQL they share (`ON CONFLICT`, window functions). Statements
are written with `?` placeholders; for PostgreSQL they become `%s`. Every write is idempotent:
a message is stored once by its `id`, so replays and duplicates change nothing.

Tables: `message` (every sequenced message: event, state, report, audit; by `id`), `cabinet`
(latest presence), `presence` (presence history), `device` (latest state; a retained state that
replays an older `seq` does not overwrite a newer one), `report` (the latest daily report per
cabinet and day), `audit` (the chain links), `audit_break`, `gap` (missing seq ranges and what
was done about them).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id TEXT PRIMARY KEY, cabinet_id TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT,
    ts TEXT NOT NULL, device_id TEXT, received_at DOUBLE PRECISION NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS message_cabinet_seq ON message (cabinet_id, seq);
CREATE INDEX IF NOT EXISTS message_received ON message (received_at);
CREATE INDEX IF NOT EXISTS message_kind_ts ON message (kind, ts);
CREATE TABLE IF NOT EXISTS cabinet (
    cabinet_id TEXT PRIMARY KEY, site TEXT, state TEXT NOT NULL, reason TEXT, boot_id TEXT,
    agent_version TEXT, ts TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS presence (
    cabinet_id TEXT NOT NULL, ts TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
    PRIMARY KEY (cabinet_id, ts, state)
);
CREATE TABLE IF NOT EXISTS device (
    cabinet_id TEXT NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT,
    state TEXT NOT NULL, since TEXT NOT NULL, cause TEXT, reason TEXT NOT NULL, faults TEXT NOT NULL,
    seq BIGINT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY (cabinet_id, device_id)
);
CREATE TABLE IF NOT EXISTS report (
    cabinet_id TEXT NOT NULL, day TEXT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL,
    PRIMARY KEY (cabinet_id, day)
);
CREATE TABLE IF NOT EXISTS audit (
    cabinet_id TEXT NOT NULL, n BIGINT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL, PRIMARY KEY (cabinet_id, n)
);
CREATE TABLE IF NOT EXISTS audit_break (
    cabinet_id TEXT NOT NULL, n BIGINT NOT NULL, problem TEXT NOT NULL,
    detected_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (cabinet_id, n, problem)
);
CREATE TABLE IF NOT EXISTS gap (
    cabinet_id TEXT NOT NULL, from_seq BIGINT NOT NULL, to_seq BIGINT NOT NULL,
    detected_at DOUBLE PRECISION NOT NULL, requested_at DOUBLE PRECISION, requested_by TEXT,
    status TEXT NOT NULL, note TEXT, PRIMARY KEY (cabinet_id, from_seq)
);
"""


ROWS_PER_STATEMENT = 200  # SQLite multi-row VALUES: 8 x 200 parameters, well under its limit


class Cursor(Protocol):
    rowcount: int

    def fetchall(self) -> list[Any]: ...


class Store:
    """A connection to the centre's database, usable from one thread at a time (`lock`)."""

    def __init__(self, connection: Any, *, dialect: str, where: str) -> None:
        self._connection = connection
        self.dialect = dialect
        self.where = where
        self.lock = threading.RLock()
        self._dsn: str | None = None  # PostgreSQL: to connect again after the server went away

    @classmethod
    def open(cls, target: str | Path) -> Store:
        """A PostgreSQL DSN (`postgresql://...` or `host=... dbname=...`) or an SQLite file path."""
        text = str(target)
        if text.startswith(("postgres://", "postgresql://")) or "dbname=" in text:
            store = cls(_connect_postgres(text), dialect="postgresql", where=_redacted_dsn(text))
            store._dsn = text
        else:
            path = Path(text)
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # the cabinets keep the evidence until PUBACK
            store = cls(connection, dialect="sqlite", where=str(path))
        store.create_schema()
        return store

    def create_schema(self) -> None:
        with self.transaction():
            for statement in filter(str.strip, SCHEMA.split(";")):
                self.execute(statement)

    def close(self) -> None:
        with self.lock:
            self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One transaction; rolled back if the block raises."""
        with self.lock:
            if self.dialect == "sqlite":
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self._connection.execute("ROLLBACK")
                    raise
                self._connection.execute("COMMIT")
            else:
                if self._connection.closed and self._dsn is not None:
                    self._connection = _connect_postgres(self._dsn)
                with self._connection.transaction():
                    yield self

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with self.lock:
            if self.dialect == "sqlite":
                cursor: Cursor = self._connection.execute(sql, params)
                return cursor
            return self._connection.execute(sql.replace("?", "%s"), params)  # type: ignore[no-any-return]  # psycopg's cursor is untyped here

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (psycopg pipelines them: one round trip, not one per row)."""
        if not rows:
            return
        with self.lock:
            if self.dialect == "sqlite":
                self._connection.executemany(sql, rows)
            else:
                with self._connection.cursor() as cursor:
                    cursor.executemany(sql.replace("?", "%s"), rows)

    def insert_returning(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """`INSERT ... VALUES (?, ...) ... RETURNING ...` for many rows; the rows it returned.

        SQLite: multi-row VALUES in chunks (one statement each); PostgreSQL: the one-row statement
        pipelined (one round trip, and psycopg parses the statement once).
        """
        returned: list[tuple[Any, ...]] = []
        if not rows:
            return returned
        if self.dialect == "sqlite":
            head, _, tail = sql.partition("VALUES ")
            values, _, rest = tail.partition(")")
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                many = ", ".join([values + ")"] * len(chunk))
                flat = [value for row in chunk for value in row]
                returned += self.query(f"{head}VALUES {many}{rest}", flat)
            return returned
        with self.lock, self._connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows, returning=True)
            while True:
                returned += [tuple(row) for row in cursor.fetchall()]
                if not cursor.nextset():
                    return returned

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return [tuple(row) for row in self.execute(sql, params).fetchall()]

    def size_bytes(self) -> int:
        """Bytes the centre's tables take on disk (SQLite: the file and its WAL; PostgreSQL: tables
        with their indexes and TOAST)."""
        if self.dialect == "sqlite":
            path = Path(self.where)
            return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        tables = ("message", "cabinet", "presence", "device", "report", "audit", "audit_break", "gap")
        marks = ", ".join("?" * len(tables))
        sql = f"SELECT SUM(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN ({marks})"  # noqa: S608 - placeholders only
        return int(self.query(sql, tables)[0][0] or 0)


def _connect_postgres(dsn: str) -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise RuntimeError("PostgreSQL needs psycopg: pip install 'edge-agent[centre]'") from exc
    return psycopg.connect(dsn, autocommit=True)


def _redacted_dsn(dsn: str) -> str:
    """The DSN for logs: any password replaced by ***."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(dsn)
    if "password" in parts:
        parts["password"] = "***"  # noqa: S105 - the redaction marker, not a password
    return make_conninfo(**{name: str(value) for name, value in parts.items() if value is not None})
