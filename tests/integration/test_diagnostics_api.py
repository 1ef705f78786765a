"""The page's JSON API and actions against a running agent, and the page over HTTPS."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.agent import running_agent, wait_until
from support.certs import TestPki
from support.diagnostics_agent import PASSWORDS, PageAgent, page_agent
from support.mosquitto import Broker
from support.ports import free_port
from support.scripted_device import SCRIPTS, Script, ScriptedConfig

from edge_agent.config import load_config
from edge_agent.diagnostics.users import UserStore
from edge_agent.readings import Fault

pytestmark = pytest.mark.integration


@pytest.fixture
async def page(tmp_path: Path, broker: Broker) -> AsyncIterator[PageAgent]:
    devices = [
        ScriptedConfig(device_id="pdu", name="PDU relay 1", poll_interval_s=60),
        ScriptedConfig(device_id="fan", name="Cabinet fan", poll_interval_s=60),  # no relay powers it
    ]
    scripts = {"pdu": Script(), "fan": Script()}
    async with page_agent(tmp_path, broker.port, devices, scripts, relays=["pdu"]) as running:
        yield running


async def _session(url: str, user: str = "tech", **kwargs: object) -> tuple[aiohttp.ClientSession, str]:
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), **kwargs)  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    async with client.get(f"{url}/login") as form:
        token = re.search(r'name="csrf" value="([^"]+)"', await form.text())
    assert token is not None
    data = {"user": user, "password": PASSWORDS[user], "csrf": token.group(1)}
    async with client.post(f"{url}/login", data=data) as landing:
        csrf = re.search(r'"csrf": "([^"]+)"', await landing.text())
    assert csrf is not None
    return client, csrf.group(1)


async def test_self_test_polls_every_device_now(page: PageAgent) -> None:
    client, csrf = await _session(page.url)
    async with client:
        SCRIPTS["pdu"].faults = [Fault("breaker_open", "critical", "breaker 3 open")]
        async with client.post(
            f"{page.url}/api/action/self_test", json={}, headers={"X-CSRF-Token": csrf}
        ) as r:
            reply = await r.json()
        # The pdu polls once a minute: only the self-test can have seen the new fault this soon.
        assert reply["status"] == "ok"
        assert reply["data"]["pdu"] == {"state": "fault", "reason": "breaker 3 open"}


async def test_actions_without_a_command_are_refused_not_faked(
    page: PageAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cabinet where the command behind an action is disabled: the page refuses, never pretends.
    monkeypatch.setattr(page.agent.dispatcher, "disabled", frozenset({"maintenance_start"}))
    client, csrf = await _session(page.url)
    async with client:
        headers = {"X-CSRF-Token": csrf}
        async with client.post(f"{page.url}/api/action/maintenance_start", json={}, headers=headers) as r:
            assert r.status == 409
        async with client.post(
            f"{page.url}/api/action/power_cycle", json={"device_id": "nope"}, headers=headers
        ) as r:
            assert r.status == 400
        async with client.post(f"{page.url}/api/action/power_cycle", data=b"{not json", headers=headers) as r:
            assert r.status == 400
        async with client.post(f"{page.url}/api/action/format_disk", json={}, headers=headers) as r:
            assert r.status == 404
        async with client.post(
            f"{page.url}/api/action/power_cycle", json={"device_id": "pdu"}, headers=headers
        ) as r:
            assert (await r.json())["status"] == "ok"
        assert SCRIPTS["pdu"].actions == ["power_cycle"]
        async with client.post(
            f"{page.url}/api/action/power_cycle", json={"device_id": "fan"}, headers=headers
        ) as r:  # no relay powers it: refused before anything runs
            assert r.status == 400 and "relay_not_configured" in (await r.json())["error"]
        assert SCRIPTS["fan"].actions == []


async def test_status_logs_and_downloads(page: PageAgent) -> None:
    client, _ = await _session(page.url)
    async with client:
        async with client.get(f"{page.url}/api/status") as r:
            status = await r.json()
        assert status["agent"]["cabinet_id"] == "K-101"
        assert status["cabinet"]["power"][0]["name"] == "voltage_v"
        async with client.get(f"{page.url}/api/logs") as r:
            logs = await r.json()
        assert any(entry["module"] == "web/login" and entry["result"] == "ok" for entry in logs["audit"])
        async with client.get(f"{page.url}/reports/snapshot.json") as r:
            assert r.headers["Content-Disposition"].startswith("attachment;")
            listed = {d["device_id"] for d in (await r.json(content_type=None))["devices"]}
            assert listed == {"host", "pdu", "fan"}
        async with client.get(f"{page.url}/reports/daily/2026-01-01.csv") as r:
            assert r.status == 404  # no report stored for that day


async def test_live_stream_sends_a_device_change(page: PageAgent) -> None:
    client, _ = await _session(page.url)
    async with client, client.get(f"{page.url}/api/events") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        SCRIPTS["pdu"].faults = [Fault("breaker_open", "critical", "breaker 3 open")]
        await page.agent.runners["pdu"].poll_soon()
        async with asyncio.timeout(5):
            async for line in stream.content:
                if b'"breaker 3 open"' in line:
                    break


async def test_page_over_https_with_secure_cookie(tmp_path: Path, broker: Broker, pki: TestPki) -> None:
    port = free_port()
    config_file = tmp_path / "cabinet.yaml"
    config_file.write_text(
        f"cabinet: {{id: K-7}}\nmqtt: {{host: 127.0.0.1, port: {broker.port}}}\nstorage: {{data_dir: data}}\n"
        f"diagnostics: {{enabled: true, port: {port}, "
        f"tls: {{cert_file: {pki.server_cert}, key_file: {pki.server_key}}}}}\n"
    )
    config = load_config(config_file)
    UserStore(config.diagnostics.users_file).add("tech", PASSWORDS["tech"], "technician")
    async with running_agent(config):
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        url = f"https://localhost:{port}"
        connector = aiohttp.TCPConnector(ssl=context)
        client, _ = await _session(url, connector=connector)
        async with client, client.get(f"{url}/login", allow_redirects=False) as r:
            assert r.status == 302  # logged in already
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as fresh:
            async with fresh.get(f"{url}/login") as form:
                token = re.search(r'name="csrf" value="([^"]+)"', await form.text())
            assert token is not None
            data = {"user": "tech", "password": PASSWORDS["tech"], "csrf": token.group(1)}
            async with fresh.post(f"{url}/login", data=data, allow_redirects=False) as r:
                assert "Secure" in r.headers["Set-Cookie"]


async def test_daily_report_made_on_demand_is_on_the_page(page: PageAgent) -> None:
    request = {"transaction": "r1", "operator": "tech", "args": {}}
    reply = await page.agent.dispatcher.handle("report_daily", json.dumps(request).encode())
    assert reply is not None and reply.status == "ok", reply
    day = (await page.agent.reports.days())[0]
    client, _ = await _session(page.url)
    async with client:
        async with client.get(f"{page.url}/reports/daily/{day}.json") as r:
            assert r.status == 200
            report = await r.json(content_type=None)
        async with client.get(f"{page.url}/reports/daily/{day}.csv") as r:
            assert r.status == 200 and "pdu" in await r.text()
        async with client.get(f"{page.url}/reports/daily/..%2Fsecrets.json") as r:
            assert r.status == 404
    assert report["day"] == day and {d["device_id"] for d in report["devices"]} >= {"host", "pdu"}


async def test_alarms_are_listed_and_only_a_technician_acknowledges_them(page: PageAgent) -> None:
    SCRIPTS["pdu"].faults = [Fault("breaker_open", "critical", "breaker 3 open")]
    tech, csrf = await _session(page.url)
    async with tech:
        async with tech.post(f"{page.url}/api/action/self_test", json={}, headers={"X-CSRF-Token": csrf}):
            pass  # polls the pdu now: its fault opens an alarm row
        alarms_state = page.agent.diagnostics.state.alarms  # type: ignore[union-attr]  # the page serves
        await wait_until(lambda: any(r["code"] == "breaker_open" for r in alarms_state.rows()))
        async with tech.get(f"{page.url}/api/alarms") as r:
            row = next(a for a in (await r.json())["alarms"] if a["code"] == "breaker_open")
        assert row["device_id"] == "pdu" and row["cleared"] is None and row["cause"] == "device"
        viewer, viewer_csrf = await _session(page.url, "viewer")
        async with viewer:
            url = f"{page.url}/api/alarms/{row['id']}/ack"
            async with viewer.post(url, json={}, headers={"X-CSRF-Token": viewer_csrf}) as r:
                assert r.status == 403
        async with tech.post(
            f"{page.url}/api/alarms/{row['id']}/ack", json={}, headers={"X-CSRF-Token": csrf}
        ) as r:
            assert (await r.json())["alarm"]["acked_by"] == "tech"
        async with tech.post(
            f"{page.url}/api/alarms/99999/ack", json={}, headers={"X-CSRF-Token": csrf}
        ) as r:
            assert r.status == 404
    records = await page.agent.audit.recent(100)
    acks = [r for r in records if r["module"] == "web/alarm_ack"]
    assert len(acks) == 1 and acks[0]["operator"] == "tech" and acks[0]["target"] == "pdu"


def _init(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="init">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


async def test_power_cycle_is_offered_only_where_a_relay_powers_the_device(page: PageAgent) -> None:
    client, _ = await _session(page.url)
    async with client:
        async with client.get(f"{page.url}/actions") as r:
            devices = _init(await r.text())["devices"]
        offered = {d["device_id"]: d["actions"] for d in devices}  # type: ignore[attr-defined]  # JSON
        assert offered == {"host": [], "pdu": ["power_cycle"], "fan": []}
        for device_id, expected in (("pdu", ["power_cycle"]), ("fan", [])):
            async with client.get(f"{page.url}/device/{device_id}") as r:
                actions = _init(await r.text())["actions"]
            assert [a["key"] for a in actions] == expected  # type: ignore[attr-defined]  # JSON
