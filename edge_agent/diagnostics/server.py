"""Builds the diagnostics web app and serves it as one task of the agent's TaskGroup.

Imported only when `diagnostics.enabled` is true: aiohttp.web stays out of a cabinet without it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

from aiohttp import web

from edge_agent.diagnostics import handlers_api as api
from edge_agent.diagnostics import handlers_auth as auth
from edge_agent.diagnostics import handlers_pages as pages
from edge_agent.diagnostics.connections import IDLE_TIMEOUT_S, CappedConnections
from edge_agent.diagnostics.history import History
from edge_agent.diagnostics.live_stream import events
from edge_agent.diagnostics.logbuffer import RecentLog
from edge_agent.diagnostics.middleware import require_login, security_headers
from edge_agent.diagnostics.sessions import LoginLimiter, Sessions
from edge_agent.diagnostics.state import STATE, PageState
from edge_agent.diagnostics.users import UserStore

if TYPE_CHECKING:
    from edge_agent.diagnostics.view import AgentView

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 2.0
MAX_REQUEST_BYTES = 64 * 1024
PUBLISH_WATCH_S = 1.0  # resolution of the overview's "last publish"


def build_app(agent: AgentView) -> web.Application:
    config = agent.config.diagnostics
    secrets = [agent.config.mqtt.password.get_secret_value()] if agent.config.mqtt.password else []
    state = PageState(
        agent=agent,
        config=config,
        users=UserStore(config.users_file),
        sessions=Sessions(config.session_lifetime_s),
        limiter=LoginLimiter(max_failures=config.lockout_after_failures, lockout_s=config.lockout_s),
        history=History(config.history_hours),
        recent_log=RecentLog(secrets),
        audit=agent.audit,
        secure_cookies=config.tls is not None,
    )
    app = web.Application(middlewares=[require_login], client_max_size=MAX_REQUEST_BYTES)
    app.on_response_prepare.append(security_headers)
    app[STATE] = state
    _routes(app)
    return app


def _routes(app: web.Application) -> None:
    app.router.add_get("/healthz", auth.healthz)
    app.router.add_get("/login", auth.login_form)
    app.router.add_post("/login", auth.login_submit)
    app.router.add_post("/logout", auth.logout)
    app.router.add_get("/lang", auth.switch_language)
    app.router.add_get("/static/{name}", pages.static)
    app.router.add_get("/favicon.ico", pages.favicon)
    app.router.add_get("/", pages.overview)
    app.router.add_get("/device/{device_id}", pages.device)
    app.router.add_get("/reports", pages.reports_page)
    app.router.add_get("/actions", pages.actions_page)
    app.router.add_get("/logs", pages.logs_page)
    app.router.add_get("/alarms", pages.alarms_page)
    app.router.add_get("/api/alarms", api.alarms)
    app.router.add_post("/api/alarms/{alarm_id:\\d+}/ack", api.acknowledge_alarm)
    app.router.add_get("/api/status", api.status)
    app.router.add_get("/api/device/{device_id}", api.device)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/action/{key}", api.run_action)
    app.router.add_get("/api/logs", api.logs)
    app.router.add_get("/reports/snapshot.{fmt:csv|json}", api.snapshot_download)
    app.router.add_get("/reports/daily/{day}.{fmt:csv|json}", api.daily_download)


class DiagnosticsServer:
    """The page as an agent component: `start` binds the socket, `run` serves until cancelled."""

    def __init__(self, agent: AgentView, app: web.Application | None = None) -> None:
        self.app = app or build_app(agent)
        self.state = self.app[STATE]
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S, keepalive_timeout=IDLE_TIMEOUT_S
        )
        self._listener: asyncio.Server | None = None

    async def start(self) -> bool:
        """Listen; False (logged) when the address is unusable: the agent runs on without its page."""
        config = self.state.config
        await self._runner.setup()
        assert self._runner.server is not None
        try:
            # Our own listener instead of web.TCPSite, to put the connection cap in front.
            self._listener = await asyncio.get_running_loop().create_server(
                CappedConnections(self._runner.server),
                config.listen,
                config.port,
                ssl=_tls(self.state.agent),
                backlog=32,
            )
        except (OSError, ssl.SSLError) as exc:
            log.error("diagnostics page cannot listen on %s:%d: %s", config.listen, config.port, exc)
            await self._runner.cleanup()
            return False
        self.state.recent_log.install()
        log.info(
            "diagnostics page on %s://%s:%d/", "https" if config.tls else "http", config.listen, config.port
        )
        return True

    async def run(self) -> None:
        """Record history for the sparklines until cancelled, then close the server."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(_record_history(self.state), name="page-history")
                group.create_task(_watch_publishing(self.state), name="page-publish-watch")
        finally:
            self.state.recent_log.remove()
            if self._listener is not None:
                self._listener.close()
            await self._runner.cleanup()


async def _record_history(state: PageState) -> None:
    live = state.agent.live
    for snapshot in live.devices.values():
        state.history.record(snapshot)
        state.alarms.observe(snapshot)
    async for device_id in live.subscribe():
        changed = live.devices.get(device_id)
        if changed is not None:
            state.history.record(changed)
            state.alarms.observe(changed)


async def _watch_publishing(state: PageState) -> None:
    while True:
        state.observe_publishing()
        await asyncio.sleep(PUBLISH_WATCH_S)


def _tls(agent: AgentView) -> ssl.SSLContext | None:
    tls = agent.config.diagnostics.tls
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert_file, tls.key_file)
    return context
