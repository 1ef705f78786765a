"""HTML pages: the login form (no JavaScript needed) and the shells the script fills in.

Every value put into HTML is escaped here; everything the script adds goes in as text nodes.
The first picture is embedded as JSON (`<` escaped), so the page paints without a second request.
"""

from __future__ import annotations

import html
import json
import secrets
from string import Template
from typing import Any
from urllib.parse import quote

from aiohttp import web

from edge_agent import faults
from edge_agent.diagnostics import i18n
from edge_agent.diagnostics.state import (
    LOGIN_CSRF_COOKIE,
    NEXT_TARGET,
    SESSION_COOKIE,
    TEMPLATE_DIR,
    PageState,
    session_of,
    state_of,
)

_TEMPLATES = {
    name: Template((TEMPLATE_DIR / f"{name}.html").read_text(encoding="utf-8")) for name in ("page", "login")
}


LOGIN_TOKEN_CHARS = 32  # token_urlsafe(24)


def language(request: web.Request) -> i18n.Lang:
    return i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE),
        request.headers.get("Accept-Language"),
        state_of(request).config.default_language,
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//host` or `http://` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(name: str, values: dict[str, str]) -> str:
    return _TEMPLATES[name].substitute({key: html.escape(value) for key, value in values.items()})


def _common(request: web.Request, lang: i18n.Lang) -> dict[str, str]:
    words = i18n.words(lang)
    agent = state_of(request).agent
    return {
        "lang": lang,
        "title": words["title"],
        "cabinet": agent.config.cabinet.id,
        "switch": words["switch"],
        "other_lang": "en" if lang == "zh-CN" else "zh-CN",
        "here": quote(request.path_qs, safe=""),
    }


def login_page(request: web.Request, *, message: str = "", status: int = 200) -> web.Response:
    lang = language(request)
    words = i18n.words(lang)
    # Reuse the browser's token: a second login-page load (another tab, the favicon's redirect)
    # must not invalidate the form already shown.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(token) != LOGIN_TOKEN_CHARS:
        token = secrets.token_urlsafe(24)
    values = _common(request, lang) | {
        "login_title": words["login.title"],
        "login_user": words["login.user"],
        "login_password": words["login.password"],
        "login_submit": words["login.submit"],
        "message": message,
        "csrf": token,
        "next": safe_next(request.query.get("next") or request.get(NEXT_TARGET)),
    }
    response = web.Response(text=render("login", values), content_type="text/html", status=status)
    set_cookie(response, state_of(request), LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def shell(request: web.Request, page: str, data: dict[str, Any]) -> web.Response:
    lang = language(request)
    words = i18n.words(lang)
    session = session_of(request)
    state = state_of(request)
    init = {
        "page": page,
        "lang": lang,
        "words": words,
        "csrf": session.csrf,
        "role": session.role,
        "catalogue": faults.texts(lang),  # fault codes in words: the same text central can show
        "maintenance": state.agent.maintenance_now(),  # the banner on every page
    } | data
    values = _common(request, lang) | {
        "page": page,
        "user": session.user,
        "role": words[f"role.{session.role}"],
        "csrf": session.csrf,
        "logout": words["logout"],
        "nav_overview": words["nav.overview"],
        "nav_reports": words["nav.reports"],
        "nav_actions": words["nav.actions"],
        "nav_logs": words["nav.logs"],
        "nav_alarms": words["nav.alarms"],
        "init": "",
    }
    text = render("page", values)
    # JSON inside <script>: "<" escaped so a device name like "</script>" cannot end the block.
    embedded = json.dumps(init, ensure_ascii=False, default=str).replace("<", "\\u003c")
    text = text.replace(
        '<script type="application/json" id="init"></script>',
        f'<script type="application/json" id="init">{embedded}</script>',
        1,
    )
    return web.Response(text=text, content_type="text/html")


def set_cookie(
    response: web.StreamResponse, state: PageState, name: str, value: str, *, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=state.secure_cookies,
    )


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
