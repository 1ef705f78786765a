"""`memory_soak.py --trace`: the soak's cabinet in this process, with tracemalloc snapshot differences
by line between the end of the warm-up and the end of the run (and across the command flood), and
the growth of objects by type."""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path

from common import broker, free_port, write_config
from soak_cabinet import cabinet, flood, simulators


async def trace(args: argparse.Namespace) -> None:
    """The same cabinet in this process, with tracemalloc snapshot differences."""
    from edge_agent.config import load_config
    from edge_agent.runtime.agent import Agent

    tracemalloc.start(args.frames)
    with tempfile.TemporaryDirectory() as tmp, simulators(Path(tmp)) as (modbus_port, camera_port):
        port = free_port()
        with broker(port):
            config = load_config(
                write_config(Path(tmp), port, cabinet(port, modbus_port, camera_port, args.speed))
            )
            agent, stop = Agent(config), asyncio.Event()
            task = asyncio.create_task(agent.run(stop))
            await asyncio.sleep(args.warmup)
            first, first_types = _snapshot(), _types()
            await asyncio.sleep(args.seconds - args.warmup)
            second = _snapshot()
            grown = (_types() - first_types).most_common(args.top)
            print("objects by type, growth:", ", ".join(f"{n} +{c}" for n, c in grown), flush=True)
            states = {device_id: s.health.state for device_id, s in agent.core.live.devices.items()}
            print(f"device states: {states}", flush=True)
            _print_top("steady run", second.compare_to(first, "traceback"), args.top)
            _print_files(second.compare_to(first, "filename"), args.top)
            await asyncio.to_thread(flood, port, args.flood)
            await asyncio.sleep(args.settle)
            _print_top(f"{args.flood} commands", _snapshot().compare_to(second, "traceback"), args.top)
            stop.set()
            await task


def _snapshot() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def _types() -> Counter[str]:
    gc.collect()
    return Counter(type(thing).__qualname__ for thing in gc.get_objects())


def _print_files(differences: list[tracemalloc.StatisticDiff], top: int) -> None:
    """Growth by the file of the allocating line: many small sites add up where no one stands out."""
    total = sum(d.size_diff for d in differences)
    print(f"--- by file: {total / 1024:+.1f} KiB in all", flush=True)
    for difference in differences[:top]:
        where = difference.traceback[0].filename if difference.traceback else "?"
        print(f"{difference.size_diff / 1024:+9.1f} KiB {difference.count_diff:+7d} blocks  {where}")


def _print_top(title: str, differences: list[tracemalloc.StatisticDiff], top: int) -> None:
    total = sum(d.size_diff for d in differences)
    print(f"--- {title}: {total / 1024:+.1f} KiB in all; largest growth", flush=True)
    for difference in differences[:top]:
        print(f"{difference.size_diff / 1024:+9.1f} KiB {difference.count_diff:+7d} blocks")
        for line in difference.traceback.format()[-6:]:
            print(f"      {line}")
