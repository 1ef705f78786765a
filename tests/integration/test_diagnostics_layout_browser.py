"""The page as the technician uses it, in headless Chromium: on a phone (390x844) and a laptop
(1366x768), in Chinese and English. One agent, one browser and one logged-in page per
(size, language) for the whole module; screenshots go to `artifacts/screenshots/layout/`.

The cabinet: the controller (host), a real camera on the ONVIF simulator without its SD card
(`sd_missing`), the link probe against the test broker, and a scripted power meter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from camera_sim import PASSWORD, camera_fields, start_camera
from pydantic import SecretStr
from support.agent import wait_until
from support.browser import playwright_or_skip
from support.diagnostics_agent import PASSWORDS, PageAgent, page_agent
from support.mosquitto import Broker
from support.scripted_device import SCRIPTS, Script, ScriptedConfig

from edge_agent.devices.link.config import LinkConfig
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
from edge_agent.readings import Fault

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "layout"
SIZES = {"phone": (390, 844), "laptop": (1366, 768)}
LANGS = ("zh-CN", "en")
# Each page, and what shows it has drawn (from its embedded data or its first fetch).
PAGES = {
    "/": "#devices .tile",
    "/device/cam-1": "#device-head h1",
    "/device/host": "#device-head h1",
    "/alarms": "#alarms h2",
    "/actions": "#device-action-buttons",
    "/reports": "table.status",
    "/logs": "#logs-agent h2",
}

playwright_or_skip()

# Elements sticking out of the viewport (or the page scrolling sideways), as "tag#id.class: right".
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  const page = document.documentElement.scrollWidth;
  if (page > width) wide.push("page scrolls sideways: " + page);
  for (const node of document.querySelectorAll("body *")) {
    const box = node.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    if (box.right <= width + 1 && box.left >= -1) continue;
    wide.push(`${node.tagName}#${node.id}.${node.className}: ${box.left | 0}..${box.right | 0}`);
  }
  return wide;
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cabinet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PageAgent]:
    workdir = tmp_path_factory.mktemp("layout")
    broker = Broker(workdir=workdir / "broker").start()
    try:
        async with AsyncExitStack() as stack:
            camera = await start_camera(stack, "missing_card")
            devices = [
                OnvifCameraConfig.model_validate(
                    camera_fields(
                        camera, "cam-1", name="Camera lane 1", password=SecretStr(PASSWORD), poll_interval_s=2
                    )
                ),
                LinkConfig.model_validate(
                    {
                        "type": "link",
                        "device_id": "uplink",
                        "name": "Uplink",
                        "poll_interval_s": 1,
                        "broker": {"host": "127.0.0.1", "port": broker.port},
                    }
                ),
                ScriptedConfig(device_id="meter", name="Power meter", poll_interval_s=0.5),
            ]
            scripts = {
                "meter": Script(values={"voltage_v": 229.5, "frequency_hz": 50.0}, units={"voltage_v": "V"})
            }
            async with page_agent(workdir, broker.port, devices, scripts, relays=["cam-1"]) as running:
                yield running
    finally:
        broker.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pages(cabinet: PageAgent, browser: Any) -> AsyncIterator[dict[tuple[str, str], Any]]:
    """One logged-in technician page per (size, language), reused by every test."""
    opened = {}
    for size, (width, height) in SIZES.items():
        for lang in LANGS:
            context = await browser.new_context(
                viewport={"width": width, "height": height}, is_mobile=size == "phone", locale=lang
            )
            await context.add_cookies([{"name": "edge_lang", "value": lang, "url": cabinet.url}])
            page = await context.new_page()
            page.errors = []
            page.on("pageerror", lambda error, page=page: page.errors.append(str(error)))
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.goto(f"{cabinet.url}/login")
            assert await page.evaluate(OVERFLOW) == [], f"the login page at {size} in {lang}"
            await page.fill("input[name=user]", "tech")
            await page.fill("input[name=password]", PASSWORDS["tech"])
            await page.click("button[type=submit]")
            await page.wait_for_selector("#devices .tile")
            opened[(size, lang)] = page
    yield opened
    for page in opened.values():
        assert page.errors == []
        await page.context.close()


async def _camera_in_fault(cabinet: PageAgent) -> None:
    devices = cabinet.agent.live.devices
    await wait_until(
        lambda: "sd_missing" in devices["cam-1"].health.faults and "uplink_up" in devices["uplink"].values,
        timeout=20,
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
async def test_no_page_is_wider_than_the_screen(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any], size: str, lang: str
) -> None:
    await _camera_in_fault(cabinet)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = pages[(size, lang)]
    for path, drawn in PAGES.items():
        await page.goto(cabinet.url + path)
        await page.wait_for_selector(drawn)
        name = path.strip("/").replace("/", "-") or "overview"
        await page.screenshot(path=str(SHOTS / f"{name}-{size}-{lang}.png"), full_page=True)
        wide = await page.evaluate(OVERFLOW)
        assert wide == [], f"{path} at {size} in {lang}: {wide}"
    if size == "phone":
        header = await page.locator("header.bar").bounding_box()
        assert header["height"] <= 110, "the header must leave the phone's screen to the page"


async def test_uplink_tile_shows_the_probes_values(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any]
) -> None:
    await _camera_in_fault(cabinet)
    for lang, up in (("zh-CN", "中心链路通"), ("en", "uplink up")):
        page = pages[("phone", lang)]
        await page.goto(cabinet.url + "/")
        tile = page.locator('[data-group="uplink"]')
        await tile.locator(f'dt:has-text("{up}")').wait_for()
        assert await tile.locator('dt[title="broker_rtt_ms"] + dd:has-text("ms")').count() == 1
        assert await tile.locator(".na").count() == 0


async def test_a_fault_shows_the_catalogue_text_in_chinese(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any]
) -> None:
    await _camera_in_fault(cabinet)
    page = pages[("phone", "zh-CN")]
    await page.goto(cabinet.url + "/")
    await page.locator('[data-device-id="cam-1"] .reason:has-text("未检测到存储卡")').wait_for()
    await page.goto(cabinet.url + "/device/cam-1")
    fault = page.locator('li.fault[data-code="sd_missing"]')
    await fault.wait_for()
    text = await fault.inner_text()
    assert "未检测到存储卡" in text and "插入或重新插紧 SD 卡" in text
    visible = await page.locator("main").inner_text()  # the raw English message stays in the closed details
    assert "no SD card" not in visible and "Error" not in visible
    await page.screenshot(path=str(SHOTS / "fault-catalogue-phone-zh-CN.png"), full_page=True)
    # A refused action says why in Chinese too, not in the command's English message.
    await page.click('#device-actions button[data-action="power_cycle"]')
    refused = page.locator('#device-actions [data-row="power_cycle"] output.result.error')
    await refused.wait_for()
    text = await refused.inner_text()
    assert "失败" in text and not any("a" <= ch <= "z" for ch in text.lower()), text


async def test_camera_actions_are_offered_for_cameras_only(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any]
) -> None:
    page = pages[("laptop", "en")]
    await page.goto(cabinet.url + "/device/host")
    await page.locator("#device-actions h2").wait_for()
    assert await page.locator("#device-actions button[data-action]").count() == 0
    await page.goto(cabinet.url + "/device/cam-1")
    assert await page.locator('#device-actions button[data-action="camera_reboot"]').count() == 1
    await page.goto(cabinet.url + "/actions")
    await page.select_option("#action-device", "host")
    assert await page.locator("#device-action-buttons button[data-action]").count() == 0
    await page.select_option("#action-device", "cam-1")
    offered = await page.locator("#device-action-buttons button[data-action]").evaluate_all(
        "buttons => buttons.map(b => b.dataset.action)"
    )
    assert offered == ["power_cycle", "camera_reboot", "camera_sync_time"]  # a relay powers cam-1
    questions: list[str] = []
    page.once("dialog", lambda dialog: questions.append(dialog.message))
    await page.click('#device-action-buttons button[data-action="camera_sync_time"]')
    await page.locator('[data-row="camera_sync_time"] output.result:not(.running)').wait_for()
    assert questions and "Camera lane 1" in questions[0]  # the confirmation names the device
    await page.select_option("#action-device", "meter")  # no relay powers it: nothing to cycle
    assert await page.locator("#device-action-buttons button[data-action]").count() == 0


async def test_maintenance_needs_a_reason_shows_everywhere_and_ends_on_the_page(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any]
) -> None:
    page = pages[("phone", "zh-CN")]
    await page.goto(cabinet.url + "/actions")
    await page.click('button[data-action="maintenance_start"]')
    await page.locator("#mw-missing:visible").wait_for()  # no reason: nothing started
    assert cabinet.agent.health.maintenance_now() == []
    await page.fill("#mw-reason", "更换风扇")
    await page.click('button[data-action="maintenance_start"]')
    await page.locator("#maint:visible").wait_for()
    assert "更换风扇" in await page.locator("#maint").inner_text()
    await page.goto(cabinet.url + "/logs")  # the banner is on every page
    await page.locator("#maint:visible").wait_for()
    await page.screenshot(path=str(SHOTS / "maintenance-banner-phone-zh-CN.png"), full_page=True)
    await page.click("#maint-end")
    await page.locator("#maint").wait_for(state="hidden")
    assert cabinet.agent.health.maintenance_now() == []
    # A window running out: the banner counts down and goes by itself.
    await cabinet.agent.health.start_maintenance(None, 4, "tech", "短暂维护")
    await page.goto(cabinet.url + "/")
    await page.locator("#maint-left:has-text('s')").wait_for()
    await page.locator("#maint").wait_for(state="hidden", timeout=8000)


async def test_alarm_history_keeps_a_cleared_fault_and_takes_an_acknowledgement(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any]
) -> None:
    meter = cabinet.agent.live.devices["meter"]
    SCRIPTS["meter"].faults = [Fault("mains_lost", "warning", "mains lost at the cabinet (0 V)")]
    await wait_until(lambda: "mains_lost" in meter.health.faults)
    page_state = cabinet.agent.diagnostics.state  # type: ignore[union-attr]  # the page is serving
    # The log watches the live state: the fault must have been seen before it goes.
    await wait_until(lambda: any(row["code"] == "mains_lost" for row in page_state.alarms.rows()))
    SCRIPTS["meter"].faults = []
    await wait_until(lambda: not meter.health.faults)
    # ... and its end seen too: the live state notifies its watchers after the device's state changed.
    await wait_until(
        lambda: all(row["cleared"] for row in page_state.alarms.rows() if row["code"] == "mains_lost")
    )
    page = pages[("phone", "zh-CN")]
    await page.goto(cabinet.url + "/alarms")
    row = page.locator('tr:has-text("市电停电")')
    await row.wait_for()
    assert "cleared" in (await row.get_attribute("class") or "")
    await page.check("#alarm-active")
    await row.wait_for(state="detached")
    await page.uncheck("#alarm-active")
    await row.locator("button.ack").click()
    await row.locator(':text("tech")').wait_for()
    await page.screenshot(path=str(SHOTS / "alarms-phone-zh-CN.png"), full_page=True)
    records = await cabinet.agent.audit.recent(100)
    assert any(r["module"] == "web/alarm_ack" and r["target"] == "meter" for r in records)


async def test_self_test_answers_with_a_row_per_device(
    cabinet: PageAgent, pages: dict[tuple[str, str], Any]
) -> None:
    page = pages[("laptop", "zh-CN")]
    await page.goto(cabinet.url + "/actions")
    await page.click('button[data-action="self_test"]')
    table = page.locator("table.selftest")
    await table.wait_for(timeout=30000)
    assert await table.locator("tbody tr").count() == len(cabinet.agent.live.devices)
    assert await table.locator('tr:has-text("未检测到存储卡")').count() == 1
    await page.screenshot(path=str(SHOTS / "self-test-laptop-zh-CN.png"), full_page=True)
