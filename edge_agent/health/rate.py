"""The online rate as maintenance contracts count it.

    online rate = online seconds / (scheduled seconds - offline seconds with an excluded cause)

Scheduled = every second the ledger covers; online = every second not `offline` (a device in
fault still answers; `unknown` means no evidence of an outage). Contracts exclude the power
supplier's and the carrier's outages (`power_supply`, `network_carrier`); the list is
configurable (`health.excluded_causes`), e.g. to add `maintenance`.

`unknown` seconds (no evidence either way, e.g. the agent was stopped cleanly) are a contract
choice (`health.unknown_time`): `online` (default) counts them as online, `excluded` takes them
out of the scheduled time like an excluded cause.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge_agent.health.ledger import Totals


def online_rate(
    totals: Totals, excluded_causes: Iterable[str], *, unknown_time: str = "online"
) -> float | None:
    """0..1, or None when nothing is scheduled after the exclusions."""
    scheduled = sum(totals.state_s.values())
    if unknown_time == "excluded":
        scheduled -= totals.state_s.get("unknown", 0.0)
    offline = totals.state_s.get("offline", 0.0)
    excluded = sum(totals.offline_cause_s.get(cause, 0.0) for cause in set(excluded_causes))
    denominator = scheduled - excluded
    if denominator <= 0:
        return None
    return max(0.0, min(1.0, (scheduled - offline) / denominator))
