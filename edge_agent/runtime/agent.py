"""The composition root: builds the agent's parts and supervises them; nothing else.

Start: outbox -> relays -> MQTT link (birth + states on every connect) -> page -> health -> device loops
-> local socket -> READY=1. Every long-lived part is an async context manager on one exit stack
and every task runs in one TaskGroup, so a stop (SIGTERM/SIGINT, or an accepted `reload_config`)
unwinds in reverse: device loops stop, the ledger closes, the outbox gets `SHUTDOWN_FLUSH_S` to
drain, the retained status becomes offline with reason `shutdown`, the link disconnects cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent import __version__
from edge_agent.config import AgentConfig
from edge_agent.memory_trim import freeze_startup, trim_periodically
from edge_agent.mqtt.link import Incoming
from edge_agent.runtime.config_reload import ConfigReload
from edge_agent.runtime.figures import Figures, Identity
from edge_agent.runtime.ledger_meta import health_running
from edge_agent.runtime.liveness_file import liveness_written
from edge_agent.runtime.local_view import LocalView, serving_page
from edge_agent.runtime.parts import CommandPath, Core, Hardware
from edge_agent.runtime.presence import Uplink
from edge_agent.runtime.systemd_notify import notify, watchdog_loop
from edge_agent.runtime.tasks import running

if TYPE_CHECKING:
    from edge_agent.diagnostics.server import DiagnosticsServer

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, config: AgentConfig, *, config_path: Path | None = None) -> None:
        self.config, self.ready = config, asyncio.Event()
        self.core = core = Core.build(Identity(config))
        self.uplink = Uplink(
            core.identity, core.topics, core.outbox, self._on_message, emitter=core.emitter, live=core.live
        )
        self.figures = Figures(core.identity, core.outbox, self.uplink.link, self.uplink.reporter)
        self.hardware = Hardware.build(core, self.figures.agent_stats)
        reload = ConfigReload(config, config_path)
        self.commands = CommandPath.build(core, self.hardware, self.figures, self.uplink, reload)
        self.view = LocalView(
            config, core.live, core.audit, self.commands.dispatcher, core.health, self.figures,
            self.hardware.runners, self.ready,
        )  # fmt: skip
        self.diagnostics: DiagnosticsServer | None = None  # while the page is enabled and listening

    async def run(self, stop: asyncio.Event) -> None:
        core, config = self.core, self.config
        config.storage.data_dir.mkdir(parents=True, exist_ok=True)
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(gc.unfreeze)  # a reload's next agent must not keep this one's objects
            await stack.enter_async_context(core.outbox)
            started = {"boot_id": self.boot_id, "version": __version__}
            await core.emitter.event("agent_started", detail=started)
            await stack.enter_async_context(self.hardware.claimed())
            group = await stack.enter_async_context(asyncio.TaskGroup())
            data_dir = config.storage.data_dir
            await stack.enter_async_context(liveness_written(group, data_dir, self.figures.liveness))
            await stack.enter_async_context(
                running(group, ("systemd-watchdog", watchdog_loop()), ("memory-trim", trim_periodically()))
            )
            await stack.enter_async_context(self.commands.replies.serving(group, self.uplink.link))
            await stack.enter_async_context(self.uplink.connected(group, core.emitter))
            if config.diagnostics.enabled:
                await stack.enter_async_context(serving_page(group, self.view, self._page_serving))
            await stack.enter_async_context(health_running(core, self.hardware))
            await stack.enter_async_context(running(group, *self.hardware.work(config, core.health)))
            await stack.enter_async_context(self.commands.socket)
            self._started()
            await _first_of(stop, self.commands.reload.requested)
            notify("STOPPING=1")
            log.info("stopping")

    def _started(self) -> None:
        freeze_startup()
        notify("READY=1")
        self.ready.set()
        log.info(
            "agent %s started: cabinet %s, %d devices, boot %s",
            __version__, self.config.cabinet.id, len(self.hardware.runners), self.boot_id[:8],
        )  # fmt: skip

    def _on_message(self, message: Incoming) -> None:
        self.commands.replies.on_message(message)  # built after the link: replies go out through it

    def _page_serving(self, page: DiagnosticsServer) -> None:
        self.diagnostics = page

    @property
    def reload_to(self) -> AgentConfig | None:
        """The validated new config an accepted `reload_config` restarts with."""
        return self.commands.reload.accepted

    # Read-only handles on the parts, for the CLI's in-process tests and tools.
    boot_id = property(lambda self: self.core.identity.boot_id)
    live = property(lambda self: self.core.live)
    outbox = property(lambda self: self.core.outbox)
    audit = property(lambda self: self.core.audit)
    health = property(lambda self: self.core.health)
    reports = property(lambda self: self.core.health)
    link = property(lambda self: self.uplink.link)
    dispatcher = property(lambda self: self.commands.dispatcher)
    power = property(lambda self: self.hardware.power)
    runners = property(lambda self: self.hardware.runners)
    pollers = property(lambda self: self.hardware.pollers)


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
