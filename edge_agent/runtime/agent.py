"""Wires the agent together and runs it: one asyncio process, one task per device.

Start: outbox -> MQTT link (birth on every connect) -> reporter -> device loops -> READY=1.
Stop (SIGTERM/SIGINT): device loops stop, the outbox gets `shutdown_flush_s` to drain, then the
retained status becomes offline with reason `shutdown` and the link disconnects cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from edge_agent import __version__
from edge_agent.actions.auto_cycle import AutoRecovery
from edge_agent.actions.door import DoorWatcher
from edge_agent.actions.power import PowerCycler
from edge_agent.audit import AuditLog
from edge_agent.commands.context import CommandContext
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.config import AgentConfig, load_config
from edge_agent.devices import kind_of
from edge_agent.devices.base import DeviceContext, Poller
from edge_agent.errors import CommandError, ConfigError
from edge_agent.health.service import HealthService
from edge_agent.local.command_socket import SOCKET_NAME, CommandSocket
from edge_agent.mqtt.link import Incoming, MqttLink, Will
from edge_agent.mqtt.payloads import StatusPayload
from edge_agent.mqtt.reporter import Reporter
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import Value, utc_now
from edge_agent.runtime.device_runner import DeviceRunner
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState
from edge_agent.runtime.liveness_file import Liveness, liveness_loop, liveness_path, remove_liveness
from edge_agent.runtime.memory_trim import release_free_memory
from edge_agent.runtime.outbox import Outbox
from edge_agent.runtime.shared_resources import SharedResources
from edge_agent.runtime.systemd_notify import notify, watchdog_loop

if TYPE_CHECKING:
    from edge_agent.diagnostics.server import DiagnosticsServer

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 5.0


class Agent:
    def __init__(self, config: AgentConfig, *, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path  # re-read by the reload_config command
        self.reload_to: AgentConfig | None = None  # set once a validated new config is accepted
        self._reload_now = asyncio.Event()
        self.boot_id = uuid.uuid4().hex
        self.started_monotonic = time.monotonic()
        self.started_at = utc_now()
        self.topics = Topics(config.mqtt.prefix, config.cabinet.id)
        self.live = LiveState()
        self.outbox = Outbox(
            config.storage.data_dir / "outbox.sqlite3", max_bytes=config.storage.outbox_max_bytes
        )
        self.emitter = Emitter(
            self.outbox,
            self.topics,
            telemetry_qos=config.mqtt.telemetry_qos,
            units_inline=config.mqtt.telemetry_units == "inline",
        )
        self.link = MqttLink(
            config.mqtt,
            client_id=config.mqtt.client_id or f"edge-{config.cabinet.id}",
            will=Will(self.topics.status, self._status(online=False, reason="lost")),
            on_connected=self._on_connected,
            on_message=self._on_message,
            subscriptions=[self.topics.command_filter] if config.commands.enabled else [],
        )
        self.reporter = Reporter(self.link, self.outbox)
        data_dir = config.storage.data_dir
        self.audit = AuditLog(
            data_dir / "audit",
            retention_days=config.audit.retention_days,
            max_file_bytes=config.audit.max_file_bytes,
            max_file_age_days=config.audit.max_file_age_days,
            publish=self.emitter.audit,
        )
        self.health = HealthService(
            config.health,
            data_dir,
            cabinet_id=config.cabinet.id,
            boot_id=self.boot_id,
            emitter=self.emitter,
            live=self.live,
        )
        self.reports = self.health  # daily reports for the diagnostics page
        self.power = PowerCycler(
            config.actions.relays,
            emitter=self.emitter,
            audit=self.audit,
            tz=config.health.tz,
            save_counts=self._save_power_cycles,
        )
        self.auto_recovery = AutoRecovery(
            config.actions.auto_power_cycle, self.power, self.live, emitter=self.emitter, audit=self.audit
        )
        door = config.actions.door
        self.door = (
            None
            if door is None
            else DoorWatcher(door, self.emitter, lambda: self.health.in_maintenance(None))
        )
        self.dispatcher = Dispatcher(
            max_payload_bytes=config.commands.max_payload_bytes,
            disabled=frozenset(config.commands.disabled),
            hardware_actions=config.commands.hardware_actions,
            audit=self.audit,
            make_context=self._command_context,
        )
        self.command_socket = CommandSocket(config.storage.data_dir / SOCKET_NAME, self.dispatcher)
        self.shared = SharedResources()
        self.pollers: dict[str, Poller[Any]] = {}
        self.runners: dict[str, DeviceRunner] = {}
        self.diagnostics: DiagnosticsServer | None = None  # while the page is enabled and listening
        self._process = psutil.Process(os.getpid())
        self._background: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.config.storage.data_dir.mkdir(parents=True, exist_ok=True)
        async with self.outbox:
            await self.emitter.event(
                "agent_started", detail={"boot_id": self.boot_id, "version": __version__}
            )
            context = DeviceContext(self.config.storage.data_dir, self.shared, self.agent_stats)
            runners = []
            for device in self.config.devices:
                poller = kind_of(device).create_poller(device, context)
                self.pollers[device.device_id] = poller
                runners.append(DeviceRunner(device, poller, self.emitter, self.live, self.health))
                self.runners[device.device_id] = runners[-1]
            await self.health.start(self.pollers)
            await self._audit_config_change()
            self.power.open()
            self.power.restore_counts(await self.health.swap_meta("power_cycles", None, keep=True))
            if self.door is not None:
                self.door.open()
            async with asyncio.TaskGroup() as group:
                service = [
                    group.create_task(self.link.run(), name="mqtt-link"),
                    group.create_task(self.reporter.run(), name="mqtt-reporter"),
                    group.create_task(watchdog_loop(), name="systemd-watchdog"),
                    group.create_task(
                        liveness_loop(self._liveness_path, self.liveness), name="liveness-file"
                    ),
                ]
                # Stopped with the device loops, before the ledger closes: they write to it.
                devices = [group.create_task(self.health.run(), name="health")]
                if self.config.actions.auto_power_cycle.enabled and self.config.actions.relays:
                    devices.append(group.create_task(self.auto_recovery.run(), name="auto-recovery"))
                devices += [group.create_task(r.run(), name=f"device:{r.config.device_id}") for r in runners]
                if self.config.diagnostics.enabled:
                    await self._start_page(group, service)
                await self.command_socket.start()
                release_free_memory()
                notify("READY=1")
                self.ready.set()
                log.info(
                    "agent %s started: cabinet %s, %d devices, boot %s",
                    __version__,
                    self.config.cabinet.id,
                    len(runners),
                    self.boot_id[:8],
                )
                await _first_of(stop, self._reload_now)
                notify("STOPPING=1")
                log.info("stopping")
                for task in devices:
                    task.cancel()
                await asyncio.gather(*devices, return_exceptions=True)
                await self.health.stop()
                await self.command_socket.stop()
                await self._shutdown(service)
            await self.power.close()
            if self.door is not None:
                self.door.close()

    async def _start_page(self, group: asyncio.TaskGroup, service: list[asyncio.Task[Any]]) -> None:
        # Imported here: aiohttp.web is loaded only on cabinets that serve the page.
        from edge_agent.diagnostics.server import DiagnosticsServer

        page = DiagnosticsServer(self)
        if await page.start():
            self.diagnostics = page
            service.append(group.create_task(page.run(), name="diagnostics-page"))

    async def poll_all_now(self) -> dict[str, Any]:
        """Poll every device at once (the page's self-test); returns each device's state after it."""
        async with asyncio.TaskGroup() as group:
            for runner in self.runners.values():
                group.create_task(runner.poll_soon())
        return {
            device_id: {"state": snapshot.health.state, "reason": snapshot.health.reason}
            for device_id, snapshot in self.live.devices.items()
        }

    async def _shutdown(self, service: list[asyncio.Task[Any]]) -> None:
        await self.emitter.event("agent_stopping", detail={"boot_id": self.boot_id})
        drained = await self.reporter.wait_drained(SHUTDOWN_FLUSH_S)
        if not drained:
            log.warning(
                "stopping with %d messages in the outbox; they are sent after the next start",
                self.outbox.stats().depth,
            )
        if self.link.connected.is_set():
            offline = self.link.publish(
                self.topics.status, self._status(online=False, reason="shutdown"), qos=1, retain=True
            )
            with contextlib.suppress(Exception):
                async with asyncio.timeout(SHUTDOWN_FLUSH_S):
                    await offline
        await self.link.close()
        for task in service:
            task.cancel()
        await asyncio.gather(*service, return_exceptions=True)
        # Last, so a deployment tool never sees "stopped" while the outbox is still draining.
        remove_liveness(self._liveness_path)
        for task in self._background:
            task.cancel()

    async def _save_power_cycles(self, counts: dict[str, Any]) -> None:
        await self.health.swap_meta("power_cycles", counts)

    async def _audit_config_change(self) -> None:
        """A config change is audited: the first start with a new config hash writes one record."""
        current = self.config.config_hash()
        previous = await self.health.swap_meta("config_hash", current)
        if previous != current:
            await self.audit.record(None, "agent", "config", None, {"from": previous, "to": current}, "ok")

    # --- presence -------------------------------------------------------------------------------

    def _status(self, *, online: bool, reason: str | None = None) -> bytes:
        return (
            StatusPayload(
                state="online" if online else "offline",
                reason=reason,  # type: ignore[arg-type]
                cabinet_id=self.config.cabinet.id,
                site=self.config.cabinet.site,
                boot_id=self.boot_id,
                agent_version=__version__,
                config_hash=self.config.config_hash(),
                ts=utc_now(),
            )
            .model_dump_json()
            .encode()
        )

    def _on_connected(self) -> None:
        self.publish_birth()

    def publish_birth(self) -> asyncio.Future[int]:
        return self.link.publish(self.topics.status, self._status(online=True), qos=1, retain=True)

    async def _resend_birth(self) -> None:
        await self.publish_birth()

    # --- commands -------------------------------------------------------------------------------

    def _on_message(self, message: Incoming) -> None:
        name = self.topics.command_name(message.topic)
        if name is None:
            return
        self._spawn(self._answer(name, message))

    async def _answer(self, name: str, message: Incoming) -> None:
        reply = await self.dispatcher.handle(name, message.payload)
        if reply is None:
            return
        future = self.link.publish(
            self.topics.command_reply,
            reply.model_dump_json().encode(),
            qos=1,
            correlation_data=message.correlation_data,
        )
        with contextlib.suppress(Exception):  # a reply lost with the connection is not retried
            await future
        if self.reload_to is not None:
            self._reload_now.set()  # after the reply left: the agent restarts with the new config

    async def reload_config(self) -> dict[str, Any]:
        """Validate the config file again; an invalid one is refused and the running one stays."""
        if self.config_path is None:
            raise CommandError("unavailable", "the agent was not started from a config file")
        try:
            new = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as exc:
            problems = "; ".join(str(problem) for problem in exc.problems[:5])
            raise CommandError("invalid_config", f"{len(exc.problems)} problem(s): {problems}") from None
        if new.config_hash() == self.config.config_hash():
            return {"changed": False, "config_hash": new.config_hash()}
        self.reload_to = new
        return {"changed": True, "config_hash": new.config_hash(), "restarting": True}

    def _command_context(self, operator: str | None) -> CommandContext:
        return CommandContext(
            cabinet_id=self.config.cabinet.id,
            operator=operator,
            live=self.live,
            emitter=self.emitter,
            pollers=self.pollers,
            agent_info=self.agent_info,
            resend_birth=self._resend_birth,
            services={
                "health": self.health,
                "audit": self.audit,
                "power": self.power,
                "reload_config": self.reload_config,
                "runners": self.runners,
                "firmware_dir": self.config.storage.data_dir / "firmware",
                "firmware_busy": lambda: self.config.firmware.busy_now(self.config.health.tz),
            },
        )

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- liveness (read by `edge-agent health`, the upgrade gate) -------------------------------

    @property
    def _liveness_path(self) -> Path:
        return liveness_path(self.config.storage.data_dir)

    def liveness(self) -> Liveness:
        return Liveness(
            version=__version__,
            boot_id=self.boot_id,
            pid=os.getpid(),
            started_at=self.started_at,
            updated_at=utc_now(),
            broker_connected=self.link.connected.is_set(),
            outbox_depth=self.outbox.stats().depth,
        )

    # --- figures --------------------------------------------------------------------------------

    def agent_stats(self) -> dict[str, Value]:
        stats = self.outbox.stats()
        return {
            "agent_rss_bytes": self._process.memory_info().rss,
            "outbox_depth": stats.depth,
            "outbox_bytes": stats.stored_bytes,
        }

    def agent_info(self) -> dict[str, Any]:
        stats = self.outbox.stats()
        return {
            "cabinet_id": self.config.cabinet.id,
            "site": self.config.cabinet.site,
            "version": __version__,
            "boot_id": self.boot_id,
            "config_hash": self.config.config_hash(),
            "uptime_s": round(time.monotonic() - self.started_monotonic, 1),
            "broker_connected": self.link.connected.is_set(),
            "broker_last_error": self.link.last_error,
            "outbox": {
                "depth": stats.depth,
                "bytes": stats.stored_bytes,
                "max_bytes": stats.max_bytes,
                "thinned_total": stats.thinned_total,
                "rejected_total": stats.rejected_total,
            },
            "published_total": self.reporter.published_total,
        }


async def run_agent(config: AgentConfig, config_path: Path | None = None) -> None:
    """Run until SIGTERM or SIGINT; an accepted `reload_config` restarts the agent in-process."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while True:
        agent = Agent(config, config_path=config_path)
        await agent.run(stop)
        if agent.reload_to is None or stop.is_set():
            return
        log.info("restarting with the new configuration %s", agent.reload_to.config_hash())
        config = agent.reload_to


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
