"""Repeat-fault rule: a device that fails the same way again after repair should be replaced.

A fault *recurs* when it is raised again on the same device with the same code after it was
cleared. When the number of recurrences within `window_s` reaches `threshold` (default 2), the
rule returns `replace_recommended` for that (device, code). The first occurrence is not a
recurrence: raised, cleared, raised again = 1 recurrence; cleared and raised again = 2 -> fires.
Pure and clock-free: callers pass the times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class _History:
    cleared_once: bool = False
    recurrences: deque[float] = field(default_factory=deque)


class RepeatFaultRule:
    def __init__(self, *, threshold: int = 2, window_s: float = 30 * 86400) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self._history: dict[tuple[str, str], _History] = {}

    def cleared(self, device_id: str, code: str, at: float) -> None:
        self._history.setdefault((device_id, code), _History()).cleared_once = True

    def raised(self, device_id: str, code: str, at: float) -> int | None:
        """Record a raise; the recurrence count when it reaches the threshold, else None."""
        history = self._history.setdefault((device_id, code), _History())
        if not history.cleared_once:
            return None  # first occurrence, or still the same unrepaired fault
        history.cleared_once = False
        history.recurrences.append(at)
        while history.recurrences and at - history.recurrences[0] > self.window_s:
            history.recurrences.popleft()
        count = len(history.recurrences)
        return count if count >= self.threshold else None

    def replay(self, events: list[tuple[str, str, str, float]]) -> set[tuple[str, str]]:
        """Rebuild the history from the ledger's fault log after a restart (device, code, event, at);
        returns the (device, code) pairs that reached the threshold on the way."""
        fired = set()
        for device_id, code, event, at in events:
            if event == "cleared":
                self.cleared(device_id, code, at)
            elif event == "raised" and self.raised(device_id, code, at) is not None:
                fired.add((device_id, code))
        return fired
