"""The duty room's page in headless Chromium: log in, see the fleet, and a cabinet going down (its
last will reaching the collector through the broker) turns its row red within 5 s."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from support.browser import chromium, playwright_or_skip
from support.fleet_messages import state, status
from support.ports import free_port

from edge_agent.diagnostics.users import UserStore
from edge_agent.fleet.collector import Collector
from edge_agent.fleet.contracts import example_contracts
from edge_agent.fleet.store import Store
from edge_agent.fleet.web import make_app
from edge_agent.mqtt.config import MqttConfig

pytestmark = pytest.mark.integration

RED = "rgb(244, 180, 180)"
INJECTION = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
playwright_or_skip()


@pytest.fixture
def collector(broker: Any, tmp_path: Path) -> Iterator[Path]:
    database = tmp_path / "fleet.sqlite"
    mqtt = MqttConfig.model_validate({"host": "127.0.0.1", "port": broker.port})
    running = Collector(Store.open(database), mqtt)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,), name="collector")
    thread.start()
    assert running.connected.wait(10)
    yield database
    stop.set()
    thread.join(20)
    running.store.close()


@pytest.fixture
async def server(collector: Path, tmp_path: Path) -> AsyncIterator[str]:
    users = UserStore(tmp_path / "users.json")
    users.add("duty", "correct horse battery", "viewer")
    store = Store.open(collector)
    runner = web.AppRunner(make_app(store, users, example_contracts()))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
    store.close()


async def test_a_cabinet_going_down_turns_its_row_red_within_5_s(
    broker, subscriber_factory, server: str
) -> None:
    cabinets = subscriber_factory(broker.host, broker.port, [])
    cabinets.wait_connected()
    for message in (status("cab-a"), state("cab-a", 1, "cam-1", "ok"), status("cab-b", site=INJECTION)):
        await cabinets.apublish(message.topic, message.payload, retain=True)
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{server}/?lang=zh-CN")
        await page.fill("input[name=user]", "duty")
        await page.fill("input[name=password]", "correct horse battery")
        await page.click("button")
        row = page.locator('tr[data-cabinet="cab-a"]')
        await row.wait_for(timeout=10_000)
        assert await row.get_attribute("class") == "state-ok"
        assert "实时总览" in await page.content()
        went_down = time.monotonic()
        will = status("cab-a", "offline")
        await cabinets.apublish(will.topic, will.payload, retain=True)
        red = page.locator('tr[data-cabinet="cab-a"].state-offline')
        await red.wait_for(timeout=5_000)
        within_s = time.monotonic() - went_down
        colour = await red.locator("td").first.evaluate("cell => getComputedStyle(cell).backgroundColor")
        assert colour == RED
        first = await page.locator("#fleet tbody tr").first.get_attribute("data-cabinet")
        assert first == "cab-a"  # down first
        assert await page.evaluate("window.pwned === undefined")  # a hostile site name stays text
        await page.goto(f"{server}/month?month=2026-11")
        assert "Video" in await page.content() or "视频" in await page.content()
    print(f"row red {within_s:.2f} s after the will was published")
