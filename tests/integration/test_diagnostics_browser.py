"""The technician's path through the page in headless Chromium, with screenshots as artifacts.

Needs Debian's `chromium` and the `playwright` package (never `playwright install`), which
`./dev.sh test` installs; skipped without them, except in CI. Screenshots go to `artifacts/screenshots/`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from support.agent import wait_until
from support.browser import playwright_or_skip
from support.diagnostics_agent import PASSWORDS, PageAgent, page_agent
from support.mosquitto import Broker
from support.scripted_device import SCRIPTS, Script, ScriptedConfig

from edge_agent.readings import Fault

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
FAULT_RED = "rgb(196, 0, 0)"
INJECTION = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'

playwright_or_skip()


@pytest_asyncio.fixture(loop_scope="module")
async def page_agent_running(tmp_path: Path, broker: Broker) -> AsyncIterator[PageAgent]:
    devices = [
        ScriptedConfig(device_id="cam-north", name="Camera north <lane 1>", poll_interval_s=0.5),
        ScriptedConfig(device_id="radar", name="Speed radar", poll_interval_s=0.5),
    ]
    scripts = {
        "cam-north": Script(
            diagnostics={"last_soap_fault": "s:Receiver ter:ActionNotSupported", "password": "x"}
        ),
        "radar": Script(
            values={"speed_kmh": 0, "frames_per_s": 9.8},
            units={"speed_kmh": "km/h", "frames_per_s": "1/s"},
            diagnostics={
                "last_serial_frames_hex": ["fa 31 30 30 fb", "fa 30 38 35 fb"],
                "last_frame_text": INJECTION,
            },
        ),
    }
    async with page_agent(tmp_path, broker.port, devices, scripts, relays=["cam-north"]) as running:
        yield running


async def _login(browser: Any, url: str, *, width: int, height: int, mobile: bool = False) -> Any:
    context = await browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=mobile, locale="en-US", accept_downloads=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    await page.goto(f"{url}/")
    assert "/login" in page.url
    await page.fill("input[name=user]", "tech")
    await page.fill("input[name=password]", PASSWORDS["tech"])
    await page.click("button[type=submit]")
    await page.wait_for_selector("#devices .tile")
    return page


async def test_fault_turns_red_then_power_cycle_language_and_report(
    page_agent_running: PageAgent, browser: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = page_agent_running.url
    page = await _login(browser, url, width=1280, height=900)
    tile = page.locator('[data-device-id="cam-north"]')
    await tile.wait_for()
    assert "state-fault" not in (await tile.get_attribute("class") or "")

    SCRIPTS["cam-north"].faults = [Fault("lens_blocked", "critical", "image dark: lens covered or IR failed")]
    scripted = time.monotonic()
    await page.wait_for_selector('[data-device-id="cam-north"].state-fault', timeout=2000)
    print(f"fault shown red {time.monotonic() - scripted:.2f} s after it was scripted")
    colour = await tile.evaluate("node => getComputedStyle(node).backgroundColor")
    assert colour == FAULT_RED
    await page.screenshot(path=str(SHOTS / "overview-desktop.png"), full_page=True)

    await tile.click()
    await page.wait_for_selector("#device-head.state-fault")
    await page.wait_for_selector('.reading[data-name="voltage_v"] .rname:has-text("voltage")')
    await page.screenshot(path=str(SHOTS / "device-desktop.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    await page.click('button[data-action="power_cycle"]')
    result = page.locator("#device-actions output.result.ok")
    await result.wait_for(timeout=10000)
    assert "power_cycle" in SCRIPTS["cam-north"].actions
    await page.wait_for_selector("#device-head.state-ok", timeout=5000)  # the fault cleared after the cycle
    await page.screenshot(path=str(SHOTS / "device-after-power-cycle-desktop.png"), full_page=True)

    await page.click("#lang-switch")
    await page.wait_for_selector('nav a[data-nav="overview"]:has-text("总览")')
    await page.goto(f"{url}/reports")
    async with page.expect_download() as download_info:
        await page.click("#snapshot-csv")
    download = await download_info.value
    content = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    assert content.startswith("device_id,") and "cam-north" in content
    await page.screenshot(path=str(SHOTS / "reports-zh-desktop.png"), full_page=True)
    records = await page_agent_running.agent.audit.recent(1000)
    cycles = [r for r in records if r["module"] == "cmd/power_cycle" and r["source"] == "web"]
    assert cycles and cycles[-1]["operator"] == "tech" and cycles[-1]["target"] == "cam-north"
    await page.goto(f"{url}/logs")
    await page.wait_for_selector("table.log")
    await page.screenshot(path=str(SHOTS / "logs-zh-desktop.png"), full_page=True)
    assert page.errors == []


async def test_phone_screenshots(page_agent_running: PageAgent, browser: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    radar = page_agent_running.agent.live.devices["radar"]
    await wait_until(lambda: "last_frame_text" in radar.diagnostics)  # one good poll first
    SCRIPTS["radar"].unreachable = True  # goes offline after 3 failed polls
    page = await _login(browser, page_agent_running.url, width=390, height=844, mobile=True)
    await page.wait_for_selector('[data-device-id="radar"].state-offline', timeout=5000)
    await page.screenshot(path=str(SHOTS / "overview-phone.png"), full_page=True)
    await page.click('[data-device-id="radar"]')
    await page.wait_for_selector("#device-head")
    await page.click("details summary")  # the expert's raw diagnostics, with a hostile frame in it
    await page.wait_for_selector("text=window.pwned=1")  # shown as text ...
    assert await page.evaluate("document.querySelectorAll('main img, main script').length") == 0
    assert await page.evaluate("window.pwned === undefined")  # ... and never run
    before = await page.locator("#device-head .meta").text_content()
    await page.wait_for_function(
        "text => document.querySelector('#device-head .meta').textContent !== text", arg=before, timeout=5000
    )
    assert await page.locator("details[open]").count() == 1  # live redraws keep the expert's view open
    await page.screenshot(path=str(SHOTS / "device-phone.png"), full_page=True)
    await page.click("#theme")  # night mode, as at the roadside after dark
    await page.screenshot(path=str(SHOTS / "device-phone-night.png"), full_page=True)
    await page.goto(f"{page_agent_running.url}/actions")
    await page.wait_for_selector('button[data-action="self_test"]')
    await page.screenshot(path=str(SHOTS / "actions-phone.png"), full_page=True)
    await page.click("#lang-switch")
    await page.click('nav a[data-nav="overview"]')
    await page.wait_for_selector('[data-device-id="radar"] .badge:has-text("离线")')
    await page.screenshot(path=str(SHOTS / "overview-phone-zh.png"), full_page=True)
    assert page.errors == []
