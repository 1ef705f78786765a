"""The durable outbox: order, seq across restarts, quota thinning that spares events, rejection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from edge_agent.runtime.outbox import NewMessage, Outbox


def _msg(kind: str, size: int = 10) -> NewMessage:
    def build(message_id: str, seq: int | None) -> bytes:
        return json.dumps({"id": message_id, "seq": seq, "pad": "x" * size}).encode()

    return NewMessage(kind, f"t/{kind}", build)  # type: ignore[arg-type]  # a test double or a deliberately wrong value


async def test_seq_keeps_increasing_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path, max_bytes=2**20) as outbox:
        await outbox.put([_msg("event"), _msg("telemetry"), _msg("state")])
        stored = await outbox.read_after(0, 10)
        assert [json.loads(m.payload)["seq"] for m in stored] == [1, None, 2]
        await outbox.ack([m.position for m in stored])
    async with Outbox(path, max_bytes=2**20) as outbox:
        assert outbox.stats().depth == 0
        await outbox.put([_msg("event")])
        (stored,) = await outbox.read_after(0, 10)
        assert json.loads(stored.payload)["seq"] == 3


async def test_unacknowledged_messages_survive_reopen_in_order(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path, max_bytes=2**20) as outbox:
        await outbox.put([_msg("event") for _ in range(5)])
        first = await outbox.read_after(0, 2)
        await outbox.ack([m.position for m in first])
    async with Outbox(path, max_bytes=2**20) as outbox:
        remaining = await outbox.read_after(0, 10)
        assert [json.loads(m.payload)["seq"] for m in remaining] == [3, 4, 5]
        assert outbox.stats().depth == 3


async def test_quota_thins_oldest_telemetry_and_never_events(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        thinned = 0
        for _ in range(300):
            thinned += await outbox.put([_msg("telemetry", 4000), _msg("event", 100)])
        stored = await outbox.read_after(0, 10_000)
        events = [m for m in stored if m.kind == "event"]
        telemetry = [m for m in stored if m.kind == "telemetry"]
        assert thinned > 0 and len(events) == 300 and len(telemetry) == 300 - thinned
        assert outbox.stats().stored_bytes <= 2**20
        # Thinning takes every other row of the oldest: the newest telemetry is all still there.
        newest = [m.position for m in stored[-20:] if m.kind == "telemetry"]
        assert len(newest) == 10


async def test_events_beyond_the_quota_are_kept(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        for _ in range(400):
            await outbox.put([_msg("event", 4000)])
        assert outbox.stats().depth == 400 and outbox.stats().stored_bytes > 2**20


async def test_rejected_message_is_set_aside_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path, max_bytes=2**20) as outbox:
        await outbox.put([_msg("event"), _msg("event")])
        first, _ = await outbox.read_after(0, 10)
        await outbox.reject(first.position, "reason code 135")
        assert outbox.stats().depth == 1 and outbox.stats().rejected_total == 1
    async with Outbox(path, max_bytes=2**20) as outbox:
        assert outbox.stats().rejected_total == 1


async def test_payload_builder_gets_a_unique_id(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        await outbox.put([_msg("event") for _ in range(50)])
        ids = {json.loads(m.payload)["id"] for m in await outbox.read_after(0, 100)}
        assert len(ids) == 50


async def test_newest_rows_are_served_from_memory_and_old_ones_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path, max_bytes=2**20) as outbox:
        await outbox.put([_msg("event") for _ in range(3)])
    async with Outbox(path, max_bytes=2**20) as outbox:
        await outbox.put([_msg("telemetry"), _msg("event")])
        everything = await outbox.read_after(0, 100)  # rows of the first run are on disk only
        assert [json.loads(m.payload)["seq"] for m in everything] == [1, 2, 3, None, 4]
        newest = await outbox.read_after(everything[2].position, 100)
        assert newest == everything[3:]
        assert await outbox.read_after(everything[3].position, 1) == everything[4:]


async def test_deferred_acks_ride_in_the_next_put_and_are_written_at_close(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path, max_bytes=2**20) as outbox:
        await outbox.put([_msg("event"), _msg("telemetry")])
        first = await outbox.read_after(0, 10)
        outbox.ack_later([m.position for m in first])
        assert outbox.stats().depth == 0 and outbox.deferred_acks == 2
        assert await outbox.read_after(0, 10) == []  # acknowledged: never handed out again
        await outbox.put([_msg("event")])
        assert outbox.deferred_acks == 0 and outbox.stats().depth == 1
        (second,) = await outbox.read_after(first[-1].position, 10)
        outbox.ack_later([second.position])
    async with Outbox(path, max_bytes=2**20) as outbox:
        assert outbox.stats().depth == 0 and await outbox.read_after(0, 10) == []


async def test_a_put_whose_caller_is_cancelled_still_reaches_the_reader(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        woken = asyncio.Event()
        outbox.on_put(woken.set)
        task = asyncio.create_task(outbox.put([_msg("event")]))
        await asyncio.sleep(0)  # the batch is with the worker thread now
        task.cancel()
        await woken.wait()  # stored all the same, and the reporter is told
        (stored,) = await outbox.read_after(0, 10)
        assert json.loads(stored.payload)["seq"] == 1


async def test_concurrent_puts_are_committed_in_call_order(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:

        def numbered(n: int) -> NewMessage:
            return NewMessage("event", "t", lambda _id, _seq: str(n).encode())

        await asyncio.gather(*(outbox.put([numbered(n), numbered(n + 1000)]) for n in range(100)))
        stored = await outbox.read_after(0, 500)
        expected = [str(x).encode() for n in range(100) for x in (n, n + 1000)]
        assert [m.payload for m in stored] == expected
        assert [m.position for m in stored] == sorted(m.position for m in stored)
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:  # and all on disk
        assert [m.payload for m in await outbox.read_after(0, 500)] == expected
