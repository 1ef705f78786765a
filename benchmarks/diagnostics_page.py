"""Diagnostics page figures: page weight, time to first render on loopback, agent CPU with 5 live pages.

Runs a real agent (`python -m edge_agent run`) with the page enabled and 5 host devices polled every
second (so the live stream has something to say), a real mosquitto, and Debian's Chromium through
playwright. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/diagnostics_page.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.browser import chromium
from support.mosquitto import Broker
from support.ports import free_port

from edge_agent.diagnostics.users import UserStore

PASSWORD = "bench-password-1"


def _config(workdir: Path, broker_port: int, page_port: int) -> Path:
    devices = "".join(
        f"  - {{type: host, device_id: host{i}, name: Host {i}, poll_interval_s: 1, "
        f"telemetry: {{full_refresh_s: 60}}, limits: {{cpu_percent: {{warning: 100.5, critical: 101}}}}}}\n"
        for i in range(5)
    )
    path = workdir / "cabinet.yaml"
    path.write_text(
        f"cabinet: {{id: BENCH-1, site: bench}}\nmqtt: {{host: 127.0.0.1, port: {broker_port}}}\n"
        f"storage: {{data_dir: data}}\nlogging: {{level: ERROR}}\n"
        f"diagnostics: {{enabled: true, port: {page_port}, default_language: en}}\ndevices:\n{devices}"
    )
    UserStore(workdir / "users.json").add("bench", PASSWORD, "technician")
    return path


async def _wait_healthy(url: str, deadline_s: float = 15) -> None:
    async with aiohttp.ClientSession() as client:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                async with client.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("agent page did not come up")


async def _login(context: object, url: str) -> object:
    page = await context.new_page()  # type: ignore[attr-defined]  # playwright objects come in as Any-typed
    await page.goto(f"{url}/login")
    await page.fill("input[name=user]", "bench")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#devices .tile")
    return page


async def _weight_and_render(browser: object, url: str) -> None:
    context = await browser.new_context()  # type: ignore[attr-defined]  # playwright objects come in as Any-typed
    page = await _login(context, url)
    paints: list[float | None] = []
    loads: list[float | None] = []
    for _ in range(10):
        await page.goto(f"{url}/", wait_until="load")
        await page.wait_for_selector("#devices .tile")
        timing = await page.evaluate(
            "() => ({fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,"
            " load: performance.getEntriesByType('navigation')[0].loadEventEnd})"
        )
        paints.append(timing["fcp"])
        loads.append(timing["load"])
    async with aiohttp.ClientSession(cookies=await _cookies(context)) as client:
        total = 0
        for path in ("/", "/static/app.js", "/static/app.css"):
            async with client.get(url + path) as response:
                size = len(await response.read())
                total += size
                print(f"  {path:<18} {size / 1024:6.1f} KiB (uncompressed)")
    print(f"page weight, overview first load: {total / 1024:.1f} KiB (budget 200 KiB)")
    print(f"first contentful paint: {_median_max(paints)} (10 loads)")
    print(f"load event end:         {_median_max(loads)}")
    await context.close()


def _median_max(samples: list[float | None]) -> str:
    """Headless browsers may report no paint entry at all: say so instead of failing the run."""
    measured = [s for s in samples if s is not None]
    if not measured:
        return "not measured (the browser reported no timing)"
    absent = len(samples) - len(measured)
    missing = f", {absent} loads without a figure" if absent else ""
    return f"median {statistics.median(measured):.0f} ms, max {max(measured):.0f} ms{missing}"


async def _cookies(context: object) -> dict[str, str]:
    return {c["name"]: c["value"] for c in await context.cookies()}  # type: ignore[attr-defined]  # playwright objects come in as Any-typed


def _cpu_percent(process: psutil.Process, seconds: float) -> float:
    start = process.cpu_times()
    time.sleep(seconds)
    end = process.cpu_times()
    return 100 * ((end.user - start.user) + (end.system - start.system)) / seconds


async def _cpu_with_pages(browser: object, url: str, process: psutil.Process, seconds: float) -> None:
    idle = await asyncio.to_thread(_cpu_percent, process, seconds)
    print(f"agent CPU, no page open:   {idle:5.1f} % of one core ({seconds:.0f} s, 5 host devices at 1 s)")
    context = await browser.new_context()  # type: ignore[attr-defined]  # playwright objects come in as Any-typed
    pages = [await _login(context, url)]
    for _ in range(4):
        page = await context.new_page()
        await page.goto(f"{url}/")
        await page.wait_for_selector("#devices .tile")
        pages.append(page)
    busy = await asyncio.to_thread(_cpu_percent, process, seconds)
    print(f"agent CPU, 5 live pages:   {busy:5.1f} % of one core")
    print(f"agent RSS with the page:   {process.memory_info().rss / 2**20:.1f} MiB")
    for page in pages:
        await page.close()  # type: ignore[attr-defined]  # playwright objects come in as Any-typed
    await context.close()


async def main(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, Broker(workdir=Path(tmp) / "broker") as broker:
        page_port = free_port()
        config = _config(Path(tmp), broker.port, page_port)
        agent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge_agent", "run", "-c", str(config)
        )
        url = f"http://127.0.0.1:{page_port}"
        try:
            await _wait_healthy(url)
            process = psutil.Process(agent.pid)
            async with chromium() as browser:
                await _weight_and_render(browser, url)
                await _cpu_with_pages(browser, url, process, seconds)
        finally:
            agent.terminate()
            await asyncio.wait_for(agent.wait(), 15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU sampling window")
    asyncio.run(main(parser.parse_args().seconds))
