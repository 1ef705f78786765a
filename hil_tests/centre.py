"""What the centre sees of one cabinet, and the run's summary table.

Every scenario asserts on messages a central subscriber received, and records one row: how long
after the fault the centre knew, the cause it was told, and how many sequenced messages never
arrived (a gap in `seq`; QoS 1 repeats carry the same `id` and are not counted twice).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from support.subscriber import Received, Subscriber

CONTRACT_LIMIT_S = 30 * 60  # the maintenance contract: an outage must be known within 30 min
GOAL_DEVICE_S = 60.0
GOAL_CABINET_S = 45.0


@dataclass(frozen=True)
class Row:
    scenario: str
    detected_s: float | None
    goal_s: float
    cause: str | None
    lost: int | None

    def cells(self) -> list[str]:
        detected = "-" if self.detected_s is None else f"{self.detected_s:.1f} s"
        verdict = "" if self.detected_s is None or self.detected_s <= self.goal_s else " (over goal)"
        lost = "-" if self.lost is None else str(self.lost)
        return [
            self.scenario,
            detected + verdict,
            f"{CONTRACT_LIMIT_S // 60} min",
            f"<= {self.goal_s:g} s",
            self.cause or "-",
            lost,
        ]


ROWS: list[Row] = []


def summary_lines() -> list[str]:
    header = ["scenario", "detected at centre", "contract", "goal", "cause seen", "lost"]
    table = [header, *(row.cells() for row in ROWS)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in table]
    return [lines[0], "-" * len(lines[0]), *lines[1:]]


class CabinetView:
    """One cabinet's messages at the centre (the subscriber hears the whole fleet)."""

    def __init__(self, central: Subscriber, prefix: str, cabinet_id: str) -> None:
        self.central = central
        self.root = f"{prefix}/v1/{cabinet_id}"

    def wait(self, predicate: Callable[[Received], bool], timeout: float, since: float = 0.0) -> Received:
        """The first message after `since` (monotonic) matching; earlier ones count if already there."""
        return self.central.wait_for(lambda m: m.at >= since and predicate(m), timeout=timeout)

    def status(self, state: str, since: float, timeout: float) -> Received:
        """A live status (not the retained copy a re-subscription delivers) after `since`."""
        topic = f"{self.root}/status"
        return self.wait(
            lambda m: m.topic == topic and not m.retain and _json(m).get("state") == state, timeout, since
        )

    def went_offline(self, start: float, end: float) -> bool:
        topic = f"{self.root}/status"
        return any(
            m.topic == topic and not m.retain and start <= m.at <= end and _json(m).get("state") == "offline"
            for m in self.central.messages()
        )

    def event(self, kind: str, since: float, timeout: float, **detail: Any) -> Received:
        def matches(m: Received) -> bool:
            document = _json(m)
            return (
                m.topic == f"{self.root}/event"
                and document.get("type") == kind
                and all(document.get(k) == v for k, v in detail.items())
            )

        return self.wait(matches, timeout, since)

    def maybe_event(self, kind: str, since: float, timeout: float) -> dict[str, Any] | None:
        """The event if the centre gets it in time, else None (to fill the summary row before asserting)."""
        try:
            found: dict[str, Any] = self.event(kind, since, timeout).json()
        except AssertionError:
            return None
        return found

    def state(
        self, device_id: str, since: float, timeout: float, test: Callable[[dict[str, Any]], bool]
    ) -> Received:
        topic = f"{self.root}/device/{device_id}/state"
        return self.wait(lambda m: m.topic == topic and test(_json(m)), timeout, since)

    def command(self, name: str, timeout: float = 60, **args: Any) -> dict[str, Any]:
        transaction = f"hil-{uuid.uuid4().hex[:8]}"
        request = {"transaction": transaction, "operator": "hil", "args": args}
        since = time.monotonic()
        self.central.publish(f"{self.root}/cmd/{name}", json.dumps(request).encode())
        reply = self.wait(
            lambda m: m.topic == f"{self.root}/cmd-reply" and _json(m).get("transaction") == transaction,
            timeout,
            since,
        )
        result: dict[str, Any] = reply.json()
        return result

    def sequenced(self) -> list[dict[str, Any]]:
        documents = (_json(m) for m in self.central.messages() if m.topic.startswith(self.root + "/"))
        return [d for d in documents if isinstance(d.get("seq"), int)]

    def last_seq(self) -> int:
        return max((d["seq"] for d in self.sequenced()), default=0)

    def lost_between(self, first: int, last: int) -> int:
        """Sequence numbers in (first, last] never received."""
        seen = {d["seq"] for d in self.sequenced()}
        return sum(1 for seq in range(first + 1, last + 1) if seq not in seen)

    def conflicting_ids(self) -> dict[int, set[str]]:
        """Sequence numbers that arrived under more than one id: duplicates that are not QoS 1 repeats."""
        ids: dict[int, set[str]] = {}
        for document in self.sequenced():
            ids.setdefault(document["seq"], set()).add(str(document.get("id")))
        return {seq: found for seq, found in ids.items() if len(found) > 1}


def _json(message: Received) -> dict[str, Any]:
    try:
        document = message.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
