"""Radar and illuminator health, with an explicit clock: silence, restarts, range, error bits."""

from __future__ import annotations

from edge_agent.devices.serial import csr, vivotek
from edge_agent.devices.serial.codec import IlluminatorReply
from edge_agent.devices.serial.config import IlluminatorHealth, RadarHealth
from edge_agent.devices.serial.illuminator import faults_of, reply_values
from edge_agent.devices.serial.radar import RadarMonitor


def test_radar_counts_and_frames_per_second() -> None:
    radar = RadarMonitor("csr", RadarHealth(), now_s=0.0)
    radar.feed(b"\x00" * 8 + b"\x3c\x41", 1.0)
    result = radar.result(2.0)
    assert result.values["last_speed_kmh"] == 65
    assert result.values["speed_frames_total"] == 2
    assert result.values["frames_per_s"] == 5.0
    assert result.diagnostics["idle_frames_total"] == 8
    assert result.faults == []


def test_streaming_radar_silence_is_a_fault_trigger_mode_is_not() -> None:
    streaming = RadarMonitor("csr", RadarHealth(silence_fault_s=10), now_s=0.0)
    streaming.feed(b"\x00", 1.0)
    assert streaming.result(10.0).faults == []
    assert [f.code for f in streaming.result(12.0).faults] == ["radar_silent"]
    triggered = RadarMonitor("csr", RadarHealth(streaming=False, silence_fault_s=10), now_s=0.0)
    assert triggered.result(100.0).faults == []


def test_repeated_boots_mean_restarting_until_the_window_passes() -> None:
    radar = RadarMonitor("csr", RadarHealth(restarts_fault=3, restart_window_s=60), now_s=0.0)
    for at in (1.0, 2.0, 3.0):
        radar.feed(csr.BOOT, at)
    result = radar.result(4.0)
    assert [e.type for e in result.events] == ["radar_restarted"] * 3
    assert all(e.cause == "device" for e in result.events)
    assert [f.code for f in result.faults] == ["radar_restarting"]
    radar.feed(b"\x00", 62.0)
    assert radar.result(64.0).faults == []


def test_speeds_outside_the_physical_range_are_bad_frames() -> None:
    radar = RadarMonitor("csr_ascii", RadarHealth(speed_max_kmh=250), now_s=0.0)
    radar.feed(b"+400+080", 1.0)
    values = radar.result(2.0).values
    assert values["bad_frames_total"] == 1
    assert values["last_speed_kmh"] == 80


def test_illuminator_values_and_faults() -> None:
    values = {}
    for command, data in (
        (vivotek.TEMPERATURES, bytes([0xFB, 40, 0, 0])),
        (vivotek.SUPPLY_MV, (9800).to_bytes(4, "big")),
        (vivotek.LED_STRINGS[3], (11250).to_bytes(4, "big")),
        (vivotek.ERRORS, ((1 << 0) | (1 << 10)).to_bytes(4, "big")),
    ):
        values.update(reply_values(IlluminatorReply(1, command, data)))
    assert values == {
        "led_temperature_c": -5,
        "mcu_temperature_c": 40,
        "supply_voltage_v": 9.8,
        "led_string_4_v": 11.25,
        "error_bits": 0b10000000001,
    }
    faults = {f.code: f.severity for f in faults_of(values, IlluminatorHealth())}
    assert faults == {
        "watchdog_reset": "warning",
        "led_driver_3_voltage": "critical",
        "supply_voltage": "critical",
    }
