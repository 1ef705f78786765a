"""Pure parts of the diagnostics page: sessions, login limiter, language choice, views, history, CSV."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.diagnostics import i18n
from edge_agent.diagnostics.history import MAX_POINTS, History
from edge_agent.diagnostics.reports import flat_csv
from edge_agent.diagnostics.sessions import MAX_SESSIONS, LoginLimiter, Sessions
from edge_agent.diagnostics.views import ordered_devices, redact
from edge_agent.errors import ConfigError
from edge_agent.health.tracker import DeviceHealth
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_sessions_expire_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = Sessions(lifetime_s=60)
    first = sessions.create("a", "viewer")
    assert sessions.get(first.token) is first and first.csrf != first.token
    for _ in range(MAX_SESSIONS):
        sessions.create("b", "viewer")
    assert sessions.get(first.token) is None and len(sessions) == MAX_SESSIONS
    last = sessions.create("c", "technician")
    now = time.monotonic()
    monkeypatch.setattr("edge_agent.diagnostics.sessions.time.monotonic", lambda: now + 61)
    assert sessions.get(last.token) is None
    assert sessions.get(None) is None and sessions.get("") is None


def test_limiter_locks_by_name_and_by_address(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = LoginLimiter(max_failures=3, lockout_s=100)
    for _ in range(3):
        assert limiter.locked_for("tech", "10.0.0.1") == 0
        limiter.failed("tech", "10.0.0.1")
    assert limiter.locked_for("tech", "10.9.9.9") > 0  # the name, from anywhere
    assert limiter.locked_for("other", "10.0.0.1") > 0  # the address, for any name
    assert limiter.locked_for("other", "10.9.9.9") == 0
    now = time.monotonic()
    monkeypatch.setattr("edge_agent.diagnostics.sessions.time.monotonic", lambda: now + 101)
    assert limiter.locked_for("tech", "10.0.0.1") == 0


@pytest.mark.parametrize(
    ("cookie", "accept", "default", "expected"),
    [
        ("en", "zh-CN,zh;q=0.9", "zh-CN", "en"),
        (None, "zh-TW,en;q=0.5", "en", "zh-CN"),
        (None, "en-US,en;q=0.9", "zh-CN", "en"),
        (None, "de-DE", "zh-CN", "zh-CN"),
        ("xx", None, "en", "en"),
    ],
)
def test_language_choice(cookie: str | None, accept: str | None, default: i18n.Lang, expected: str) -> None:
    assert i18n.choose(cookie, accept, default) == expected


def test_both_languages_have_every_word() -> None:
    assert i18n.words("zh-CN").keys() == i18n.words("en").keys()


def _snapshot(device_id: str, state: str, since_s: int) -> DeviceSnapshot:
    health = DeviceHealth(state=state, since=T0.replace(second=since_s))  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    return DeviceSnapshot(device_id, "host", None, health)


def test_worst_and_newest_devices_first() -> None:
    live = LiveState()
    for device_id, state, since in [
        ("a", "ok", 5),
        ("b", "fault", 1),
        ("c", "fault", 9),
        ("d", "offline", 3),
    ]:
        live.devices[device_id] = _snapshot(device_id, state, since)
    assert [tile["device_id"] for tile in ordered_devices(live)] == ["c", "b", "d", "a"]


def test_redact_hides_secret_keys_at_any_depth() -> None:
    data = {"camera": {"password": "p", "users": [{"token": "t", "name": "admin"}]}, "frame": b"\xfa\x31"}
    assert redact(data) == {
        "camera": {"password": "***", "users": [{"token": "***", "name": "admin"}]},
        "frame": "fa 31",
    }


def test_history_keeps_numbers_bounded_in_points_and_time() -> None:
    history = History(hours=1)
    snapshot = _snapshot("a", "ok", 0)
    for step in range(MAX_POINTS * 3):
        snapshot.values = {"v": float(step), "flag": True, "text": "x"}
        history.record(snapshot, now=step * history.spacing_s)
    series = history.of("a")
    assert list(series) == ["v"]
    assert len(series["v"]) <= MAX_POINTS + 1
    assert series["v"][-1][1] == MAX_POINTS * 3 - 1


def test_report_csv_cannot_smuggle_spreadsheet_formulas() -> None:
    text = flat_csv({"devices": [{"name": "=HYPERLINK(1)"}], "ok": 1})
    assert "'=HYPERLINK(1)" in text and "devices[0].name" in text


def test_config_defaults_are_safe_and_paths_follow_the_config(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "cabinet.yaml"
    path.parent.mkdir()
    path.write_text("cabinet: {id: K-1}\nmqtt: {host: 127.0.0.1}\n")
    page = load_config(path).diagnostics
    assert (page.enabled, page.listen, page.default_language) == (False, "127.0.0.1", "zh-CN")
    assert page.users_file == path.parent.resolve() / "users.json"


def test_config_refuses_unknown_keys_in_the_section(tmp_path: Path) -> None:
    path = tmp_path / "cabinet.yaml"
    path.write_text("cabinet: {id: K-1}\nmqtt: {host: 127.0.0.1}\ndiagnostics: {enabled: true, lang: en}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "diagnostics.lang: unknown key" in str(error.value)
