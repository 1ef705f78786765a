"""The availability ledger: per device, per local day, seconds in each state and offline seconds per cause.

SQLite (WAL), one file in the data dir, survives restarts. Writes are rare by design, to spare
the SD card: a row changes only on a state transition. The liveness mark (the heartbeat) is not
in SQLite (a commit rewrites several pages) but 256 bytes overwritten in place at offset 0 of
`ledger.heartbeat` every `health.heartbeat_interval_s` (default 4 s), each followed by
`fdatasync`: one 4 KiB block per mark, durable, so a power cut loses at most one interval (the
agent-down window is bounded by it; docs/health.md states the bytes per day). Each device has one
*open interval* (state, cause, since); a transition accrues the closed interval into the per-day
totals and opens the next one. Reports read the totals plus the open interval up to "now"
without writing.

After an unclean stop, the open intervals are closed at the last mark and the dead window
[last mark, boot] is booked with the cause the start-up decides (`recover`). Synchronous
on purpose: the agent calls it from one worker thread (`health.service`), the scripted-month
tests call it directly with their own clock.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.health.days import split_by_day

HEARTBEAT_BYTES = 256
_SCHEMA = """
CREATE TABLE IF NOT EXISTS seconds (
    day TEXT NOT NULL, device_id TEXT NOT NULL, state TEXT NOT NULL, cause TEXT NOT NULL,
    seconds REAL NOT NULL, PRIMARY KEY (day, device_id, state, cause)
);
CREATE TABLE IF NOT EXISTS open_interval (
    device_id TEXT PRIMARY KEY, state TEXT NOT NULL, cause TEXT NOT NULL, since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fault_log (
    device_id TEXT NOT NULL, code TEXT NOT NULL, event TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS episode (
    device_id TEXT NOT NULL, code TEXT NOT NULL, since REAL NOT NULL, causes TEXT NOT NULL,
    PRIMARY KEY (device_id, code)
);
CREATE INDEX IF NOT EXISTS fault_log_at ON fault_log (at);
CREATE TABLE IF NOT EXISTS maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT, start REAL NOT NULL, end REAL NOT NULL,
    devices TEXT, operator TEXT, reason TEXT
);
"""


CACHE_KIB = 256  # SQLite page cache of the ledger's connection


@dataclass(frozen=True, slots=True)
class Totals:
    """Seconds per state, and offline seconds per cause, over some days."""

    state_s: dict[str, float]
    offline_cause_s: dict[str, float]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    at: float
    clean: bool
    boot_id: str


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    start: float
    end: float
    devices: frozenset[str] | None  # None: the whole cabinet
    operator: str | None = None
    reason: str = ""

    def covers(self, device_id: str, at: float) -> bool:
        return self.start <= at < self.end and (self.devices is None or device_id in self.devices)


class Ledger:
    def __init__(self, path: Path, tz: ZoneInfo, *, durable_marks: bool = True) -> None:
        self.tz = tz
        self.durable_marks = durable_marks  # False: accelerated simulations that never lose power
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A small WAL, truncated after each checkpoint: it counts in the data dir's quota.
        self._db.execute("PRAGMA wal_autocheckpoint=256")
        self._db.execute("PRAGMA journal_size_limit=262144")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A small page cache: the default 2 MB would fill over months of days and faults (memory creep).
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._heartbeat_path = path.with_suffix(".heartbeat")
        self._heartbeat_fd: int | None = None

    def _migrate(self) -> None:
        """Ledgers written before the repeat rule knew causes: their rows all counted (`counts` 1)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(fault_log)")}
        if "counts" not in columns:
            self._db.execute("ALTER TABLE fault_log ADD COLUMN counts INTEGER NOT NULL DEFAULT 1")

    def close(self) -> None:
        self._db.close()
        if self._heartbeat_fd is not None:
            os.close(self._heartbeat_fd)
            self._heartbeat_fd = None

    # --- intervals ------------------------------------------------------------------------------

    def transition(self, device_id: str, state: str, cause: str | None, at: float) -> None:
        """Close the device's open interval at `at` and open (state, cause) from `at`."""
        with self._db:
            self._accrue_open(device_id, at)
            self._db.execute(
                "INSERT OR REPLACE INTO open_interval VALUES (?, ?, ?, ?)",
                (device_id, state, cause or "", at),
            )
            self._write_meta("heartbeat_at", at)  # a write anyway: keeps the heartbeat >= every transition

    def book(self, device_id: str, state: str, cause: str | None, start: float, end: float) -> None:
        """Add a closed interval directly (the dead window found at start-up)."""
        with self._db:
            self._add(device_id, state, cause or "", start, end)

    def close_all(self, at: float) -> None:
        with self._db:
            for (device_id,) in self._db.execute("SELECT device_id FROM open_interval").fetchall():
                self._accrue_open(device_id, at)
            self._db.execute("DELETE FROM open_interval")

    def open_intervals(self) -> dict[str, tuple[str, str, float]]:
        rows = self._db.execute("SELECT device_id, state, cause, since FROM open_interval").fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def _accrue_open(self, device_id: str, at: float) -> None:
        row = self._db.execute(
            "SELECT state, cause, since FROM open_interval WHERE device_id = ?", (device_id,)
        ).fetchone()
        if row is not None:
            self._add(device_id, row[0], row[1], row[2], at)

    def _add(self, device_id: str, state: str, cause: str, start: float, end: float) -> None:
        for day, seconds in split_by_day(start, end, self.tz):
            self._db.execute(
                "INSERT INTO seconds VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, device_id, state, cause)"
                " DO UPDATE SET seconds = seconds + excluded.seconds",
                (day, device_id, state, cause if state == "offline" else "", seconds),
            )

    # --- reading --------------------------------------------------------------------------------

    def totals(self, device_id: str, first_day: str, last_day: str, now: float | None = None) -> Totals:
        """Totals over [first_day, last_day] (local days), with the open interval counted up to `now`."""
        state_s: dict[str, float] = defaultdict(float)
        cause_s: dict[str, float] = defaultdict(float)
        rows = self._db.execute(
            "SELECT state, cause, SUM(seconds) FROM seconds WHERE device_id = ? AND day BETWEEN ? AND ?"
            " GROUP BY state, cause",
            (device_id, first_day, last_day),
        ).fetchall()
        for state, cause, seconds in rows:
            _count(state_s, cause_s, state, cause, seconds)
        open_row = self.open_intervals().get(device_id)
        if now is not None and open_row is not None:
            state, cause, since = open_row
            for day, seconds in split_by_day(since, now, self.tz):
                if first_day <= day <= last_day:
                    _count(state_s, cause_s, state, cause, seconds)
        return Totals(dict(state_s), dict(cause_s))

    def devices(self) -> list[str]:
        rows = self._db.execute(
            "SELECT device_id FROM seconds UNION SELECT device_id FROM open_interval ORDER BY 1"
        ).fetchall()
        return [row[0] for row in rows]

    # --- heartbeat and evidence -----------------------------------------------------------------

    def heartbeat(self, at: float, boot_id: str, *, clean: bool = False) -> None:
        record = json.dumps({"at": at, "boot_id": boot_id, "clean": clean}).encode().ljust(HEARTBEAT_BYTES)
        if self._heartbeat_fd is None:
            self._heartbeat_fd = os.open(self._heartbeat_path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.pwrite(self._heartbeat_fd, record[:HEARTBEAT_BYTES], 0)
        if clean or self.durable_marks:
            # fdatasync, not fsync: the data block only, no journal commit for the mtime change.
            os.fdatasync(self._heartbeat_fd)

    def last_heartbeat(self) -> Heartbeat | None:
        """The last sign of life: the heartbeat file, or a later transition written to the ledger."""
        from_file = _read_heartbeat(self._heartbeat_path)
        transition_at = self.read_meta("heartbeat_at")
        if from_file is None and transition_at is None:
            return None
        if from_file is None:
            return Heartbeat(float(transition_at), False, "")
        if isinstance(transition_at, float | int) and transition_at > from_file.at:
            return Heartbeat(float(transition_at), from_file.clean, from_file.boot_id)
        return from_file

    def read_meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def write_meta(self, key: str, value: Any) -> None:
        with self._db:
            self._write_meta(key, value)

    def _write_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # --- faults and maintenance -----------------------------------------------------------------

    def log_fault(self, device_id: str, code: str, event: str, at: float, *, counts: bool = True) -> None:
        """One raise or clear; `counts` False: not the device's failure (never a repeat fault)."""
        with self._db:
            self._db.execute(
                "INSERT INTO fault_log VALUES (?, ?, ?, ?, ?)", (device_id, code, event, at, int(counts))
            )

    def fault_events(
        self, start: float, end: float, *, counting_only: bool = False
    ) -> list[tuple[str, str, str, float]]:
        return self._db.execute(
            "SELECT device_id, code, event, at FROM fault_log WHERE at >= ? AND at < ?"
            " AND counts >= ? ORDER BY at, rowid",
            (start, end, 1 if counting_only else 0),
        ).fetchall()

    # --- episodes: one fault or outage of a device, from raise to repair, across restarts -------

    def open_episodes(self) -> dict[tuple[str, str], tuple[float, frozenset[str]]]:
        rows = self._db.execute("SELECT device_id, code, since, causes FROM episode").fetchall()
        return {(d, c): (since, frozenset(json.loads(causes))) for d, c, since, causes in rows}

    def save_episode(self, device_id: str, code: str, since: float, causes: frozenset[str]) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO episode VALUES (?, ?, ?, ?)",
                (device_id, code, since, json.dumps(sorted(causes))),
            )

    def drop_episode(self, device_id: str, code: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM episode WHERE device_id = ? AND code = ?", (device_id, code))

    def prune_faults(self, before: float) -> None:
        with self._db:
            self._db.execute("DELETE FROM fault_log WHERE at < ?", (before,))

    def add_maintenance(self, window: MaintenanceWindow) -> None:
        devices = None if window.devices is None else json.dumps(sorted(window.devices))
        with self._db:
            self._db.execute(
                "INSERT INTO maintenance (start, end, devices, operator, reason) VALUES (?, ?, ?, ?, ?)",
                (window.start, window.end, devices, window.operator, window.reason),
            )

    def end_maintenance(self, at: float) -> int:
        """End every window running at `at` now; returns how many."""
        with self._db:
            cursor = self._db.execute(
                "UPDATE maintenance SET end = ? WHERE start <= ? AND end > ?", (at, at, at)
            )
        return cursor.rowcount

    def maintenance_windows(self, since: float) -> list[MaintenanceWindow]:
        rows = self._db.execute(
            "SELECT start, end, devices, operator, reason FROM maintenance WHERE end > ? ORDER BY start",
            (since,),
        ).fetchall()
        return [
            MaintenanceWindow(
                start,
                end,
                None if devices is None else frozenset(json.loads(devices)),
                operator,
                reason or "",
            )
            for start, end, devices, operator, reason in rows
        ]


def _read_heartbeat(path: Path) -> Heartbeat | None:
    try:
        document = json.loads(path.read_bytes().rstrip(b" \x00") or b"null")
        return Heartbeat(float(document["at"]), bool(document["clean"]), str(document["boot_id"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing or torn: the ledger's last transition time is the fallback


def _count(
    state_s: dict[str, float], cause_s: dict[str, float], state: str, cause: str, seconds: float
) -> None:
    state_s[state] += seconds
    if state == "offline":
        cause_s[cause or "unknown"] += seconds
