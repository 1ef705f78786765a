"""A scripted month on a simulated cabinet, through the agent's own tracker and HealthCore, with an
accelerated clock.

The simulated agent does what the runtime does, only faster: it polls every device on its own
grid (every POLL_S, each device with its own phase), runs each result through a `HealthTracker`
(debounce: DEBOUNCE failed polls) and hands the changes to the `HealthCore`, which writes the
liveness mark at every poll; a "kill" drops everything without a clean stop. The world is
scripted: 3 mains losses (the UPS carries the cabinet for a while, then the agent dies until the
power is back), 2 silent uplink cuts, 4 camera hangs (cam1 twice), 1 maintenance with the camera
down inside it.

Ground truth is the script's own injection times. The tolerance is what the agent promises
(docs/health.md), not what it happens to do: each booked outage may be off by less than one poll
interval (it starts at the first failed poll and ends at the first good one), and an agent-down
window may be up to one liveness-mark interval too long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.errors import DeviceTimeout
from edge_agent.health.attribution import CABINET
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import HealthCore
from edge_agent.health.ledger import MaintenanceWindow
from edge_agent.health.rate import online_rate
from edge_agent.health.tracker import HealthTracker, StateChanged
from edge_agent.readings import PollResult, Value

TZ = ZoneInfo("Asia/Shanghai")
CAMERAS = ["cam1", "cam2", "cam3", "cam4"]
DEVICES = [*CAMERAS, "meter", "link"]
HOUR = 3600.0
POLL_S = 60.0  # every device, accelerated: the bounds below scale with it
MARK_S = 60.0  # liveness mark interval of the simulated agent
DEBOUNCE = 3
PHASE_S = {device: 7.0 + 9.0 * index for index, device in enumerate(DEVICES)}  # never on the hour


def at(day: int, hour: float) -> float:
    return datetime(2026, 11, day, tzinfo=TZ).timestamp() + hour * HOUR


MONTH_START, MONTH_END = at(1, 0), datetime(2026, 12, 1, tzinfo=TZ).timestamp()
# (mains lost, UPS carries the cabinet this long, power back after these hours)
MAINS = [(at(3, 2.0), 600.0, 3.0), (at(11, 23.0), 300.0, 5.0), (at(24, 13.5), 900.0, 1.5)]
UPLINK = [(at(7, 9.0), 4.0), (at(19, 22.0), 6.5)]  # (cut, hours)
HANGS = [
    ("cam1", at(5, 10.0), 2.0),
    ("cam3", at(14, 1.0), 7.0),
    ("cam1", at(21, 16.0), 0.75),
    ("cam4", at(28, 23.5), 3.0),
]
# device, window start, window hours, the camera is down from/to (hours after the start)
MAINTENANCE = ("cam2", at(17, 9.0), 2.0, 10 / 60, 110 / 60)


@dataclass
class World:
    """What is true in the cabinet right now, whether or not an agent is watching."""

    mains: bool = True
    uplink: bool = True
    down: set[str] = field(default_factory=set)


class SimulatedAgent:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.config = HealthConfig(
            timezone="Asia/Shanghai", heartbeat_interval_s=MARK_S, repeat_fault_count=1
        )
        self.world = World()
        self.core: HealthCore | None = None
        self.trackers: dict[str, HealthTracker] = {}
        self.next_poll: dict[str, float] = {}
        self.boots = 0

    def boot(self, now: float) -> None:
        self.boots += 1
        self.core = HealthCore(self.data_dir, self.config, boot_id=f"boot-{self.boots}", durable_marks=False)
        self.core.start(now, DEVICES)
        start = datetime.fromtimestamp(now, UTC)
        self.trackers = {d: HealthTracker(offline_after_failures=DEBOUNCE, now=start) for d in DEVICES}
        self.next_poll = {d: now + PHASE_S[d] for d in DEVICES}

    def kill(self) -> None:
        assert self.core is not None
        self.core.ledger.close()  # the process dies: nothing more is written
        self.core = None

    def run_until(self, moment: float) -> None:
        """Poll every device on its grid up to `moment` (the world may have changed before)."""
        while True:
            device = min(self.next_poll, key=self.next_poll.__getitem__)
            when = self.next_poll[device]
            if when > moment:
                return
            self.poll(device, when)
            self.next_poll[device] = when + POLL_S

    def poll(self, device: str, when: float) -> None:
        core, tracker = self.live, self.trackers[device]
        moment = datetime.fromtimestamp(when, UTC)
        if device in self.world.down:
            changes = tracker.on_failure(DeviceTimeout("no answer"), moment)
        else:
            values: dict[str, Value] = {}
            if device == "meter":
                values = {"mains_present": self.world.mains}
            elif device == "link":
                values = {"uplink_up": self.world.uplink, "lan_up": True}
            changes = tracker.on_success(PollResult(values=values), moment)
            if values:
                core.values(values, when)
        for change in changes:
            if isinstance(change, StateChanged):
                since = change.at.timestamp() if change.at else None
                core.device_state(device, change.current, change.cause, when, since=since)
        if device == "meter":  # the agent's timer: once per MARK_S (= POLL_S here), not per device
            core.tick(when)

    @property
    def live(self) -> HealthCore:
        assert self.core is not None
        return self.core


def script() -> list[tuple[float, str, object]]:
    """The month's happenings in time order: (time, what, argument)."""
    steps: list[tuple[float, str, object]] = []
    for loss, carried_s, hours in MAINS:
        steps += [(loss, "mains", False), (loss + carried_s, "kill", None)]
        steps += [(loss + hours * HOUR, "mains", True), (loss + hours * HOUR, "boot", None)]
    for cut, hours in UPLINK:
        steps += [(cut, "uplink", False), (cut + hours * HOUR, "uplink", True)]
    for camera, start, hours in HANGS:
        steps += [(start, "down", camera), (start + hours * HOUR, "up", camera)]
    camera, start, hours, off_from, off_to = MAINTENANCE
    window = MaintenanceWindow(start, start + hours * HOUR, frozenset({camera}), "tech-7", "lens")
    steps += [(start, "maintenance", window)]
    steps += [(start + off_from * HOUR, "down", camera), (start + off_to * HOUR, "up", camera)]
    return sorted(steps, key=lambda step: step[0])


def play(agent: SimulatedAgent, steps: list[tuple[float, str, object]]) -> None:
    agent.boot(MONTH_START)
    for moment, what, argument in steps:
        if agent.core is not None:
            agent.run_until(moment)
        if what == "boot":
            agent.boot(moment)
        elif what == "kill":
            agent.kill()
        elif what == "mains":
            agent.world.mains = bool(argument)
        elif what == "uplink":
            agent.world.uplink = bool(argument)
        elif what == "down":
            agent.world.down.add(str(argument))
        elif what == "up":
            agent.world.down.discard(str(argument))
        elif what == "maintenance":
            assert isinstance(argument, MaintenanceWindow)
            agent.live.start_maintenance(argument, moment)
    agent.run_until(MONTH_END)


def truth() -> dict[str, dict[str, tuple[float, float]]]:
    """Per row and cause: (true offline seconds, the agent's promised bound), from the script."""
    expected: dict[str, dict[str, tuple[float, float]]] = {device: {} for device in [*DEVICES, CABINET]}

    def add(device: str, cause: str, seconds: float, bound: float) -> None:
        total, tolerance = expected[device].get(cause, (0.0, 0.0))
        expected[device][cause] = (total + seconds, tolerance + bound)

    for _loss, carried_s, hours in MAINS:
        dark_s = hours * HOUR - carried_s  # the UPS ran out: every device and the agent are off
        for device in DEVICES:
            add(device, "power_supply", dark_s, MARK_S)
        add(CABINET, "power_supply", hours * HOUR, POLL_S + MARK_S)
    for _cut, hours in UPLINK:
        add(CABINET, "network_carrier", hours * HOUR, POLL_S)
    for camera, _start, hours in HANGS:
        add(camera, "device", hours * HOUR, POLL_S)
    camera, _start, _hours, off_from, off_to = MAINTENANCE
    add(camera, "maintenance", (off_to - off_from) * HOUR, POLL_S)
    return expected


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> SimulatedAgent:
    agent = SimulatedAgent(tmp_path_factory.mktemp("month"))
    play(agent, script())
    return agent


def test_ledger_per_cause_seconds_match_the_injected_truth_within_the_promised_bounds(
    played: SimulatedAgent,
) -> None:
    ledger = played.live.ledger
    for device, causes in truth().items():
        totals = ledger.totals(device, "2026-11-01", "2026-11-30", now=MONTH_END)
        assert set(totals.offline_cause_s) == set(causes), (device, totals.offline_cause_s)
        for cause, (seconds, bound) in causes.items():
            booked = totals.offline_cause_s[cause]
            assert abs(booked - seconds) < bound, (device, cause, booked, seconds, bound)
        assert sum(totals.state_s.values()) == pytest.approx(MONTH_END - MONTH_START, abs=1e-3)


def test_online_rate_with_exclusions_matches_the_hand_computed_value(played: SimulatedAgent) -> None:
    month = MONTH_END - MONTH_START  # 30 days = 2 592 000 s
    dark = sum(hours * HOUR - carried_s for _loss, carried_s, hours in MAINS)  # excluded
    cam1_hangs = (2.0 + 0.75) * HOUR  # counted against the maintainer
    expected_cam1 = (month - dark - cam1_hangs) / (month - dark)
    maintenance = (110 - 10) / 60 * HOUR  # not excluded by default: counted
    expected_cam2 = (month - dark - maintenance) / (month - dark)
    # What the promised bounds allow: two hang ends and the dead windows' marks.
    slack = (2 * POLL_S + len(MAINS) * MARK_S) / (month - dark)
    ledger, excluded = played.live.ledger, played.config.excluded_causes
    cam1 = ledger.totals("cam1", "2026-11-01", "2026-11-30", now=MONTH_END)
    cam2 = ledger.totals("cam2", "2026-11-01", "2026-11-30", now=MONTH_END)
    assert online_rate(cam1, excluded) == pytest.approx(expected_cam1, abs=slack)
    assert online_rate(cam2, excluded) == pytest.approx(expected_cam2, abs=slack)
    assert online_rate(cam2, [*excluded, "maintenance"]) == pytest.approx(1.0, abs=slack)
    assert expected_cam1 < 0.998  # 2.75 h of hangs in 711 counted hours: visible in the rate
    assert played.boots == 4


def test_replacement_is_recommended_for_the_camera_that_hung_twice_only(played: SimulatedAgent) -> None:
    # threshold 1: the second hang of cam1 is its first recurrence. Power cuts, the carrier and
    # the maintenance outage of cam2 are not the devices' failures.
    assert played.live.replace_recommended == {"cam1": {"offline"}}
