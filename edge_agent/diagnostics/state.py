"""What every handler of the page shares, kept under one aiohttp app key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from edge_agent.diagnostics.audit import AuditSink
from edge_agent.diagnostics.config import DiagnosticsConfig
from edge_agent.diagnostics.history import History
from edge_agent.diagnostics.logbuffer import RecentLog
from edge_agent.diagnostics.sessions import LoginLimiter, Session, Sessions
from edge_agent.diagnostics.users import UserStore

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


STATE = web.AppKey("diagnostics", PageState)
SESSION = "edge_session"  # request key of the logged-in Session


def state_of(request: web.Request) -> PageState:
    return request.app[STATE]


def session_of(request: web.Request) -> Session:
    session: Session = request[SESSION]
    return session
