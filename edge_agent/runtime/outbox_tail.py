"""The newest stored rows, kept in memory: a reporter that keeps up never reads back what was just
written. Complete above `floor`; anything at or below it is read from disk."""

from __future__ import annotations

from collections.abc import Iterable

from edge_agent.runtime.outbox_hold import HeldMessage
from edge_agent.runtime.outbox_messages import StoredMessage

RECENT_ROWS = 256  # beyond a broker's receive window, small in RSS


class RecentTail:
    def __init__(self) -> None:
        self._rows: dict[int, StoredMessage] = {}
        self.floor = 0

    def after(self, position: int, limit: int) -> list[StoredMessage] | None:
        """The rows after `position`, oldest first; None when some of them may be on disk only."""
        if position < self.floor:
            return None
        return [message for at, message in self._rows.items() if at > position][:limit]

    def take(self, rows: Iterable[HeldMessage]) -> None:
        """Rows just stored, in position order; the oldest fall off beyond RECENT_ROWS."""
        for row in rows:
            self._rows[row.position] = StoredMessage(
                row.position, row.kind, row.topic, row.payload, row.qos, row.retain
            )
        while len(self._rows) > RECENT_ROWS:
            oldest = next(iter(self._rows))
            del self._rows[oldest]
            self.floor = max(self.floor, oldest)

    def reset(self, floor: int) -> None:
        """Rows were stored or removed behind the tail's back: forget it all up to `floor`."""
        self._rows.clear()
        self.floor = max(self.floor, floor)

    def forget(self, positions: Iterable[int]) -> None:
        for position in positions:
            self._rows.pop(position, None)
