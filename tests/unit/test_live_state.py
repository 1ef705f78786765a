"""The live state's watchers (the page's alarm log and history, its live stream) see every device
whose snapshot changed, however busy they were: changes are coalesced per device, never dropped."""

from __future__ import annotations

import asyncio

from edge_agent.runtime.live_state import LiveState


async def test_a_busy_watcher_reads_each_changed_device_once_and_misses_none() -> None:
    live = LiveState()
    watcher = live.subscribe()
    first = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)  # the watcher is registered and waiting
    live.changed("meter")
    assert await first == "meter"
    # While the watcher is busy elsewhere, far more changes than any queue bound arrive.
    for n in range(1000):
        live.changed(f"cam-{n % 100}")
    live.changed("meter")  # the last change of all, e.g. a fault cleared
    seen = [await asyncio.wait_for(anext(watcher), 5) for _ in range(101)]  # bounded: a lost change hangs
    assert sorted(seen) == sorted([f"cam-{n}" for n in range(100)] + ["meter"])
    pending = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)
    assert not pending.done()  # nothing read twice
    live.changed("radar")
    assert await pending == "radar"
    await watcher.aclose()


async def test_a_watcher_that_stops_is_forgotten() -> None:
    live = LiveState()
    watcher = live.subscribe()
    reading = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)
    live.changed("meter")
    await reading
    await watcher.aclose()
    live.changed("meter")  # no watcher left to hold it
    assert not live._subscribers  # the registry itself is what is tested
