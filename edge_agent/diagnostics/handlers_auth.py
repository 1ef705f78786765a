"""Login, logout, the language switch and `/healthz` (the only routes without a session)."""

from __future__ import annotations

import hmac

from aiohttp import web

from edge_agent.diagnostics import i18n
from edge_agent.diagnostics.pages import clear_session, language, login_page, safe_next, set_cookie
from edge_agent.diagnostics.state import LOGIN_CSRF_COOKIE, NEXT_TARGET, SESSION_COOKIE, session_of, state_of

MAX_FIELD = 256


async def healthz(request: web.Request) -> web.Response:
    """For Ansible health gates and load balancers: no login, nothing secret."""
    agent = state_of(request).agent
    ready = agent.is_ready()
    body = {
        "status": "ok" if ready else "starting",
        "version": agent.agent_info()["version"],
        "broker_connected": agent.broker_connected(),
    }
    return web.json_response(body, status=200 if ready else 503)


async def login_form(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    if state.sessions.get(request.cookies.get(SESSION_COOKIE)) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    words = i18n.words(language(request))
    form = await request.post()
    user, password, csrf, target = (
        str(form.get(key, ""))[:MAX_FIELD] for key in ("user", "password", "csrf", "next")
    )
    request[NEXT_TARGET] = target
    address = request.remote or "?"
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return login_page(request, message=words["login.stale"], status=403)
    locked = state.limiter.locked_for(user, address)
    if locked > 0:
        await _audit_login(request, user, "locked_out")
        return login_page(request, message=words["login.locked"].format(s=int(locked) + 1), status=429)
    account = await state.authenticate(user, password)
    if account is None:
        state.limiter.failed(user, address)
        await _audit_login(request, user, "failed")
        return login_page(request, message=words["login.failed"], status=401)
    state.limiter.succeeded(user)
    session = state.sessions.create(account.name, account.role, account.password_hash)
    await _audit_login(request, account.name, "ok")
    response = web.HTTPFound(safe_next(target))
    set_cookie(response, state, SESSION_COOKIE, session.token, max_age=int(state.config.session_lifetime_s))
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    session = session_of(request)
    state.sessions.end(session.token)
    await state.audit.record(
        operator=session.user,
        source="web",
        module="web/logout",
        target=None,
        params={"client": request.remote or "?"},
        result="ok",
    )
    response = web.HTTPFound("/login")
    clear_session(response)
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    lang = request.query.get("to")
    response = web.HTTPFound(safe_next(request.query.get("next")))
    if lang in i18n.LANGS:
        # Readable by nobody but the server, kept a year: a preference, not a secret.
        response.set_cookie(
            i18n.LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="Strict", httponly=True
        )
    raise response


async def _audit_login(request: web.Request, user: str, result: str) -> None:
    await state_of(request).audit.record(
        operator=user[:64] or "-",
        source="web",
        module="web/login",
        target=None,
        params={"client": request.remote or "?"},
        result=result,
    )
