"""The memory hold of a full disk is bounded: telemetry goes first, sequenced messages only when
nothing else is left (and are counted, so the loss is logged)."""

from __future__ import annotations

from edge_agent.runtime.outbox_hold import HeldMessage, MemoryHold


def _message(position: int, kind: str) -> HeldMessage:
    return HeldMessage(position, kind, "t", b"x" * 96, 1, False, 0.0)  # 97 bytes with its topic


def test_telemetry_is_dropped_before_any_sequenced_message() -> None:
    hold = MemoryHold(max_bytes=97 * 10)
    for position in range(1, 21):
        hold.add(_message(position, "telemetry" if position % 2 else "event"))
    kinds = [message.kind for message in hold.rows()]
    assert len(kinds) == 10 and kinds.count("event") == 10
    assert (hold.dropped_telemetry, hold.dropped_sequenced) == (10, 0)


def test_sequenced_messages_are_dropped_oldest_first_and_counted() -> None:
    hold = MemoryHold(max_bytes=97 * 5)
    for position in range(1, 9):
        hold.add(_message(position, "event"))
    assert [message.position for message in hold.rows()] == [4, 5, 6, 7, 8]
    assert hold.dropped_sequenced == 3


def test_reading_and_acknowledging_by_position() -> None:
    hold = MemoryHold(max_bytes=10_000)
    for position in (11, 12, 13):
        hold.add(_message(position, "state"))
    assert [m.position for m in hold.after(11, 10)] == [12, 13]
    assert hold.remove([5, 12]) == [5]  # 5 is not held: on disk
    assert [m.position for m in hold.rows()] == [11, 13] and hold.bytes == 2 * 97


def test_acknowledged_sequenced_messages_wait_for_the_journal_and_telemetry_does_not() -> None:
    hold = MemoryHold(max_bytes=10_000)
    for position, kind in ((1, "event"), (2, "telemetry"), (3, "state")):
        hold.add(_message(position, kind))
    assert hold.acknowledge([1, 2, 3, 9], now=5.0) == [9]  # 9 is not held: on disk
    assert len(hold) == 0 and hold.waiting
    assert [(m.position, at) for m, at in hold.sent()] == [(1, 5.0), (3, 5.0)]
    assert hold.bytes == 2 * 97  # the journal copies are memory too, and counted
    hold.clear_sent()
    assert not hold.waiting and hold.bytes == 0


def test_journal_copies_go_first_when_memory_runs_short() -> None:
    hold = MemoryHold(max_bytes=97 * 4)
    for position in (1, 2, 3):
        hold.add(_message(position, "event"))
    hold.acknowledge([1, 2], now=0.0)
    for position in (4, 5, 6):
        hold.add(_message(position, "telemetry"))  # needs room: the copies of 1 and 2 go, not 3..6
    assert [m.position for m in hold.rows()] == [3, 4, 5, 6]
    assert (hold.dropped_journal, hold.dropped_telemetry, hold.dropped_sequenced) == (2, 0, 0)
