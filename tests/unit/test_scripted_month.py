"""A scripted month on a simulated cabinet, through the agent's own HealthCore, with an accelerated clock.

Injected: 3 mains losses (meter shows loss, agent killed, restarted hours later), 2 uplink cuts
(broker unreachable, LAN fine), 4 camera hangs, 1 planned maintenance. The ledger's per-cause
seconds must match the injected ground truth within 1 % per device, and the online rate with
exclusions must match the hand-computed value. The heartbeat is written every simulated minute,
as the agent does, and a "kill" drops the HealthCore without any clean stop.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.health.attribution import CABINET
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import HealthCore
from edge_agent.health.ledger import MaintenanceWindow
from edge_agent.health.rate import online_rate

TZ = ZoneInfo("Asia/Shanghai")
CAMERAS = ["cam1", "cam2", "cam3", "cam4"]
DEVICES = [*CAMERAS, "meter", "link"]
HOUR = 3600.0
POLL_S = 10.0  # devices answer their first poll this long after a start


def at(day: int, hour: float) -> float:
    return datetime(2026, 11, day, tzinfo=TZ).timestamp() + hour * HOUR


MONTH_START, MONTH_END = at(1, 0), datetime(2026, 12, 1, tzinfo=TZ).timestamp()
MAINS = [(at(3, 2.0), 3.0), (at(11, 23.0), 5.0), (at(24, 13.5), 1.5)]  # (loss, hours until restart)
UPLINK = [(at(7, 9.0), 4.0), (at(19, 22.0), 6.5)]  # (cut, hours)
HANGS = [
    ("cam1", at(5, 10.0), 2.0),
    ("cam3", at(14, 1.0), 7.0),
    ("cam1", at(21, 16.0), 0.75),
    ("cam4", at(28, 23.5), 3.0),
]
MAINTENANCE = (
    "cam2",
    at(17, 9.0),
    2.0,
    10 / 60,
    110 / 60,
)  # device, window start, hours, offline from/to (h)


class SimulatedAgent:
    """Starts, feeds and kills the HealthCore the way the agent's HealthService does."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.config = HealthConfig(timezone="Asia/Shanghai", heartbeat_interval_s=60)
        self.core: HealthCore | None = None
        self.now = MONTH_START
        self.boots = 0

    def boot(self, now: float) -> None:
        self.boots += 1
        self.core = HealthCore(self.data_dir, self.config, boot_id=f"boot-{self.boots}")
        self.core.start(now, DEVICES)
        self.now = now
        self.run_until(now + POLL_S)
        self.core.values({"mains_present": True}, self.now)
        self.core.values({"uplink_up": True, "lan_up": True}, self.now)
        for device_id in DEVICES:
            self.core.device_state(device_id, "ok", None, self.now)

    def kill(self) -> None:
        assert self.core is not None
        self.core.ledger.close()  # the process dies: nothing more is written
        self.core = None

    def run_until(self, moment: float) -> None:
        """Let simulated time pass; the agent heartbeats every minute while it runs."""
        assert self.core is not None
        while self.now + 60 < moment:
            self.now += 60
            self.core.heartbeat(self.now)
        self.now = moment
        self.core.heartbeat(moment)

    @property
    def live(self) -> HealthCore:
        assert self.core is not None
        return self.core


def script(agent: SimulatedAgent) -> list[tuple[float, str, object]]:
    """The month's happenings in time order: (time, what, argument)."""
    steps: list[tuple[float, str, object]] = []
    for loss, hours in MAINS:
        steps += [(loss, "mains_lost", None), (loss + 1, "kill", None), (loss + hours * HOUR, "boot", None)]
    for cut, hours in UPLINK:
        steps += [(cut, "uplink", False), (cut + hours * HOUR, "uplink", True)]
    for camera, start, hours in HANGS:
        steps += [(start, "offline", camera), (start + hours * HOUR, "ok", camera)]
    camera, start, hours, off_from, off_to = MAINTENANCE
    steps += [
        (
            start,
            "maintenance",
            MaintenanceWindow(start, start + hours * HOUR, frozenset({camera}), "tech-7", "lens"),
        ),
        (start + off_from * HOUR, "offline", camera),
        (start + off_to * HOUR, "ok", camera),
    ]
    return sorted(steps, key=lambda step: step[0])


def play(agent: SimulatedAgent, steps: list[tuple[float, str, object]]) -> None:
    agent.boot(MONTH_START)
    for moment, what, argument in steps:
        if what == "boot":
            agent.boot(moment)
            continue
        agent.run_until(moment)
        core = agent.live
        if what == "mains_lost":
            core.values({"mains_present": False}, moment)
        elif what == "kill":
            agent.kill()
        elif what == "uplink":
            core.values({"uplink_up": argument, "lan_up": True}, moment)
        elif what == "offline":
            core.device_state(str(argument), "offline", "device", moment)
        elif what == "ok":
            core.device_state(str(argument), "ok", None, moment)
        elif what == "maintenance":
            assert isinstance(argument, MaintenanceWindow)
            core.start_maintenance(argument, moment)
    agent.run_until(MONTH_END)


def truth() -> dict[str, dict[str, float]]:
    """Per device (and the cabinet row), offline seconds per cause, computed from the script."""
    expected: dict[str, dict[str, float]] = {device: {} for device in [*DEVICES, CABINET]}

    def add(device: str, cause: str, seconds: float) -> None:
        expected[device][cause] = expected[device].get(cause, 0.0) + seconds

    for _loss, hours in MAINS:
        for device in DEVICES:
            add(device, "power_supply", hours * HOUR)
        add(CABINET, "power_supply", hours * HOUR + POLL_S)  # until the meter is read again after boot
    for _cut, hours in UPLINK:
        add(CABINET, "network_carrier", hours * HOUR)
    for camera, _start, hours in HANGS:
        add(camera, "device", hours * HOUR)
    camera, _start, _hours, off_from, off_to = MAINTENANCE
    add(camera, "maintenance", (off_to - off_from) * HOUR)
    return expected


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> SimulatedAgent:
    agent = SimulatedAgent(tmp_path_factory.mktemp("month"))
    play(agent, script(agent))
    return agent


def test_ledger_per_cause_seconds_match_the_injected_truth_within_one_percent(played: SimulatedAgent) -> None:
    ledger = played.live.ledger
    for device, causes in truth().items():
        totals = ledger.totals(device, "2026-11-01", "2026-11-30", now=MONTH_END)
        assert set(totals.offline_cause_s) == set(causes), (device, totals.offline_cause_s)
        for cause, seconds in causes.items():
            assert totals.offline_cause_s[cause] == pytest.approx(seconds, rel=0.01), (device, cause)
        assert sum(totals.state_s.values()) == pytest.approx(MONTH_END - MONTH_START, abs=1)


def test_online_rate_with_exclusions_matches_the_hand_computed_value(played: SimulatedAgent) -> None:
    month = MONTH_END - MONTH_START  # 30 days = 2 592 000 s
    power = (3.0 + 5.0 + 1.5) * HOUR  # excluded
    cam1_hangs = (2.0 + 0.75) * HOUR  # counted against the maintainer
    expected_cam1 = (month - power - cam1_hangs) / (month - power)
    maintenance = (110 - 10) / 60 * HOUR  # not excluded by default: counted
    expected_cam2 = (month - power - maintenance) / (month - power)
    ledger, excluded = played.live.ledger, played.config.excluded_causes
    cam1 = ledger.totals("cam1", "2026-11-01", "2026-11-30", now=MONTH_END)
    cam2 = ledger.totals("cam2", "2026-11-01", "2026-11-30", now=MONTH_END)
    assert online_rate(cam1, excluded) == pytest.approx(expected_cam1, abs=1e-4)
    assert online_rate(cam2, excluded) == pytest.approx(expected_cam2, abs=1e-4)
    assert online_rate(cam2, [*excluded, "maintenance"]) == pytest.approx(1.0, abs=1e-4)
    assert expected_cam1 < 0.998  # 2.75 h of hangs in 711 counted hours: visible in the rate
    assert played.boots == 4
