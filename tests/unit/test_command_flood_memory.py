"""A command flood (issue 12, item 3) must not hold one task per request: 10,000 requests grew the
heap by 80 MB that never came back. At most `MAX_IN_FLIGHT` requests are in progress at once."""

from __future__ import annotations

import asyncio
from typing import Any

from edge_agent.mqtt.link import Incoming
from edge_agent.mqtt.topics import Topics
from edge_agent.runtime.command_replies import MAX_IN_FLIGHT, CommandReplies


class _SlowDispatcher:
    """Stands in for the dispatcher: every request waits until the test lets them all go."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def handle(self, name: str, payload: bytes, *, source: str) -> Any:
        self.started += 1
        await self.release.wait()
        return None  # as when flooding: no reply


async def test_a_flood_holds_a_bounded_number_of_requests() -> None:
    topics = Topics("edge", "cab")
    dispatcher = _SlowDispatcher()
    replies = CommandReplies(topics, dispatcher, after_reply=lambda: None)  # type: ignore[arg-type]  # a stand-in
    async with asyncio.TaskGroup() as group, replies.serving(group, object()):  # type: ignore[arg-type]  # no reply is sent
        for index in range(10_000):
            replies.on_message(
                Incoming(f"{topics.root}/cmd/get_status", b'{"transaction": "%d"}' % index, None)
            )
        await asyncio.sleep(0)  # let the spawned tasks start: one loop turn, not a synchronisation
        assert replies._spawner.running <= MAX_IN_FLIGHT
        dispatcher.release.set()
    assert dispatcher.started <= MAX_IN_FLIGHT
