"""The outbox's tables, and the one SQLite habit every part of it needs."""

from __future__ import annotations

import contextlib
import sqlite3

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
