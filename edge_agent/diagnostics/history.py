"""Recent numeric readings per device, for the sparklines: bounded in points and in time."""

from __future__ import annotations

import time
from collections import deque

from edge_agent.runtime.live_state import DeviceSnapshot

MAX_POINTS = 360  # per value: 6 hours at one point a minute
MAX_VALUES_PER_DEVICE = 32


class History:
    def __init__(self, hours: float) -> None:
        self.span_s = hours * 3600
        self.spacing_s = self.span_s / MAX_POINTS
        self._series: dict[str, dict[str, deque[tuple[float, float]]]] = {}
        self._last: dict[str, float] = {}

    def record(self, snapshot: DeviceSnapshot, now: float | None = None) -> None:
        """Keep this snapshot's numbers if the device's last point is at least `spacing_s` old."""
        now = time.time() if now is None else now
        if now - self._last.get(snapshot.device_id, -1e18) < self.spacing_s:
            return
        self._last[snapshot.device_id] = now
        series = self._series.setdefault(snapshot.device_id, {})
        for name, value in snapshot.values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if name not in series and len(series) >= MAX_VALUES_PER_DEVICE:
                continue
            points = series.setdefault(name, deque(maxlen=MAX_POINTS))
            points.append((now, float(value)))
            while points and points[0][0] < now - self.span_s:
                points.popleft()

    def of(self, device_id: str) -> dict[str, list[list[float]]]:
        """name -> [[unix time, value], ...], oldest first."""
        return {
            name: [[round(t, 1), v] for t, v in points]
            for name, points in self._series.get(device_id, {}).items()
        }
