"""What every handler of the page shares, kept under one aiohttp app key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from edge_agent.diagnostics.audit import AuditSink
from edge_agent.diagnostics.config import DiagnosticsConfig
from edge_agent.diagnostics.history import History
from edge_agent.diagnostics.logbuffer import RecentLog
from edge_agent.diagnostics.sessions import LoginLimiter, Session, Sessions
from edge_agent.diagnostics.users import UserStore
from edge_agent.readings import iso_ts, utc_now

if TYPE_CHECKING:
    from edge_agent.app import Agent

SESSION_COOKIE = "edge_session"
LOGIN_CSRF_COOKIE = "edge_login_csrf"
STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass
class PageState:
    agent: Agent
    config: DiagnosticsConfig
    users: UserStore
    sessions: Sessions
    limiter: LoginLimiter
    history: History
    recent_log: RecentLog
    audit: AuditSink
    secure_cookies: bool
    last_publish: datetime | None = None  # when the reporter's sent count last grew (page's view)
    _published_seen: int = field(default=0, repr=False)

    def observe_publishing(self) -> None:
        total = self.agent.reporter.published_total
        if total != self._published_seen:
            self._published_seen, self.last_publish = total, utc_now()

    def agent_info(self) -> dict[str, Any]:
        """The agent's figures plus what the page adds (last publish, listening address)."""
        self.observe_publishing()
        info = self.agent.agent_info()
        info["last_publish"] = iso_ts(self.last_publish) if self.last_publish else None
        return info


STATE = web.AppKey("diagnostics", PageState)
SESSION = "edge_session"  # request key of the logged-in Session


def state_of(request: web.Request) -> PageState:
    return request.app[STATE]


def session_of(request: web.Request) -> Session:
    session: Session = request[SESSION]
    return session
