"""Episodes: what counts as one occurrence for the repeat-fault rule.

An episode is one fault (by code) or one outage (code `offline`) of a device, from its raise to
its repair. It is stored in the ledger while open, so neither a check that re-runs and finds the
same fault again, nor an agent restart (whose first poll raises every active fault anew) starts
a second episode. After a restart, a fault the device no longer reports at its first good poll
was repaired meanwhile: its episode ends there.

Only the device's own failures count: a fault whose cause is not `device` (a UPS's `mains_lost`
is the power supplier's) is logged but never counted, and an outage counts only if it was
attributed to `device` at some moment and never to `power_supply`, `network_carrier` or
`cabinet` (a camera that timed out just before the meter showed the mains loss is not the
camera's failure; a camera still down after a maintenance window ended is). An outage is judged
when it is over, when every piece of evidence has arrived; a fault is counted at its raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.health.attribution import CABINET, Change
from edge_agent.health.ledger import Ledger
from edge_agent.health.repeat import RepeatFaultRule

OFFLINE = "offline"
NOT_THE_DEVICES = frozenset({"power_supply", "network_carrier", "cabinet"})


@dataclass(frozen=True, slots=True)
class ReplaceRecommended:
    device_id: str
    code: str
    recurrences: int


class Episodes:
    def __init__(self, ledger: Ledger, rule: RepeatFaultRule) -> None:
        self.ledger = ledger
        self.rule = rule
        self.open = ledger.open_episodes()
        self._checked: set[str] = set()  # devices whose open faults were compared with a good poll

    # --- faults ---------------------------------------------------------------------------------

    def raised(self, device_id: str, code: str, cause: str, at: float) -> ReplaceRecommended | None:
        if (device_id, code) in self.open:
            return None  # the same unrepaired fault, seen again (re-run check, restart)
        counts = cause == "device"
        self.open[(device_id, code)] = (at, frozenset({cause}))
        self.ledger.save_episode(device_id, code, at, frozenset({cause}))
        self.ledger.log_fault(device_id, code, "raised", at, counts=counts)
        return self._count(device_id, code, at) if counts else None

    def cleared(self, device_id: str, code: str, at: float) -> None:
        episode = self.open.pop((device_id, code), None)
        if episode is None:
            return
        counts = "device" in episode[1]
        self.ledger.drop_episode(device_id, code)
        self.ledger.log_fault(device_id, code, "cleared", at, counts=counts)
        if counts:
            self.rule.cleared(device_id, code, at)

    def checked(self, device_id: str) -> bool:
        return device_id in self._checked

    def good_poll(self, device_id: str, active: set[str], at: float) -> None:
        """The first good poll of this run ends the fault episodes the device no longer reports."""
        if device_id in self._checked:
            return
        self._checked.add(device_id)
        for open_device, code in list(self.open):
            if open_device == device_id and code != OFFLINE and code not in active:
                self.cleared(device_id, code, at)

    # --- outages --------------------------------------------------------------------------------

    def outage(self, change: Change) -> ReplaceRecommended | None:
        """Follow a device's effective state; returns a recommendation when an outage ends."""
        device_id, current = change.device_id, change.current
        if device_id == CABINET:
            return None
        key = (device_id, OFFLINE)
        episode = self.open.get(key)
        if current.state == OFFLINE:
            since, causes = episode if episode is not None else (change.at, frozenset())
            if episode is None or (current.cause or "unknown") not in causes:
                self.open[key] = (since, causes | {current.cause or "unknown"})
                self.ledger.save_episode(device_id, OFFLINE, since, self.open[key][1])
            return None
        if episode is None or current.state == "unknown":
            return None  # `unknown` (a restart) neither starts nor ends an outage
        return self._outage_over(device_id, episode, change.at)

    def add_cause(self, cause: str) -> None:
        """The agent was down (`cause`) while these outages were open: part of them is that cause."""
        for (device_id, code), (since, causes) in list(self.open.items()):
            if code == OFFLINE and cause not in causes:
                self.open[(device_id, code)] = (since, causes | {cause})
                self.ledger.save_episode(device_id, code, since, causes | {cause})

    def _outage_over(
        self, device_id: str, episode: tuple[float, frozenset[str]], at: float
    ) -> ReplaceRecommended | None:
        since, causes = episode
        del self.open[(device_id, OFFLINE)]
        self.ledger.drop_episode(device_id, OFFLINE)
        counts = "device" in causes and not causes & NOT_THE_DEVICES
        self.ledger.log_fault(device_id, OFFLINE, "raised", since, counts=counts)
        self.ledger.log_fault(device_id, OFFLINE, "cleared", at, counts=counts)
        if not counts:
            return None
        replace = self._count(device_id, OFFLINE, since)
        self.rule.cleared(device_id, OFFLINE, at)
        return replace

    def _count(self, device_id: str, code: str, at: float) -> ReplaceRecommended | None:
        count = self.rule.raised(device_id, code, at)
        return None if count is None else ReplaceRecommended(device_id, code, count)
