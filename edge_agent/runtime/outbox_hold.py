"""Messages the outbox could not store (a full or failing disk), held in memory until it can.

Bounded: beyond `max_bytes` the oldest telemetry goes first, then (only when nothing but
sequenced messages is left) the oldest sequenced message, counted in `dropped_sequenced` so the
loss is logged and shows as a seq gap at the centre. While the memory holds, nothing is lost.

A held message the broker acknowledged (`acknowledge`) is not forgotten at once when it may be
asked for again (`resend_events`): it waits here for the resend journal, and is written there
once storage returns. These copies go first when memory runs short (`dropped_journal`): a message
still to be sent matters more than the copy of one the centre already has.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)


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
        self._sent: deque[tuple[HeldMessage, float]] = deque()  # acknowledged, for the journal
        self.bytes = 0
        self.dropped_telemetry = 0
        self.dropped_sequenced = 0
        self.dropped_journal = 0
        self._logged = (0, 0)  # dropped_sequenced, dropped_journal when last logged

    def __len__(self) -> int:
        """How many messages wait to be stored (the copies waiting for the journal not counted)."""
        return len(self._rows)

    @property
    def waiting(self) -> bool:
        """Anything to write once storage returns: held messages or journal copies."""
        return bool(self._rows or self._sent)

    def rows(self) -> list[HeldMessage]:
        return list(self._rows.values())

    def sent(self) -> list[tuple[HeldMessage, float]]:
        """Acknowledged messages for the journal, with the time of their acknowledgement."""
        return list(self._sent)

    def add(self, message: HeldMessage) -> None:
        self._rows[message.position] = message
        self.bytes += message.size
        while self.bytes > self.max_bytes and (self._sent or len(self._rows) > 1):
            if self._sent:
                self.bytes -= self._sent.popleft()[0].size
                self.dropped_journal += 1
                continue
            victim = next((m for m in self._rows.values() if m.kind == "telemetry"), None)
            if victim is None:
                victim = next(iter(self._rows.values()))
                self.dropped_sequenced += 1
            else:
                self.dropped_telemetry += 1
            self._drop(victim.position)

    def add_all(self, messages: Iterable[HeldMessage]) -> None:
        """Hold `messages`; what that drops is logged once per call that drops more."""
        for message in messages:
            self.add(message)
        sequenced, journal = self._logged
        if self.dropped_sequenced > sequenced:
            log.error(
                "outbox memory hold full: %d sequenced message(s) dropped in all", self.dropped_sequenced
            )
        if self.dropped_journal > journal:
            log.warning(
                "outbox memory hold full: %d sent message(s) will not be in the resend journal",
                self.dropped_journal,
            )
        self._logged = (self.dropped_sequenced, self.dropped_journal)

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

    def acknowledge(self, positions: Iterable[int], now: float) -> list[int]:
        """The broker has them: as `remove`, but telemetry aside, they wait for the journal."""
        elsewhere = []
        for position in positions:
            message = self._rows.pop(position, None)
            if message is None:
                elsewhere.append(position)
            elif message.kind == "telemetry":
                self.bytes -= message.size
            else:
                self._sent.append((message, now))  # its bytes stay counted until journaled
        return elsewhere

    def clear(self) -> None:
        """Every held message is stored now (the journal copies wait for `clear_sent`)."""
        for message in self._rows.values():
            self.bytes -= message.size
        self._rows.clear()

    def clear_sent(self) -> None:
        for message, _at in self._sent:
            self.bytes -= message.size
        self._sent.clear()

    def _drop(self, position: int) -> None:
        self.bytes -= self._rows.pop(position).size
