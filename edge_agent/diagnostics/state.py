"""What every handler of the page shares, kept under one aiohttp app key."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from edge_agent.audit import AuditLog
from edge_agent.config_page import DiagnosticsConfig
from edge_agent.diagnostics.alarms import AlarmLog
from edge_agent.diagnostics.history import History
from edge_agent.diagnostics.logbuffer import RecentLog
from edge_agent.diagnostics.sessions import LoginLimiter, Session, Sessions
from edge_agent.diagnostics.users import User, UserStore
from edge_agent.diagnostics.views import cabinet_values, ordered_devices
from edge_agent.errors import UserError
from edge_agent.readings import iso_ts, utc_now

if TYPE_CHECKING:
    from edge_agent.diagnostics.view import AgentView

log = logging.getLogger(__name__)

SESSION_COOKIE = "edge_session"
LOGIN_CSRF_COOKIE = "edge_login_csrf"
STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass
class PageState:
    agent: AgentView
    config: DiagnosticsConfig
    users: UserStore
    sessions: Sessions
    limiter: LoginLimiter
    history: History
    recent_log: RecentLog
    audit: AuditLog  # the agent's hash-chained audit log: logins, logouts, page-only actions
    secure_cookies: bool
    alarms: AlarmLog = field(default_factory=AlarmLog)
    last_publish: datetime | None = None  # when the reporter's sent count last grew (page's view)
    _published_seen: int = field(default=0, repr=False)
    _users_stamp: int | None = field(default=None, repr=False)
    _hashing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2), repr=False)

    async def authenticate(self, user: str, password: str) -> User | None:
        """Off the loop (scrypt takes ~50 ms and 16 MiB), at most two at once under a login flood."""
        async with self._hashing:
            try:
                return await asyncio.to_thread(self.users.authenticate, user, password)
            except UserError as exc:
                log.error("%s", exc)
                return None

    async def prune_sessions(self) -> None:
        """When the users file changed, end sessions of removed users and changed roles or passwords."""
        try:
            stamp = self.config.users_file.stat().st_mtime_ns
        except OSError:
            stamp = -1
        if stamp == self._users_stamp:
            return
        self._users_stamp = stamp
        try:
            users = await asyncio.to_thread(self.users.load)
        except UserError as exc:
            log.error("%s; every session ends", exc)
            users = {}
        gone = self.sessions.retain(
            lambda s: (
                s.user in users
                and users[s.user].role == s.role
                and users[s.user].password_hash == s.credential
            )
        )
        if gone:
            log.info("users file changed: %d session(s) ended", gone)

    def observe_publishing(self) -> None:
        total = self.agent.published_total()
        if total != self._published_seen:
            self._published_seen, self.last_publish = total, utc_now()

    def agent_info(self) -> dict[str, Any]:
        """The agent's figures plus what the page adds (last publish, listening address)."""
        self.observe_publishing()
        info = self.agent.agent_info()
        info["last_publish"] = iso_ts(self.last_publish) if self.last_publish else None
        info["maintenance"] = self.agent.maintenance_now()
        return info

    def overview(self) -> dict[str, Any]:
        """The agent, its devices (worst first) and the cabinet tiles: the overview's first render and
        `/api/status` alike."""
        live = self.agent.live
        return {"agent": self.agent_info(), "devices": ordered_devices(live), "cabinet": cabinet_values(live)}


STATE = web.AppKey("diagnostics", PageState)
SESSION = web.RequestKey("edge_session", Session)  # the logged-in Session of a request
NEXT_TARGET = web.RequestKey("next_target", str)  # where to go after a login form re-render


def state_of(request: web.Request) -> PageState:
    return request.app[STATE]


def session_of(request: web.Request) -> Session:
    session: Session = request[SESSION]
    return session
