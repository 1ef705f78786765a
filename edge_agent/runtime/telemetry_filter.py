"""Report-by-exception: decide which values of a poll are worth sending."""

from __future__ import annotations

from collections.abc import Mapping

from edge_agent.devices.base import TelemetryConfig
from edge_agent.readings import Value


class TelemetryFilter:
    """Sends a value when it moved beyond its deadband; sends everything every `full_refresh_s`."""

    def __init__(self, config: TelemetryConfig) -> None:
        self.config = config
        self._sent: dict[str, Value] = {}
        self._last_full: float | None = None

    def select(self, values: Mapping[str, Value], now_s: float) -> tuple[dict[str, Value], bool]:
        """Returns (values to send, whether this is a full refresh)."""
        if self._last_full is None or now_s - self._last_full >= self.config.full_refresh_s:
            self._last_full = now_s
            self._sent = dict(values)
            return dict(values), True
        changed = {name: value for name, value in values.items() if self._moved(name, value)}
        self._sent.update(changed)
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
