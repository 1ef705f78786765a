"""Commands over MQTT: a request on `cmd/<name>` is dispatched (source `mqtt`) and answered on
`cmd-reply`, with the request's MQTT 5 correlation data. Each request runs as its own task of the
agent's TaskGroup, so a long command (a firmware batch) does not hold up the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.mqtt.link import Incoming, MqttLink
from edge_agent.mqtt.topics import Topics
from edge_agent.runtime.tasks import Spawner

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 32  # requests answered at once; a firmware batch is one of them


class CommandReplies:
    def __init__(self, topics: Topics, dispatcher: Dispatcher, *, after_reply: Callable[[], None]) -> None:
        self.topics, self.dispatcher = topics, dispatcher
        self._after_reply = after_reply  # e.g. restart with an accepted new config, once answered
        self._link: MqttLink | None = None
        self._spawner = Spawner()
        self._overflowing = False

    @contextlib.asynccontextmanager
    async def serving(self, group: asyncio.TaskGroup, link: MqttLink) -> AsyncIterator[None]:
        """Answer requests while open; on exit, requests still running are cancelled."""
        self._link = link
        async with self._spawner.serving(group):
            yield

    def on_message(self, message: Incoming) -> None:
        name = self.topics.command_name(message.topic)
        if name is None or self._link is None:
            return
        if self._spawner.running >= MAX_IN_FLIGHT:
            # A flood: one task (and its payload and reply) per request would grow the heap by
            # tens of MB that the allocator never gives back; the dispatcher would drop them anyway.
            if not self._overflowing:
                log.warning("command flood: %d requests in progress; dropping more", MAX_IN_FLIGHT)
            self._overflowing = True
            return
        self._overflowing = False
        self._spawner.spawn(f"command:{name[:64]}", self._answer(self._link, name, message))

    async def _answer(self, link: MqttLink, name: str, message: Incoming) -> None:
        reply = await self.dispatcher.handle(name, message.payload, source="mqtt")
        if reply is None:
            return
        future = link.publish(
            self.topics.command_reply,
            reply.model_dump_json().encode(),
            qos=1,
            correlation_data=message.correlation_data,
        )
        with contextlib.suppress(Exception):  # a reply lost with the connection is not retried
            await future
        self._after_reply()
