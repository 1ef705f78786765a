"""What happened while the agent was not running: the dead window found at start-up.

The agent writes a durable liveness mark every `heartbeat_interval_s` (default 4 s; and the
ledger notes every transition), and marks it clean on a clean stop. At the next start the window
[last mark, boot] is booked for every ledger row:
  - the meter showed mains loss before the window (`mains_present` false persisted) -> offline, power_supply
  - unclean stop, host rebooted or unknown (no other explanation)                   -> offline, power_supply
  - unclean stop, host did not reboot (the agent process died)                       -> unknown
  - clean stop (operator, upgrade) without mains loss                                -> unknown
`unknown` is a monitoring gap, not an outage. The window may be up to one mark interval (plus
one write) too long: it starts at the last mark, at most that long before the real stop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge_agent.health.attribution import CABINET
from edge_agent.health.ledger import Ledger


@dataclass(frozen=True, slots=True)
class DeadWindow:
    start: float
    end: float
    state: str
    cause: str | None
    reason: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


def recover(
    ledger: Ledger,
    *,
    boot_at: float,
    device_ids: Iterable[str],
    host_rebooted: bool | None = None,
    process_started: float | None = None,
) -> DeadWindow | None:
    """Close the intervals left open by the last run and book the dead window; None on a first start.

    The window ends when this agent process started (`process_started`, the OS's record), not
    when its start-up reached the ledger: the seconds spent starting (imports, config) are a
    monitoring gap of their own, booked `unknown`, whatever stopped the last run.
    """
    heartbeat = ledger.last_heartbeat()
    if heartbeat is None:
        return None
    start = min(heartbeat.at, boot_at)
    end = boot_at
    if process_started is not None and start < process_started < boot_at:
        end = process_started
    rows = {CABINET, *device_ids, *ledger.open_intervals()}
    ledger.close_all(start)
    mains_lost = ledger.read_meta("mains_present") is False
    window = _judge(start, end, heartbeat.clean, mains_lost, host_rebooted)
    for device_id in sorted(rows):
        ledger.book(device_id, window.state, window.cause, start, end)
        if end < boot_at:  # the agent was starting: as the agent will see it at its start
            cabinet_dark = device_id == CABINET and mains_lost
            state, cause = ("offline", "power_supply") if cabinet_dark else ("unknown", None)
            ledger.book(device_id, state, cause, end, boot_at)
    return window


def _judge(start: float, end: float, clean: bool, mains_lost: bool, host_rebooted: bool | None) -> DeadWindow:
    if mains_lost:
        return DeadWindow(start, end, "offline", "power_supply", "mains lost before the agent stopped")
    if clean:
        return DeadWindow(start, end, "unknown", None, "agent stopped cleanly")
    if host_rebooted is False:
        return DeadWindow(start, end, "unknown", None, "agent process died, host kept running")
    return DeadWindow(start, end, "offline", "power_supply", "unclean stop: cabinet lost power")
