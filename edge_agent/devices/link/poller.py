"""Probes the uplink and the cabinet LAN by TCP connect (ICMP needs privileges the agent does not have).

Publishes the cabinet evidence of `health.attribution`: `uplink_up` (the central broker accepts
connections), `lan_up` (the cabinet switch answers), plus round-trip times and loss. A refused
connection (RST) proves the host answers, so it counts as reachable. The link device itself is
always `ok` when it ran: an uplink cut is the cabinet's outage, not the probe's.
"""

from __future__ import annotations

import asyncio
import errno
import time

from edge_agent.devices.base import Poller
from edge_agent.devices.link.config import LinkConfig, Target
from edge_agent.readings import PollResult, Value

_ANSWERED = {errno.ECONNREFUSED, errno.ECONNRESET}


async def probe(target: Target, timeout_s: float) -> float | None:
    """Round trip of one TCP connect in ms, or None when the host did not answer."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(target.host, target.port)
    except OSError as exc:
        if exc.errno in _ANSWERED:
            return (time.monotonic() - started) * 1000
        return None
    except TimeoutError:
        return None
    writer.close()
    try:
        async with asyncio.timeout(timeout_s):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
    return (time.monotonic() - started) * 1000


class LinkPoller(Poller[LinkConfig]):
    async def poll(self) -> PollResult:
        config = self.config
        values: dict[str, Value] = {}
        named = {"broker": config.broker, "gateway": config.gateway, "switch": config.lan_switch}
        targets = {name: target for name, target in named.items() if target is not None}
        results = await asyncio.gather(*(self._measure(target) for target in targets.values()))
        sent = answered = 0
        for name, (rtt_ms, ok) in zip(targets, results, strict=True):
            values[f"{name}_rtt_ms"] = rtt_ms
            sent, answered = sent + config.attempts, answered + ok
        values["uplink_up"] = values["broker_rtt_ms"] is not None
        if config.lan_switch is not None:
            values["lan_up"] = values["switch_rtt_ms"] is not None
        values["loss_percent"] = round(100 * (sent - answered) / sent, 1)
        units = {name: "ms" for name in values if name.endswith("_rtt_ms")} | {"loss_percent": "%"}
        return PollResult(values=values, units=units)

    async def _measure(self, target: Target) -> tuple[float | None, int]:
        """(best round trip in ms or None, number of answered connects)."""
        rtts = []
        for _ in range(self.config.attempts):
            rtt = await probe(target, self.config.connect_timeout_s)
            if rtt is not None:
                rtts.append(rtt)
        return (round(min(rtts), 2) if rtts else None), len(rtts)
