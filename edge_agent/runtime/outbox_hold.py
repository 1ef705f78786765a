"""Messages the outbox could not store (a full or failing disk), held in memory until it can.

Bounded: beyond `max_bytes` the oldest telemetry goes first, then (only when nothing but
sequenced messages is left) the oldest sequenced message, counted in `dropped_sequenced` so the
loss is logged and shows as a seq gap at the centre. While the memory holds, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HeldMessage:
    position: int
    kind: str
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float

    @property
    def size(self) -> int:
        return len(self.payload) + len(self.topic)


class MemoryHold:
    """In position order (positions only grow), so reading after a position is a plain scan."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._rows: dict[int, HeldMessage] = {}
        self.bytes = 0
        self.dropped_telemetry = 0
        self.dropped_sequenced = 0

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list[HeldMessage]:
        return list(self._rows.values())

    def add(self, message: HeldMessage) -> None:
        self._rows[message.position] = message
        self.bytes += message.size
        while self.bytes > self.max_bytes and len(self._rows) > 1:
            victim = next((m for m in self._rows.values() if m.kind == "telemetry"), None)
            if victim is None:
                victim = next(iter(self._rows.values()))
                self.dropped_sequenced += 1
            else:
                self.dropped_telemetry += 1
            self._drop(victim.position)

    def after(self, position: int, limit: int) -> list[HeldMessage]:
        found: list[HeldMessage] = []
        for message in self._rows.values():
            if message.position > position:
                found.append(message)
                if len(found) >= limit:
                    break
        return found

    def remove(self, positions: Iterable[int]) -> list[int]:
        """Forget the held ones among `positions`; returns the others (they are on disk)."""
        elsewhere = []
        for position in positions:
            if position in self._rows:
                self._drop(position)
            else:
                elsewhere.append(position)
        return elsewhere

    def clear(self) -> None:
        self._rows.clear()
        self.bytes = 0

    def _drop(self, position: int) -> None:
        self.bytes -= self._rows.pop(position).size
