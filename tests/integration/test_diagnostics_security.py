"""The diagnostics page's security, against the real server inside a running agent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.diagnostics_agent import PASSWORDS, PageAgent, page_agent
from support.mosquitto import Broker
from support.scripted_device import Script, ScriptedConfig

from edge_agent.diagnostics.users import UserStore

pytestmark = pytest.mark.integration

EVIL = '<img src=x onerror="alert(1)"></script><b>'
PAGE_ROUTES = ["/", "/device/host", "/reports", "/actions", "/logs", "/reports/snapshot.csv"]
API_ROUTES = ["/api/status", "/api/device/host", "/api/events", "/api/logs"]
POST_ROUTES = ["/api/action/self_test", "/api/action/power_cycle", "/logout"]


@pytest.fixture
async def page(tmp_path: Path, broker: Broker) -> AsyncIterator[PageAgent]:
    devices = [ScriptedConfig(device_id="radar1", name=EVIL, poll_interval_s=0.5)]
    scripts = {"radar1": Script(diagnostics={"last_frames_hex": EVIL, "camera_password": "hunter2-secret"})}
    async with page_agent(tmp_path, broker.port, devices, scripts) as running:
        yield running


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _login(client: aiohttp.ClientSession, url: str, user: str, password: str) -> aiohttp.ClientResponse:
    async with client.get(f"{url}/login") as form:
        token = re.search(r'name="csrf" value="([^"]+)"', await form.text())
    assert token is not None
    data = {"user": user, "password": password, "csrf": token.group(1), "next": "/"}
    async with client.post(f"{url}/login", data=data, allow_redirects=False) as response:
        await response.read()
        return response


async def _csrf(client: aiohttp.ClientSession, url: str) -> str:
    async with client.get(f"{url}/") as response:
        match = re.search(r'"csrf": "([^"]+)"', await response.text())
    assert match is not None
    return match.group(1)


async def test_healthz_needs_no_login(page: PageAgent) -> None:
    async with _client() as client, client.get(f"{page.url}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


async def test_every_route_without_a_session_redirects_or_401(page: PageAgent) -> None:
    async with _client() as client:
        for route in PAGE_ROUTES:
            async with client.get(page.url + route, allow_redirects=False) as response:
                assert response.status == 302, route
                assert response.headers["Location"].startswith("/login?next="), route
        for route in API_ROUTES:
            async with client.get(page.url + route, allow_redirects=False) as response:
                assert response.status == 401, route
        for route in POST_ROUTES:
            async with client.post(page.url + route, json={}, allow_redirects=False) as response:
                assert response.status == 401, route


async def test_forged_session_cookie_is_refused(page: PageAgent) -> None:
    async with _client() as client:
        client.cookie_jar.update_cookies({"edge_session": "forged"})
        async with client.get(f"{page.url}/api/status") as response:
            assert response.status == 401


async def test_login_sets_a_strict_httponly_cookie(page: PageAgent) -> None:
    async with _client() as client:
        response = await _login(client, page.url, "tech", PASSWORDS["tech"])
        assert response.status == 302
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with client.get(f"{page.url}/api/status") as status:
            assert status.status == 200
            assert {d["device_id"] for d in (await status.json())["devices"]} == {"host", "radar1"}


async def test_post_without_or_with_wrong_csrf_is_403(page: PageAgent) -> None:
    async with _client() as client:
        await _login(client, page.url, "tech", PASSWORDS["tech"])
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            for route in POST_ROUTES:
                async with client.post(
                    page.url + route, json={}, headers=headers, allow_redirects=False
                ) as r:
                    assert r.status == 403, (route, headers)


async def test_login_form_without_its_csrf_token_is_refused(page: PageAgent) -> None:
    async with _client() as client:
        data = {"user": "tech", "password": PASSWORDS["tech"], "csrf": "guess"}
        async with client.post(f"{page.url}/login", data=data, allow_redirects=False) as response:
            assert response.status == 403
            assert "edge_session" not in response.cookies


async def test_twenty_wrong_passwords_lock_the_account(page: PageAgent) -> None:
    async with _client() as client:
        statuses = [(await _login(client, page.url, "tech", f"wrong-{i}")).status for i in range(20)]
        assert statuses[0] == 401
        assert statuses[-1] == 429
        locked = await _login(client, page.url, "tech", PASSWORDS["tech"])
        assert locked.status == 429  # even the right password, while locked
        logins = [r for r in await page.agent.audit.recent(1000) if r["module"] == "web/login"]
        assert sum(r["result"] == "failed" for r in logins) >= 9
        assert any(r["result"] == "locked_out" for r in logins)
        assert all(r["source"] == "web" and r["operator"] == "tech" for r in logins)


async def test_viewer_cannot_run_actions(page: PageAgent) -> None:
    async with _client() as client:
        await _login(client, page.url, "viewer", PASSWORDS["viewer"])
        token = await _csrf(client, page.url)
        async with client.post(
            f"{page.url}/api/action/self_test", json={}, headers={"X-CSRF-Token": token}
        ) as response:
            assert response.status == 403


async def test_injected_markup_and_secrets_never_reach_the_html(page: PageAgent) -> None:
    async with _client() as client:
        await _login(client, page.url, "tech", PASSWORDS["tech"])
        for route in ("/", "/device/radar1"):
            async with client.get(page.url + route) as response:
                text = await response.text()
                assert "<img" not in text and "</script><b>" not in text, route
                assert "\\u003cimg" in text  # present, but only as escaped JSON data
        async with client.get(f"{page.url}/api/device/radar1") as response:
            body = await response.text()
            assert "hunter2-secret" not in body
            assert response.headers["Content-Type"].startswith("application/json")


async def test_static_files_refuse_traversal(page: PageAgent) -> None:
    async with _client() as client:
        async with client.get(f"{page.url}/static/app.js") as response:
            assert response.status == 200
        for attempt in (
            "/static/../users.json",
            "/static/%2e%2e/server.py",
            "/static/..%2fserver.py",
            "/static/%2e%2e%2f%2e%2e%2fcabinet.yaml",
            "/static/server.py",
        ):
            async with client.get(page.url + attempt, allow_redirects=False) as response:
                assert response.status in (302, 401, 404), attempt
                assert "scrypt" not in await response.text()


async def test_open_redirect_after_login_is_refused(page: PageAgent) -> None:
    async with _client() as client:
        async with client.get(f"{page.url}/login") as form:
            token = re.search(r'name="csrf" value="([^"]+)"', await form.text())
        assert token is not None
        data = {
            "user": "tech",
            "password": PASSWORDS["tech"],
            "csrf": token.group(1),
            "next": "//evil.example/",
        }
        async with client.post(f"{page.url}/login", data=data, allow_redirects=False) as response:
            assert response.headers["Location"] == "/"


async def test_removing_a_user_or_changing_a_password_ends_their_sessions(page: PageAgent) -> None:
    store = UserStore(page.users_file)
    async with _client() as tech, _client() as viewer:
        await _login(tech, page.url, "tech", PASSWORDS["tech"])
        await _login(viewer, page.url, "viewer", PASSWORDS["viewer"])
        store.passwd("tech", "a-new-password-2")
        store.remove("viewer")
        for client in (tech, viewer):
            async with client.get(f"{page.url}/api/status") as response:
                assert response.status == 401
