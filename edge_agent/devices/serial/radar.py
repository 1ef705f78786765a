"""Speed radar health from its output stream: counts, last speed, frames/s, silence, restarts.

The reader task feeds every received chunk through the codec; `result` turns what accumulated
since the last poll into a PollResult. Pure bookkeeping apart from `run`, so it is unit-testable
with `feed` and an explicit clock.
"""

from __future__ import annotations

import time
from collections import deque

from edge_agent.devices.serial import ascii_line, csr, stalker
from edge_agent.devices.serial.codec import BootFrame, Codec, Deframer, Frame, IdleFrame, SpeedFrame
from edge_agent.devices.serial.config import RadarHealth
from edge_agent.devices.serial.port import SerialPort
from edge_agent.readings import DeviceEvent, Fault, PollResult, Value

CODECS: dict[str, Codec] = {
    "csr": csr.decode_byte,
    "csr_direction": csr.decode_direction,
    "csr_ascii": csr.decode_ascii,
    "stalker": stalker.decode,
    "ascii_line": ascii_line.decode,
}
UNITS = {"last_speed_kmh": "km/h", "frames_per_s": "1/s", "silence_s": "s", "garbage_bytes_total": "B"}


class RadarMonitor:
    def __init__(self, codec: str, health: RadarHealth, *, now_s: float | None = None) -> None:
        self.health = health
        self.deframer = Deframer(CODECS[codec])
        start = time.monotonic() if now_s is None else now_s
        self.last_data_s = start
        self._last_poll_s = start
        self.frames_total = self.speed_frames = self.idle_frames = self.bad_frames = 0
        self.restarts_total = 0
        self.last_speed_kmh: int | None = None
        self.last_direction: str | None = None
        self._frames_since_poll = 0
        self._boots: deque[float] = deque(maxlen=max(64, health.restarts_fault))
        self._new_boots = 0

    async def run(self, port: SerialPort) -> None:
        """Read until the port is lost (PortLost propagates to the poller)."""
        while True:
            chunk = await port.read()
            if chunk:
                self.feed(chunk, time.monotonic())

    def feed(self, chunk: bytes, now_s: float) -> None:
        self.last_data_s = now_s
        for frame in self.deframer.feed(chunk):
            self._count(frame, now_s)

    def _count(self, frame: Frame, now_s: float) -> None:
        self.frames_total += 1
        self._frames_since_poll += 1
        if isinstance(frame, BootFrame):
            self.restarts_total += 1
            self._new_boots += 1
            self._boots.append(now_s)
        elif isinstance(frame, IdleFrame):
            self.idle_frames += 1
        elif isinstance(frame, SpeedFrame):
            if self.health.speed_min_kmh <= frame.speed_kmh <= self.health.speed_max_kmh:
                self.speed_frames += 1
                self.last_speed_kmh = frame.speed_kmh
                self.last_direction = frame.direction
            else:
                self.bad_frames += 1

    def restart_clock(self, now_s: float) -> None:
        """After the port was (re)opened: silence is measured from now."""
        self.last_data_s = self._last_poll_s = now_s
        self.deframer.reset()

    def result(self, now_s: float) -> PollResult:
        elapsed = max(now_s - self._last_poll_s, 1e-6)
        values: dict[str, Value] = {
            "last_speed_kmh": self.last_speed_kmh,
            "speed_frames_total": self.speed_frames,
            "bad_frames_total": self.bad_frames,
            "garbage_bytes_total": self.deframer.garbage_bytes,
            "restarts_total": self.restarts_total,
            "frames_per_s": round(self._frames_since_poll / elapsed, 2),
            "silence_s": round(now_s - self.last_data_s, 1),
        }
        events = [
            DeviceEvent("radar_restarted", "warning", {"restarts_total": self.restarts_total}, "device")
            for _ in range(self._new_boots)
        ]
        self._frames_since_poll = self._new_boots = 0
        self._last_poll_s = now_s
        # Idle frames tick with every frame interval: diagnostics only, not telemetry churn.
        diagnostics = {"idle_frames_total": self.idle_frames, "frames_total": self.frames_total}
        return PollResult(
            values=values, units=UNITS, faults=self._faults(now_s), events=events, diagnostics=diagnostics
        )

    def _faults(self, now_s: float) -> list[Fault]:
        faults = []
        silence = now_s - self.last_data_s
        if self.health.streaming and silence > self.health.silence_fault_s:
            faults.append(Fault("radar_silent", "critical", f"no output for {silence:.0f} s"))
        window_start = now_s - self.health.restart_window_s
        recent = sum(1 for at in self._boots if at >= window_start)
        if recent >= self.health.restarts_fault:
            message = f"{recent} restarts in {self.health.restart_window_s:.0f} s"
            faults.append(Fault("radar_restarting", "critical", message))
        return faults
