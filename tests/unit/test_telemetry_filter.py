"""Report-by-exception with per-value deadband and periodic full refresh."""

from __future__ import annotations

from edge_agent.devices.base import TelemetryConfig
from edge_agent.runtime.telemetry_filter import TelemetryFilter


def test_first_poll_and_every_refresh_send_everything() -> None:
    filt = TelemetryFilter(TelemetryConfig(full_refresh_s=60))
    assert filt.select({"v": 230.0, "ok": True}, 0) == ({"v": 230.0, "ok": True}, True)
    assert filt.select({"v": 230.0, "ok": True}, 30) == ({}, False)
    assert filt.select({"v": 230.0, "ok": True}, 60) == ({"v": 230.0, "ok": True}, True)


def test_deadband_is_measured_from_the_last_sent_value() -> None:
    filt = TelemetryFilter(TelemetryConfig(deadband={"v": 1.0}, full_refresh_s=1e9))
    filt.select({"v": 230.0}, 0)
    assert filt.select({"v": 230.8}, 1) == ({}, False)
    assert filt.select({"v": 230.9}, 2) == ({}, False)  # drift does not accumulate unnoticed...
    assert filt.select({"v": 231.1}, 3) == ({"v": 231.1}, False)  # ...it is sent once beyond the band


def test_non_numbers_and_new_names_are_sent_on_change() -> None:
    filt = TelemetryFilter(TelemetryConfig(full_refresh_s=1e9))
    filt.select({"mode": "day", "flag": True}, 0)
    assert filt.select({"mode": "night", "flag": True, "new": 1}, 1) == ({"mode": "night", "new": 1}, False)
    assert filt.select({"mode": "night", "flag": 1}, 2) == ({"flag": 1}, False)  # bool -> int is a change


def test_min_interval_merges_changes_into_the_next_message() -> None:
    filt = TelemetryFilter(TelemetryConfig(min_interval_s=60, full_refresh_s=1e9))
    filt.select({"v": 1.0, "w": 1.0}, 0)
    assert filt.select({"v": 2.0, "w": 1.0}, 10) == ({}, False)  # moved, but too soon: it waits
    assert filt.select({"v": 3.0, "w": 2.0}, 30) == ({}, False)
    assert filt.select({"v": 1.5, "w": 2.0}, 60) == ({"v": 1.5, "w": 2.0}, False)  # the latest values
    assert filt.select({"v": 1.5, "w": 2.0}, 130) == ({}, False)  # nothing moved: nothing to send
