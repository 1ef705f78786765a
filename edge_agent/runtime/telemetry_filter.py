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
        pending, sent, deadband = self._pending, self._sent, self.config.deadband
        for name, value in values.items():  # once per value per poll: kept to plain lookups
            # A value waiting to be sent is kept at its latest, moved or not.
            if name in pending or _moved(sent.get(name, _UNSENT), value, deadband.get(name, 0.0)):
                pending[name] = value
        if not self._pending or now_s - self._last_sent < self.config.min_interval_s:
            return {}, False
        changed, self._pending = self._pending, {}
        self._sent.update(changed)
        self._last_sent = now_s
        return changed, False


_UNSENT = object()  # never sent: a change whatever the value


def _moved(previous: object, value: Value, band: float) -> bool:
    if type(value) is float and type(previous) is float:  # a measurement: the usual case, first
        return abs(value - previous) > band
    if previous is _UNSENT:
        return True
    numeric = (int, float)
    if (
        isinstance(value, numeric)
        and isinstance(previous, numeric)
        and not isinstance(value, bool)
        and not isinstance(previous, bool)
    ):
        return abs(value - previous) > band
    return type(value) is not type(previous) or value != previous  # True == 1, yet a change
