"""What goes into the outbox and what comes out of it: the shapes shared by its parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["event", "state", "report", "audit", "telemetry", "meta"]
SEQUENCED: frozenset[str] = frozenset({"event", "state", "report", "audit"})
ROW_OVERHEAD_BYTES = 64  # rough per-row cost of SQLite bookkeeping, so many tiny rows still count

# Builds the payload once the outbox has assigned the message id and (for sequenced kinds) seq.
PayloadBuilder = Callable[[str, int | None], bytes]


@dataclass(frozen=True, slots=True)
class NewMessage:
    kind: Kind
    topic: str
    build: PayloadBuilder
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    position: int
    kind: str
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    stored_bytes: int
    max_bytes: int
    thinned_total: int
    rejected_total: int
    held: int = 0
    held_bytes: int = 0
    storage_ok: bool = True
    disk_bytes: int = 0
