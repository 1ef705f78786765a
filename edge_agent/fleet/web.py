"""`edge-agent fleet serve`: the duty room's read-only web view of the centre's database.

Same stack as the cabinet page (aiohttp.web, local accounts managed with `edge-agent user
--users-file FILE add NAME`, scrypt hashes, server-side sessions, login rate limit, strict CSP, no
CDN). Pages: the fleet now (`/`, refreshed every 2 s from `/api/fleet`), a site (`/site?name=`),
a cabinet (`/cabinet?id=`), the month per contract (`/month?month=YYYY-MM`). Nothing here writes.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import date
from importlib.resources import files
from urllib.parse import quote

from aiohttp import web

from edge_agent.diagnostics.sessions import LoginLimiter, Sessions
from edge_agent.diagnostics.users import UserStore
from edge_agent.fleet import web_pages as pages
from edge_agent.fleet.contracts import Contract
from edge_agent.fleet.month import MonthError, MonthReport, month_report
from edge_agent.fleet.now import fleet_now
from edge_agent.fleet.store import Store

SESSION_COOKIE = "fleet_session"
LOGIN_CSRF_COOKIE = "fleet_login_csrf"
PUBLIC = frozenset({"/login", "/healthz", "/favicon.ico", "/static/fleet.js", "/static/fleet.css"})
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STORE = web.AppKey("store", Store)
USERS = web.AppKey("users", UserStore)
SESSIONS = web.AppKey("sessions", Sessions)
LIMITER = web.AppKey("limiter", LoginLimiter)
CONTRACTS = web.AppKey("contracts", list[Contract])
# The month of a city is thousands of daily reports: made at most once a minute for the page.
MONTHS = web.AppKey("months", dict[str, tuple[float, list[MonthReport]]])
MONTH_CACHE_S = 60.0
USER = web.RequestKey("user", str)
CSRF = web.RequestKey("csrf", str)


def make_app(
    store: Store, users: UserStore, contracts: list[Contract], *, session_s: float = 12 * 3600
) -> web.Application:
    app = web.Application(middlewares=[_require_login])
    app[STORE], app[USERS], app[CONTRACTS] = store, users, contracts
    app[SESSIONS] = Sessions(session_s)
    app[MONTHS] = {}
    app[LIMITER] = LoginLimiter(max_failures=5, lockout_s=300)
    app.on_response_prepare.append(_headers)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _login)
    app.router.add_post("/logout", _logout)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/favicon.ico", _no_icon)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/", _fleet)
    app.router.add_get("/api/fleet", _api_fleet)
    app.router.add_get("/site", _site)
    app.router.add_get("/cabinet", _cabinet)
    app.router.add_get("/month", _month)
    return app


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _no_icon(_request: web.Request) -> web.Response:
    raise web.HTTPNotFound()


async def _headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def _require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC:
        return await handler(request)
    session = request.app[SESSIONS].get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.path.startswith("/api/"):
            raise web.HTTPUnauthorized(text='{"error":"login required"}', content_type="application/json")
        raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
    if request.method == "POST":
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            raise web.HTTPForbidden(text="bad CSRF token")
    request[USER], request[CSRF] = session.user, session.csrf
    return await handler(request)


def lang_of(request: web.Request) -> str:
    wanted = request.query.get("lang") or request.cookies.get("fleet_lang") or ""
    return (
        "zh-CN"
        if wanted == "zh-CN" or (not wanted and "zh" in request.headers.get("Accept-Language", ""))
        else "en"
    )


def _page(request: web.Request, body: str) -> web.Response:
    response = web.Response(text=body, content_type="text/html", charset="utf-8")
    if "lang" in request.query:
        response.set_cookie("fleet_lang", lang_of(request), httponly=True, samesite="Strict")
    return response


async def _login_form(request: web.Request, error: str = "") -> web.Response:
    # Reused while the browser has one: a second tab (or a favicon redirect) must not void the first form.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = _page(request, pages.login(lang_of(request), token, request.query.get("next", "/"), error))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict")
    return response


async def _login(request: web.Request) -> web.Response:
    form = await request.post()
    user, password = str(form.get("user", ""))[:64], str(form.get("password", ""))[:256]
    if not hmac.compare_digest(str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "-")):
        raise web.HTTPForbidden(text="bad CSRF token")
    address = request.remote or "-"
    limiter = request.app[LIMITER]
    if limiter.locked_for(user, address) > 0:
        return await _login_form(request, "locked")
    found = await asyncio.to_thread(request.app[USERS].authenticate, user, password)
    if found is None:
        limiter.failed(user, address)
        return await _login_form(request, "wrong")
    limiter.succeeded(user)
    session = request.app[SESSIONS].create(found.name, found.role, found.password_hash)
    target = str(form.get("next", "/"))
    response = web.HTTPFound(target if target.startswith("/") and not target.startswith("//") else "/")
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="Strict")
    raise response


async def _logout(request: web.Request) -> web.Response:
    request.app[SESSIONS].end(request.cookies.get(SESSION_COOKIE))
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE)
    raise response


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ("fleet.js", "fleet.css"):
        raise web.HTTPNotFound()
    text = (files("edge_agent.fleet") / "static" / name).read_text(encoding="utf-8")
    kind = "application/javascript" if name.endswith(".js") else "text/css"
    return web.Response(text=text, content_type=kind, charset="utf-8")


async def _rows(request: web.Request, **where: str | None) -> list[dict[str, object]]:
    rows = await asyncio.to_thread(fleet_now, request.app[STORE], **where)
    return [row.as_dict() for row in rows]


async def _fleet(request: web.Request) -> web.Response:
    return _page(request, pages.fleet(lang_of(request), request[USER], request[CSRF], await _rows(request)))


async def _api_fleet(request: web.Request) -> web.Response:
    return web.json_response({"cabinets": await _rows(request, site=request.query.get("site"))})


async def _site(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    rows = await _rows(request, site=name)
    return _page(request, pages.site(lang_of(request), request[USER], request[CSRF], name, rows))


async def _cabinet(request: web.Request) -> web.Response:
    rows = await _rows(request, cabinet_id=request.query.get("id", ""))
    if not rows:
        raise web.HTTPNotFound(text="no such cabinet")
    return _page(request, pages.cabinet(lang_of(request), request[USER], request[CSRF], rows[0]))


async def _month(request: web.Request) -> web.Response:
    month = request.query.get("month") or date.today().strftime("%Y-%m")
    store, contracts, cache = request.app[STORE], request.app[CONTRACTS], request.app[MONTHS]
    made, reports = cache.get(month, (0.0, []))
    if time.monotonic() - made > MONTH_CACHE_S:
        try:
            reports = await asyncio.to_thread(lambda: [month_report(store, month, c) for c in contracts])
        except MonthError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        cache.clear()  # one month at a time is what a duty room looks at
        cache[month] = (time.monotonic(), reports)
    return _page(request, pages.month(lang_of(request), request[USER], request[CSRF], month, reports))
