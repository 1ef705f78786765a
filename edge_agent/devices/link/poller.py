"""Probes the uplink and the cabinet LAN by TCP connect (ICMP needs privileges the agent does not have).

Publishes the cabinet evidence of `health.attribution`: `uplink_up` (the central broker accepts
connections), `lan_up` (the cabinet switch answers), plus round-trip times and loss. A refused
connection (RST) proves the host answers, so it counts as reachable: a broker host that refuses
means the path is up and the centre's process is down. Only silence (dropped packets, no
RST/ICMP) is a cut. The link device itself is always `ok` when it ran: an uplink cut is the
cabinet's outage, not the probe's. Every connect (and its close) sits in `connect_timeout_s`, and
the configuration guarantees attempts x connect_timeout_s < the poll's timeout, so a silent cut
is reported as evidence (`uplink_up` false) before the poll itself could time out. Host names are
resolved apart from the connects (`resolver.Names`): a resolver that fails or hangs is a
`name_unresolved` fault, never `uplink_up` false.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from dataclasses import dataclass

from edge_agent.devices.base import DeviceContext, Poller
from edge_agent.devices.link.config import LinkConfig, Target
from edge_agent.devices.link.resolver import Names
from edge_agent.readings import Fault, PollResult, Value

_ANSWERED = {errno.ECONNREFUSED, errno.ECONNRESET}
BUDGET_SHARE = 0.9  # of the poll's timeout_s, for the probe: the rest returns the evidence


async def probe(target: Target, timeout_s: float, address: str | None = None) -> float | None:
    """Round trip of one TCP connect in ms, or None when the host did not answer within `timeout_s`.
    `address`: where to connect (the target's resolved name); the target's host by default."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):  # connect and close together: one bounded attempt
            try:
                _reader, writer = await asyncio.open_connection(address or target.host, target.port)
            except OSError as exc:
                return (time.monotonic() - started) * 1000 if exc.errno in _ANSWERED else None
            rtt_ms = (time.monotonic() - started) * 1000
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return rtt_ms
    except TimeoutError:
        return None


@dataclass(frozen=True, slots=True)
class Measured:
    address: str | None  # None: the name has no address (yet): no evidence either way
    rtt_ms: float | None  # best round trip; None: silent
    answered: int


class LinkPoller(Poller[LinkConfig]):
    def __init__(self, config: LinkConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self.names = Names()

    async def poll(self) -> PollResult:
        config = self.config
        named = {"broker": config.broker, "gateway": config.gateway, "switch": config.lan_switch}
        targets = {name: target for name, target in named.items() if target is not None}
        # The probe's own budget, inside the poll's timeout: a slow loop or resolver ends the probe
        # early (the attempts left count as lost), it never makes the poll itself time out.
        deadline = time.monotonic() + config.timeout_s * BUDGET_SHARE
        results = await asyncio.gather(*(self._measure(target, deadline) for target in targets.values()))
        measured = dict(zip(targets, results, strict=True))
        values: dict[str, Value] = {f"{name}_rtt_ms": m.rtt_ms for name, m in measured.items()}
        # Evidence only from connects that were made: a name without an address says nothing.
        if measured["broker"].address is not None:
            values["uplink_up"] = measured["broker"].rtt_ms is not None
        if "switch" in measured and measured["switch"].address is not None:
            values["lan_up"] = measured["switch"].rtt_ms is not None
        tried = [m for m in measured.values() if m.address is not None]
        sent = config.attempts * len(tried)
        values["loss_percent"] = (
            round(100 * (sent - sum(m.answered for m in tried)) / sent, 1) if sent else None
        )
        units = {name: "ms" for name in values if name.endswith("_rtt_ms")} | {"loss_percent": "%"}
        return PollResult(values=values, units=units, faults=self._name_faults(targets, measured))

    async def _measure(self, target: Target, deadline: float) -> Measured:
        """The target's address, best round trip in ms (or None), and the connects answered before
        `deadline`. The lookup (a name) shares the first connect's timeout."""
        limit = min(self.config.connect_timeout_s, deadline - time.monotonic())
        address = await self.names.address(target.host, target.port, max(limit, 0.0))
        if address is None:
            return Measured(None, None, 0)
        rtts = []
        for _ in range(self.config.attempts):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            rtt = await probe(target, min(self.config.connect_timeout_s, left), address)
            if rtt is not None:
                rtts.append(rtt)
        return Measured(address, round(min(rtts), 2) if rtts else None, len(rtts))

    def _name_faults(self, targets: dict[str, Target], measured: dict[str, Measured]) -> list[Fault]:
        """One `name_unresolved` fault for the names the resolver failed lately (cause `cabinet`:
        the cabinet's DNS or its settings, not the carrier and not the probe)."""
        problems = []
        for name, target in targets.items():
            problem = self.names.problem(target.host, self.config.connect_timeout_s)
            address = measured[name].address
            if address is None:
                problems.append(f"{name} {target.host}: no address ({problem or 'resolver gave no answer'})")
            elif problem is not None:
                problems.append(f"{name} {target.host}: {problem}; probing its last address {address}")
        if not problems:
            return []
        return [Fault("name_unresolved", "warning", "; ".join(problems)[:300], cause="cabinet")]
