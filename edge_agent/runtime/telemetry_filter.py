"""Report-by-exception: decide which values of a poll are worth sending."""

from __future__ import annotations

from collections.abc import Mapping

from edge_agent.devices.base import TelemetryConfig
from edge_agent.readings import Value


class TelemetryFilter:
    """Sends a value when it moved beyond its deadband, at most every `min_interval_s` (what moved
    meanwhile waits, merged); sends everything every `full_refresh_s`."""

    def __init__(self, config: TelemetryConfig) -> None:
        self.config = config
        self._sent: dict[str, Value] = {}
        self._last_full: float | None = None
        self._pending: dict[str, Value] = {}
        self._last_sent = 0.0

    def select(self, values: Mapping[str, Value], now_s: float) -> tuple[dict[str, Value], bool]:
        """Returns (values to send, whether this is a full refresh)."""
        if self._last_full is None or now_s - self._last_full >= self.config.full_refresh_s:
            self._last_full = self._last_sent = now_s
            self._sent, self._pending = dict(values), {}
            return dict(values), True
        pending = self._pending  # a value waiting to be sent is kept at its latest, moved or not
        pending.update((n, v) for n, v in values.items() if n in pending or self._moved(n, v))
        if not self._pending or now_s - self._last_sent < self.config.min_interval_s:
            return {}, False
        changed, self._pending = self._pending, {}
        self._sent.update(changed)
        self._last_sent = now_s
        return changed, False

    def _moved(self, name: str, value: Value) -> bool:
        if name not in self._sent:
            return True
        previous = self._sent[name]
        numeric = (int, float)
        if (
            isinstance(value, numeric)
            and isinstance(previous, numeric)
            and not isinstance(value, bool)
            and not isinstance(previous, bool)
        ):
            return abs(value - previous) > self.config.deadband.get(name, 0.0)
        return type(value) is not type(previous) or value != previous  # True == 1, yet a change
