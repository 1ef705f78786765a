"""Security of every request: headers, login required, CSRF on every POST, roles.

Public: `/healthz`, `/login`, `/lang`, `/favicon.ico`, `/static/*`. Everything else needs a
session; without one a page redirects to the login and an API call gets 401. A POST needs the
session's CSRF token (`X-CSRF-Token` header or `csrf` form field): missing or wrong -> 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from edge_agent.diagnostics.state import SESSION, SESSION_COOKIE, state_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/healthz", "/login", "/lang", "/favicon.ico"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


async def security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: every response, errors and streams included, before its headers go out."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path in PUBLIC_PATHS or path.startswith("/static/"):
        return await handler(request)
    state = state_of(request)
    await state.prune_sessions()
    session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.method == "GET" and not path.startswith("/api/"):
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
        raise web.HTTPUnauthorized(text='{"error":"login required"}', content_type="application/json")
    if request.method not in ("GET", "HEAD"):
        await _check_csrf(request, session.csrf)
    request[SESSION] = session
    return await handler(request)


async def _check_csrf(request: web.Request, expected: str) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        field = form.get("csrf")
        given = field if isinstance(field, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden(
            text='{"error":"missing or wrong CSRF token"}', content_type="application/json"
        )


def require_technician(request: web.Request) -> None:
    if request[SESSION].role != "technician":
        raise web.HTTPForbidden(text='{"error":"technician role required"}', content_type="application/json")
