"""The agent's parts, built from its config in three groups the composition root supervises:
`Core` (identity, live state, outbox, emitter, audit, health), `Hardware` (device loops, relays,
door) and `CommandPath` (dispatcher, MQTT replies, local socket, config reload)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge_agent.actions.auto_cycle import AutoRecovery
from edge_agent.actions.door import DoorWatcher
from edge_agent.actions.power import PowerCycler
from edge_agent.audit import MARK, AuditLog, Source
from edge_agent.commands.context import CommandContext, Services
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.config import AgentConfig
from edge_agent.devices import kind_of
from edge_agent.devices.base import DeviceContext, Poller
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.health.service import HealthService
from edge_agent.local.command_socket import SOCKET_NAME, CommandSocket
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import Value
from edge_agent.runtime.cabinet_health import CabinetHealth
from edge_agent.runtime.command_replies import CommandReplies
from edge_agent.runtime.config_reload import ConfigReload
from edge_agent.runtime.device_runner import DeviceRunner
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.figures import Figures, Identity
from edge_agent.runtime.live_state import LiveState
from edge_agent.runtime.outbox import Outbox
from edge_agent.runtime.presence import Uplink
from edge_agent.runtime.tasks import Work


@dataclass(frozen=True)
class Core:
    identity: Identity
    topics: Topics
    live: LiveState
    outbox: Outbox
    emitter: Emitter
    audit: AuditLog
    health: CabinetHealth

    @classmethod
    def build(cls, identity: Identity) -> Core:
        config, data_dir = identity.config, identity.config.storage.data_dir
        topics, live = Topics(config.mqtt.prefix, config.cabinet.id), LiveState()
        outbox = Outbox(data_dir / "outbox.sqlite3", max_bytes=config.storage.outbox_max_bytes)
        emitter = Emitter(
            outbox,
            topics,
            telemetry_qos=config.mqtt.telemetry_qos,
            units_inline=config.mqtt.telemetry_units == "inline",
        )
        audit = AuditLog(
            data_dir / "audit",
            retention_days=config.audit.retention_days,
            max_file_bytes=config.audit.max_file_bytes,
            max_file_age_days=config.audit.max_file_age_days,
            publish=emitter.audit,
            key=config.audit.key.get_secret_value().encode() if config.audit.key else None,
            mark_path=data_dir / MARK,
        )
        service = HealthService(
            config.health, data_dir, cabinet_id=config.cabinet.id, boot_id=identity.boot_id
        )
        health = CabinetHealth(service, emitter, live)  # publishes what the service returns
        return cls(identity, topics, live, outbox, emitter, audit, health)


@dataclass(frozen=True)
class Hardware:
    pollers: Mapping[str, Poller[Any]]
    runners: Mapping[str, DeviceRunner]
    power: PowerCycler
    auto_recovery: AutoRecovery
    door: DoorWatcher | None

    @classmethod
    def build(cls, core: Core, agent_stats: Callable[[], Mapping[str, Value]]) -> Hardware:
        config = core.identity.config
        context = DeviceContext(config.storage.data_dir, SharedResources(), agent_stats)
        pollers = {d.device_id: kind_of(d).create_poller(d, context) for d in config.devices}
        runners = {
            d.device_id: DeviceRunner(d, pollers[d.device_id], core.emitter, core.live, core.health)
            for d in config.devices
        }
        core.health.runners = runners  # a change of a device's cause is published by its runner
        power = PowerCycler(
            config.actions.relays, emitter=core.emitter, tz=config.health.tz, save_counts=_saver(core.health)
        )
        recovery = AutoRecovery(
            config.actions.auto_power_cycle, power, core.live, emitter=core.emitter, audit=core.audit
        )
        door = config.actions.door
        in_maintenance = lambda: core.health.in_maintenance(None)  # noqa: E731 - a one-line adapter
        watcher = None if door is None else DoorWatcher(door, core.emitter, in_maintenance)
        return cls(pollers, runners, power, recovery, watcher)

    @contextlib.asynccontextmanager
    async def claimed(self) -> AsyncIterator[None]:
        """Relay outputs and the door input are held while open (power stays on)."""
        self.power.open()
        if self.door is not None:
            self.door.open()
        try:
            yield
        finally:
            await self.power.close()
            if self.door is not None:
                self.door.close()

    def work(self, config: AgentConfig, health: CabinetHealth) -> list[Work]:
        """The device-side tasks: stopped before the ledger closes, as they write to it."""
        work: list[Work] = [("health", health.run())]
        if config.actions.auto_power_cycle.enabled and config.actions.relays:
            work.append(("auto-recovery", self.auto_recovery.run()))
        if self.door is not None:
            work.append(("door", self.door.run()))
        return work + [(f"device:{device_id}", r.run()) for device_id, r in self.runners.items()]


def _saver(health: CabinetHealth) -> Callable[[dict[str, Any]], Any]:
    async def save(counts: dict[str, Any]) -> None:
        await health.swap_meta("power_cycles", counts)  # the daily cap survives a crash loop

    return save


@dataclass(frozen=True)
class CommandPath:
    dispatcher: Dispatcher
    replies: CommandReplies
    socket: CommandSocket
    reload: ConfigReload

    @classmethod
    def build(
        cls, core: Core, hardware: Hardware, figures: Figures, uplink: Uplink, reload: ConfigReload
    ) -> CommandPath:
        config = core.identity.config
        services = Services(
            health=core.health,
            audit=core.audit,
            power=hardware.power,
            reload_config=reload.reload,
            runners=hardware.runners,
            firmware_dir=config.storage.data_dir / "firmware",
            firmware_busy=lambda: config.firmware.busy_now(config.health.tz),
        )

        def make_context(operator: str | None, source: Source) -> CommandContext:
            return CommandContext(
                config.cabinet.id, operator, core.live, core.emitter, hardware.pollers,
                figures.agent_info, uplink.resend_birth, services, source,
            )  # fmt: skip

        dispatcher = Dispatcher(
            max_payload_bytes=config.commands.max_payload_bytes,
            disabled=frozenset(config.commands.disabled),
            hardware_actions=config.commands.hardware_actions,
            audit=core.audit,
            make_context=make_context,
        )
        replies = CommandReplies(core.topics, dispatcher, after_reply=reload.after_reply)
        socket = CommandSocket(config.storage.data_dir / SOCKET_NAME, dispatcher)
        return cls(dispatcher, replies, socket, reload)
