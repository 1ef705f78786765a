"""Probes the uplink and the cabinet LAN by TCP connect (ICMP needs privileges the agent does not have).

Publishes the cabinet evidence of `health.attribution`: `uplink_up` (the central broker accepts
connections), `lan_up` (the cabinet switch answers), plus round-trip times and loss. A refused
connection (RST) proves the host answers, so it counts as reachable: a broker host that refuses
means the path is up and the centre's process is down. Only silence (dropped packets, no
RST/ICMP) is a cut. The link device itself is always `ok` when it ran: an uplink cut is the
cabinet's outage, not the probe's. Every connect (and its close) sits in `connect_timeout_s`, and
the configuration guarantees attempts x connect_timeout_s < the poll's timeout, so a silent cut
is reported as evidence (`uplink_up` false) before the poll itself could time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time

from edge_agent.devices.base import Poller
from edge_agent.devices.link.config import LinkConfig, Target
from edge_agent.readings import PollResult, Value

_ANSWERED = {errno.ECONNREFUSED, errno.ECONNRESET}
BUDGET_SHARE = 0.9  # of the poll's timeout_s, for the probe: the rest returns the evidence


async def probe(target: Target, timeout_s: float) -> float | None:
    """Round trip of one TCP connect in ms, or None when the host did not answer within `timeout_s`."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):  # connect and close together: one bounded attempt
            try:
                _reader, writer = await asyncio.open_connection(target.host, target.port)
            except OSError as exc:
                return (time.monotonic() - started) * 1000 if exc.errno in _ANSWERED else None
            rtt_ms = (time.monotonic() - started) * 1000
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return rtt_ms
    except TimeoutError:
        return None


class LinkPoller(Poller[LinkConfig]):
    async def poll(self) -> PollResult:
        config = self.config
        values: dict[str, Value] = {}
        named = {"broker": config.broker, "gateway": config.gateway, "switch": config.lan_switch}
        targets = {name: target for name, target in named.items() if target is not None}
        # The probe's own budget, inside the poll's timeout: a slow loop or resolver ends the probe
        # early (the attempts left count as lost), it never makes the poll itself time out.
        deadline = time.monotonic() + config.timeout_s * BUDGET_SHARE
        results = await asyncio.gather(*(self._measure(target, deadline) for target in targets.values()))
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

    async def _measure(self, target: Target, deadline: float) -> tuple[float | None, int]:
        """(best round trip in ms or None, number of answered connects before `deadline`)."""
        rtts = []
        for _ in range(self.config.attempts):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            rtt = await probe(target, min(self.config.connect_timeout_s, left))
            if rtt is not None:
                rtts.append(rtt)
        return (round(min(rtts), 2) if rtts else None), len(rtts)
