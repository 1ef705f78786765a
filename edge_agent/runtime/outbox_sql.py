"""The outbox's tables: their schema, opening them, what they hold, and the one SQLite habit every
part of the outbox needs."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_agent.runtime.outbox_hold import HeldMessage
from edge_agent.runtime.outbox_messages import ROW_OVERHEAD_BYTES
from edge_agent.runtime.outbox_quota import limit_wal

DELETE_CHUNK = 500  # positions per DELETE statement (SQLite binds at most 32,766 variables)

# SQLite's page cache, per connection. Its default (2 MB) fills slowly as the journal grows over
# weeks, which a soak sees as memory creeping; the hot rows are a few pages (the OS caches the rest).
CACHE_KIB = 256

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT    NOT NULL,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    qos      INTEGER NOT NULL,
    retain   INTEGER NOT NULL,
    created  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, position);
CREATE TABLE IF NOT EXISTS rejected (
    position INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    reason   TEXT    NOT NULL,
    rejected REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1);
CREATE TABLE IF NOT EXISTS sent (
    seq     INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL,
    topic   TEXT    NOT NULL,
    payload BLOB    NOT NULL,
    sent    REAL    NOT NULL
);
"""


def rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: SQLite may have ended it itself (a failed COMMIT
    on a full disk), and ROLLBACK then raises "no transaction is active"."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


@dataclass(slots=True)
class Counts:
    """The rows' figures, kept in step with every transaction (read from the event loop)."""

    depth: int = 0
    bytes: int = 0
    next_seq: int = 1
    last_position: int = 0
    thinned_total: int = 0
    rejected_total: int = 0


def connect(path: Path, wal_bytes: int) -> sqlite3.Connection:
    """The database at `path` (created with its tables if new), in WAL mode, `synchronous=FULL`;
    transactions are explicit (`isolation_level=None`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    limit_wal(db, wal_bytes)
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    return db


def count(db: sqlite3.Connection) -> Counts:
    """What the tables hold, at open."""
    depth, size = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
    ).fetchone()
    return Counts(
        depth=depth,
        bytes=size + depth * ROW_OVERHEAD_BYTES,
        rejected_total=db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0],
        next_seq=db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0],
        last_position=db.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name='outbox'), 0), "
            "COALESCE((SELECT MAX(position) FROM outbox), 0), "
            "COALESCE((SELECT MAX(position) FROM rejected), 0))"
        ).fetchone()[0],
    )


def insert(db: sqlite3.Connection, rows: Sequence[HeldMessage]) -> None:
    """Write `rows` in the caller's transaction."""
    db.executemany(
        "INSERT INTO outbox (position, kind, topic, payload, qos, retain, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.position, r.kind, r.topic, r.payload, r.qos, int(r.retain), r.created) for r in rows],
    )


Deleted = tuple[str, str, bytes | None, int]  # kind, topic, payload (None: telemetry), counted size


def delete_returning(db: sqlite3.Connection, positions: Sequence[int]) -> list[Deleted]:
    """Delete rows in the caller's transaction, one statement per chunk; what each deleted:
    (kind, topic, payload or None for telemetry, which is never journaled, its counted size)."""
    deleted: list[Deleted] = []
    for start in range(0, len(positions), DELETE_CHUNK):
        chunk = list(positions[start : start + DELETE_CHUNK])
        marks = ",".join("?" * len(chunk))
        deleted += db.execute(
            "DELETE FROM outbox "  # noqa: S608 - only `?` placeholders are interpolated
            f"WHERE position IN ({marks}) RETURNING kind, topic, "
            "CASE WHEN kind = 'telemetry' THEN NULL ELSE payload END, LENGTH(payload) + LENGTH(topic)",
            chunk,
        ).fetchall()
    return deleted
