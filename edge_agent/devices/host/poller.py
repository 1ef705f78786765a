"""Reads host health with psutil. psutil calls may touch /proc and disks, so they run off the loop."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psutil

from edge_agent.devices.base import DeviceContext, Poller
from edge_agent.devices.host.config import HostConfig, Limit
from edge_agent.readings import Fault, PollResult, Severity, Value

UNITS = {
    "cpu_percent": "%",
    "memory_percent": "%",
    "memory_available_bytes": "B",
    "disk_percent": "%",
    "disk_free_bytes": "B",
    "cpu_temperature_c": "°C",
    "uptime_s": "s",
    "agent_rss_bytes": "B",
    "load_1m": "",
}


class HostPoller(Poller[HostConfig]):
    def __init__(self, config: HostConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._process = psutil.Process(os.getpid())
        psutil.cpu_percent(interval=None)  # primes the counter: the first real poll measures since now

    async def poll(self) -> PollResult:
        values = await asyncio.to_thread(self._read)
        values.update(self.context.agent_stats())
        return PollResult(values=values, units=UNITS, faults=self._faults(values))

    def _read(self) -> dict[str, Value]:
        disk = psutil.disk_usage(str(self.config.disk_path or self.context.data_dir))
        memory = psutil.virtual_memory()
        values: dict[str, Value] = {
            "cpu_percent": psutil.cpu_percent(interval=None),
            "memory_percent": memory.percent,
            "memory_available_bytes": memory.available,
            "disk_percent": disk.percent,
            "disk_free_bytes": disk.free,
            "uptime_s": int(time.time() - psutil.boot_time()),
            "agent_rss_bytes": self._process.memory_info().rss,
            "load_1m": round(os.getloadavg()[0], 2),
        }
        temperature = _hottest_cpu_sensor()
        if temperature is not None:
            values["cpu_temperature_c"] = temperature
        return values

    def _faults(self, values: dict[str, Value]) -> list[Fault]:
        limits = self.config.limits
        rss = values["agent_rss_bytes"]
        checks: list[tuple[str, Any, Limit, str]] = [
            ("cpu_high", values["cpu_percent"], limits.cpu_percent, "CPU at {:.0f} %"),
            ("memory_high", values["memory_percent"], limits.memory_percent, "memory at {:.0f} %"),
            ("disk_full", values["disk_percent"], limits.disk_percent, "data disk at {:.0f} %"),
            ("temperature_high", values.get("cpu_temperature_c"), limits.temperature_c, "CPU at {:.0f} °C"),
            (
                "agent_memory_high",
                rss / 2**20 if isinstance(rss, int) else None,
                limits.agent_rss_mb,
                "agent uses {:.0f} MB",
            ),
        ]
        faults = []
        if values.get("storage_full") is True:  # the agent's outbox, not psutil: the disk said no
            held = values.get("outbox_held")
            message = f"the data disk refuses writes; {held} message(s) held in memory"
            faults.append(Fault(code="storage_full", severity="critical", message=message))
        for code, value, limit, text in checks:
            if not isinstance(value, int | float) or value < limit.warning:
                continue
            severity: Severity = "critical" if value >= limit.critical else "warning"
            faults.append(Fault(code=code, severity=severity, message=text.format(value)))
        return faults


def _hottest_cpu_sensor() -> float | None:
    # Not every OS (or container) exposes sensors; absence is not a fault.
    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return None
    try:
        sensors = read()
    except OSError:
        return None
    readings = [entry.current for entries in sensors.values() for entry in entries if entry.current]
    return round(max(readings), 1) if readings else None
