"""The outbox's journal of acknowledged messages answers `resend_events`: same bytes, never retained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_agent.errors import OutboxError
from edge_agent.runtime.outbox import NewMessage, Outbox


def _msg(kind: str, *, retain: bool = False) -> NewMessage:
    def build(message_id: str, seq: int | None) -> bytes:
        return json.dumps({"id": message_id, "seq": seq}).encode()

    return NewMessage(kind, f"t/{kind}", build, retain=retain)  # type: ignore[arg-type]  # a test double or a deliberately wrong value


async def test_acknowledged_range_is_queued_again_byte_for_byte_and_not_retained(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        await outbox.put([_msg("event"), _msg("telemetry"), _msg("state", retain=True), _msg("audit")])
        sent = await outbox.read_after(0, 10)
        await outbox.ack([m.position for m in sent])
        requeued, missing = await outbox.requeue(2, 3)
        assert (requeued, missing) == (2, [])
        again = await outbox.read_after(sent[-1].position, 10)
        assert [m.payload for m in again] == [sent[2].payload, sent[3].payload]  # seq 2 (state), 3 (audit)
        assert [m.retain for m in again] == [False, False]  # an old state must not become the retained one


async def test_missing_ranges_name_what_the_cabinet_no_longer_holds(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        await outbox.put([_msg("event") for _ in range(3)])
        first, *_rest = await outbox.read_after(0, 10)
        await outbox.ack([first.position])  # seq 1 sent; seqs 2, 3 still waiting: present
        requeued, missing = await outbox.requeue(1, 6)
        assert (requeued, missing) == (1, [(4, 6)])


async def test_too_large_a_range_is_refused(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        with pytest.raises(OutboxError):
            await outbox.requeue(1, 1_000_000)


async def test_acknowledged_but_not_yet_deleted_messages_are_requeued_too(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        await outbox.put([_msg("event"), _msg("event")])
        sent = await outbox.read_after(0, 10)
        outbox.ack_later([m.position for m in sent])  # the reporter's way: deleted with the next store
        assert await outbox.requeue(1, 2) == (2, [])
        again = await outbox.read_after(sent[-1].position, 10)
        assert [m.payload for m in again] == [m.payload for m in sent]
