"""The link to the broker and the cabinet's retained presence on `status`.

Online (the birth) on every connect, followed by every device's retained state, as Sparkplug's
birth does: a broker that lost its retained messages (restarted without persistence) has the whole
cabinet again. Offline with reason `lost` as the last will, or `shutdown` after a clean stop, once
the outbox had `SHUTDOWN_FLUSH_S` to drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from edge_agent import __version__
from edge_agent.mqtt.link import Incoming, MqttLink, Will
from edge_agent.mqtt.payloads import StatusPayload
from edge_agent.mqtt.reporter import Reporter
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import utc_now
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.figures import Identity
from edge_agent.runtime.live_state import LiveState
from edge_agent.runtime.outbox import Outbox
from edge_agent.runtime.tasks import Spawner, running

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 5.0


class Uplink:
    """The MQTT link, the reporter draining the outbox into it, and the presence they announce."""

    def __init__(
        self,
        identity: Identity,
        topics: Topics,
        outbox: Outbox,
        on_message: Callable[[Incoming], None],
        *,
        emitter: Emitter,
        live: LiveState,
    ) -> None:
        config = identity.config
        self.identity, self.topics, self.outbox = identity, topics, outbox
        self.emitter, self.live = emitter, live
        self._spawner = Spawner()  # restates the devices after each connect; the reporter's writes
        self.link = MqttLink(
            config.mqtt,
            client_id=config.mqtt.client_id or f"edge-{config.cabinet.id}",
            will=Will(topics.status, self.status(online=False, reason="lost")),
            on_connected=self._on_connected,
            on_message=on_message,
            subscriptions=[topics.command_filter] if config.commands.enabled else [],
            protocol_file=config.storage.data_dir / "mqtt_protocol.json",
        )
        self.reporter = Reporter(self.link, outbox, self._spawner.spawn)

    def status(self, *, online: bool, reason: str | None = None) -> bytes:
        config = self.identity.config
        return (
            StatusPayload(
                state="online" if online else "offline",
                reason=reason,  # type: ignore[arg-type]  # the callers pass one of the Literal's values
                cabinet_id=config.cabinet.id,
                site=config.cabinet.site,
                boot_id=self.identity.boot_id,
                agent_version=__version__,
                config_hash=config.config_hash(),
                ts=utc_now(),
            )
            .model_dump_json()
            .encode()
        )

    def _on_connected(self) -> None:
        self.publish_birth()
        self._spawner.spawn("restate-devices", self.restate_devices())

    def publish_birth(self) -> asyncio.Future[int]:
        return self.link.publish(self.topics.status, self.status(online=True), qos=1, retain=True)

    async def restate_devices(self) -> None:
        """Every device's state again, through the outbox: behind what it holds, so order is kept."""
        await self.emitter.device_states(list(self.live.devices.values()))

    async def resend_birth(self) -> None:
        await self.publish_birth()
        await self.restate_devices()

    @contextlib.asynccontextmanager
    async def connected(self, group: asyncio.TaskGroup, emitter: Emitter) -> AsyncIterator[None]:
        """Link and reporter run while open; on exit the outbox drains, then `status` goes offline."""
        async with (
            self._spawner.serving(group),
            running(group, ("mqtt-link", self.link.run()), ("mqtt-reporter", self.reporter.run())),
        ):
            yield
            await self._shutdown(emitter)

    async def _shutdown(self, emitter: Emitter) -> None:
        await emitter.event("agent_stopping", detail={"boot_id": self.identity.boot_id})
        if not await self.reporter.wait_drained(SHUTDOWN_FLUSH_S):
            log.warning(
                "stopping with %d messages in the outbox; they are sent after the next start",
                self.outbox.stats().depth,
            )
        if self.link.connected.is_set():
            offline = self.link.publish(
                self.topics.status, self.status(online=False, reason="shutdown"), qos=1, retain=True
            )
            with contextlib.suppress(Exception):  # the broker went away: the will says `lost` then
                async with asyncio.timeout(SHUTDOWN_FLUSH_S):
                    await offline
        await self.link.close()
