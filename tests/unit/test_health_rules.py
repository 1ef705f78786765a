"""Cause attribution rules, dead-window recovery and the repeat-fault rule, each on its own."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.health.attribution import CABINET, Attribution, Effective
from edge_agent.health.days import split_by_day
from edge_agent.health.ledger import Ledger, MaintenanceWindow, Totals
from edge_agent.health.rate import online_rate
from edge_agent.health.recovery import recover
from edge_agent.health.repeat import RepeatFaultRule

UTC = ZoneInfo("UTC")
T0 = 1_790_000_000.0


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3", UTC)


def _attribution(ledger: Ledger, **switches: list[str]) -> Attribution:
    attribution = Attribution(ledger, switches=switches, now=T0)
    for device in ("cam1", "cam2", "cam3"):
        attribution.device_state(device, "ok", None, T0)
    return attribution


def test_camera_offline_with_healthy_power_and_lan_is_the_device(ledger: Ledger) -> None:
    attribution = _attribution(ledger)
    attribution.observe("mains_present", True, T0)
    attribution.observe("lan_up", True, T0)
    attribution.device_state("cam1", "offline", "device", T0 + 5)
    assert attribution.effective["cam1"] == Effective("offline", "device")


def test_every_camera_behind_one_switch_down_is_the_cabinet(ledger: Ledger) -> None:
    attribution = _attribution(ledger, sw1=["cam1", "cam2"])
    attribution.device_state("cam1", "offline", "device", T0 + 5)
    assert attribution.effective["cam1"].cause == "device"  # one of two: still the camera
    attribution.device_state("cam2", "offline", "device", T0 + 6)
    assert attribution.effective["cam1"].cause == "cabinet"
    assert attribution.effective["cam2"].cause == "cabinet"
    attribution.device_state("cam3", "offline", "device", T0 + 7)
    assert attribution.effective["cam3"].cause == "device"  # not behind sw1


def test_mains_loss_gives_offline_devices_and_the_cabinet_the_power_cause(ledger: Ledger) -> None:
    attribution = _attribution(ledger)
    attribution.observe("mains_present", False, T0 + 1)
    attribution.device_state("cam1", "offline", "device", T0 + 2)
    assert attribution.effective["cam1"] == Effective("offline", "power_supply")
    assert attribution.effective["cam2"] == Effective("ok", None)  # on UPS, still answering
    assert attribution.effective[CABINET] == Effective("offline", "power_supply")
    assert ledger.read_meta("mains_present") is False


def test_uplink_down_with_lan_up_is_the_carrier_and_with_lan_down_the_cabinet(ledger: Ledger) -> None:
    attribution = _attribution(ledger)
    attribution.observe("lan_up", True, T0)
    attribution.observe("uplink_up", False, T0 + 1)
    assert attribution.effective[CABINET] == Effective("offline", "network_carrier")
    attribution.observe("lan_up", False, T0 + 2)
    assert attribution.effective[CABINET] == Effective("offline", "cabinet")


def test_maintenance_window_wins_and_ends_on_time(ledger: Ledger) -> None:
    attribution = _attribution(ledger)
    window = MaintenanceWindow(T0 + 10, T0 + 110, None, "tech", "")
    attribution.add_maintenance(window, T0 + 10)
    attribution.observe("mains_present", False, T0 + 20)
    attribution.device_state("cam1", "offline", "device", T0 + 20)
    assert attribution.effective["cam1"].cause == "maintenance"
    assert attribution.effective[CABINET].cause == "maintenance"
    attribution.advance(T0 + 500)  # passes the window's end at T0 + 110
    totals = ledger.totals("cam1", "2000-01-01", "2100-01-01", now=T0 + 500)
    assert totals.offline_cause_s == pytest.approx({"maintenance": 90, "power_supply": 390})


def test_the_poller_cause_is_kept_when_nothing_explains_more(ledger: Ledger) -> None:
    attribution = _attribution(ledger)
    attribution.device_state("cam1", "offline", "cabinet", T0 + 1)  # serial port gone
    assert attribution.effective["cam1"].cause == "cabinet"


@pytest.mark.parametrize(
    ("clean", "mains_lost", "host_rebooted", "expected"),
    [
        (False, False, None, ("offline", "power_supply")),
        (False, False, True, ("offline", "power_supply")),
        (False, False, False, ("unknown", None)),
        (True, False, None, ("unknown", None)),
        (True, True, None, ("offline", "power_supply")),
    ],
)
def test_dead_window_judgement(
    ledger: Ledger,
    clean: bool,
    mains_lost: bool,
    host_rebooted: bool | None,
    expected: tuple[str, str | None],
) -> None:
    ledger.transition("cam1", "ok", None, T0)
    ledger.heartbeat(T0 + 100, "boot-1", clean=clean)
    ledger.write_meta("mains_present", not mains_lost)
    window = recover(ledger, boot_at=T0 + 1000, device_ids=["cam1"], host_rebooted=host_rebooted)
    assert window is not None and (window.state, window.cause) == expected
    totals = ledger.totals("cam1", "2000-01-01", "2100-01-01")
    assert totals.state_s[expected[0]] == pytest.approx(900)
    assert totals.state_s["ok"] == pytest.approx(100)


def test_first_start_has_no_dead_window(ledger: Ledger) -> None:
    assert recover(ledger, boot_at=T0, device_ids=["cam1"]) is None


def test_repeat_fault_fires_on_the_second_recurrence_not_the_first() -> None:
    rule = RepeatFaultRule(threshold=2, window_s=30 * 86400)
    assert rule.raised("cam1", "sd_card_failed", T0) is None  # first occurrence
    assert rule.raised("cam1", "sd_card_failed", T0 + 1) is None  # same fault, never cleared
    rule.cleared("cam1", "sd_card_failed", T0 + 10)
    assert rule.raised("cam1", "sd_card_failed", T0 + 20) is None  # first recurrence
    assert rule.raised("cam1", "other_code", T0 + 21) is None
    rule.cleared("cam1", "sd_card_failed", T0 + 30)
    assert rule.raised("cam2", "sd_card_failed", T0 + 31) is None  # another device
    assert rule.raised("cam1", "sd_card_failed", T0 + 40) == 2  # second recurrence: replace


def test_repeat_fault_recurrences_outside_the_window_do_not_count() -> None:
    rule = RepeatFaultRule(threshold=2, window_s=86400)
    rule.raised("cam1", "x", T0)
    rule.cleared("cam1", "x", T0 + 1)
    rule.raised("cam1", "x", T0 + 2)
    rule.cleared("cam1", "x", T0 + 3)
    assert rule.raised("cam1", "x", T0 + 2 * 86400) is None


def test_split_by_day_cuts_at_local_midnight() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    start = 1_793_545_200.0  # 2026-11-01 22:20 in Shanghai
    parts = split_by_day(start, start + 3 * 3600, shanghai)
    assert [day for day, _ in parts] == ["2026-11-01", "2026-11-02"]
    assert sum(seconds for _, seconds in parts) == pytest.approx(3 * 3600)


def test_online_rate() -> None:
    totals = Totals({"ok": 900.0, "offline": 100.0}, {"power_supply": 60.0, "device": 40.0})
    assert online_rate(totals, ["power_supply"]) == pytest.approx(900 / 940)
    assert online_rate(totals, []) == pytest.approx(0.9)
    assert online_rate(Totals({}, {}), ["power_supply"]) is None


def test_heartbeat_file_torn_or_missing_falls_back_to_the_last_transition(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", UTC)
    ledger.transition("cam1", "ok", None, T0)
    ledger.heartbeat(T0 + 60, "boot-1")
    assert ledger.last_heartbeat() is not None and ledger.last_heartbeat().at == T0 + 60  # type: ignore[union-attr]  # known to be present at this point of the test
    ledger.transition("cam1", "offline", "device", T0 + 90)  # later than the file: wins
    assert ledger.last_heartbeat().at == T0 + 90  # type: ignore[union-attr]  # known to be present at this point of the test
    (tmp_path / "ledger.heartbeat").write_bytes(b'{"at": 17')  # torn by a power cut
    heartbeat = ledger.last_heartbeat()
    assert heartbeat is not None and heartbeat.at == T0 + 90 and not heartbeat.clean


@given(
    start=st.floats(min_value=1.7e9, max_value=1.9e9),
    length=st.floats(min_value=0, max_value=40 * 86400),
    zone=st.sampled_from(
        ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
    ),
)
def test_split_by_day_loses_no_second_even_across_dst(start: float, length: float, zone: str) -> None:
    parts = split_by_day(start, start + length, ZoneInfo(zone))
    assert sum(seconds for _, seconds in parts) == pytest.approx(length, abs=1e-3)
    days = [day for day, _ in parts]
    assert days == sorted(set(days))  # each day once, in order
    assert all(0 < seconds <= 25 * 3600 for _, seconds in parts)


def test_a_restart_keeps_maintenance_windows_and_repeat_fault_history(tmp_path: Path) -> None:
    from edge_agent.health.config import HealthConfig
    from edge_agent.health.core import HealthCore

    config = HealthConfig()
    first = HealthCore(tmp_path, config, boot_id="one")
    first.start(T0, ["cam1"])
    first.start_maintenance(MaintenanceWindow(T0, T0 + 3600, frozenset({"cam1"}), "tech", ""), T0)
    for step, event in enumerate(["raised", "cleared", "raised", "cleared"]):
        if event == "raised":
            first.fault_raised("cam1", "sd_error", T0 + step)
        else:
            first.fault_cleared("cam1", "sd_error", T0 + step)
    first.ledger.close()  # killed

    second = HealthCore(tmp_path, config, boot_id="two")
    second.start(T0 + 600, ["cam1"])
    second.device_state("cam1", "offline", "device", T0 + 700)
    assert second.running.effective["cam1"].cause == "maintenance"
    replace = second.fault_raised("cam1", "sd_error", T0 + 800)  # second recurrence, across the restart
    assert replace is not None and replace.recurrences == 2
