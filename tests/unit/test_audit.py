"""Audit log: hash chain, tamper detection (edit, delete, reorder), redaction, rotation and retention."""

from __future__ import annotations

import json
from pathlib import Path

from edge_agent.audit import CURRENT, AuditLog, log_files, verify_log


def _write(directory: Path, count: int, **options: object) -> AuditLog:
    log = AuditLog(directory, **options)  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    for index in range(count):
        log.append_sync(f"op{index}", "mqtt", "cmd/camera_reboot", "cam1", {"n": index}, "ok")
    return log


def _lines(directory: Path) -> list[str]:
    return (directory / CURRENT).read_text().splitlines(keepends=True)


def test_a_fresh_chain_verifies(tmp_path: Path) -> None:
    _write(tmp_path, 5)
    result = verify_log(tmp_path)
    assert result.ok and result.records == 5
    first = json.loads(_lines(tmp_path)[0])
    assert first["prev_hash"] == "0" * 64 and first["n"] == 1


def test_editing_a_record_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, 5)
    lines = _lines(tmp_path)
    record = json.loads(lines[2])
    record["operator"] = "someone-else"
    lines[2] = json.dumps(record) + "\n"
    (tmp_path / CURRENT).write_text("".join(lines))
    result = verify_log(tmp_path)
    assert not result.ok and any("n=3 was altered" in problem for problem in result.problems)


def test_editing_and_rehashing_a_record_breaks_the_next_link(tmp_path: Path) -> None:
    from edge_agent.audit import record_hash

    _write(tmp_path, 5)
    lines = _lines(tmp_path)
    record = json.loads(lines[2])
    record["result"] = "error: hidden"
    record["hash"] = record_hash(record)
    lines[2] = json.dumps(record) + "\n"
    (tmp_path / CURRENT).write_text("".join(lines))
    assert any("chain broken" in problem for problem in verify_log(tmp_path).problems)


def test_deleting_a_record_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, 5)
    lines = _lines(tmp_path)
    del lines[1]
    (tmp_path / CURRENT).write_text("".join(lines))
    problems = verify_log(tmp_path).problems
    assert any("records missing" in problem for problem in problems), problems


def test_deleting_the_last_record_is_detected_by_the_next_append(tmp_path: Path) -> None:
    _write(tmp_path, 3)
    lines = _lines(tmp_path)
    (tmp_path / CURRENT).write_text("".join(lines[:-1]))
    assert verify_log(tmp_path).ok  # a truncated tail alone is indistinguishable from fewer records...
    log = AuditLog(tmp_path)  # ...but the running agent remembers its last record
    log._last = (3, json.loads(lines[-1])["hash"])
    log.append_sync("op", "cli", "config", None, {}, "ok")
    assert not verify_log(tmp_path).ok


def test_secrets_are_redacted_at_any_depth(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    record = log.append_sync(
        "op",
        "web",
        "web/set_camera",
        "cam1",
        {"password": "hunter2", "nested": {"api_key": "k"}, "x": 1},
        "ok",
    )
    assert record["params"] == {"password": "***", "nested": {"api_key": "***"}, "x": 1}
    assert "hunter2" not in (tmp_path / CURRENT).read_text()


def test_rotation_by_size_keeps_one_chain_and_retention_keeps_an_anchor(tmp_path: Path) -> None:
    clock = [1_700_000_000.0]
    log = _write(tmp_path, 0, max_file_bytes=4096, retention_days=200, clock=lambda: clock[0])
    for index in range(60):
        clock[0] += 3600
        log.append_sync("op", "mqtt", "cmd/relay_cycle", "cam1", {"i": index}, "ok")
    assert len(log_files(tmp_path)) > 2
    assert verify_log(tmp_path).ok
    clock[0] += 200 * 86400  # everything written so far is now beyond retention
    log.append_sync("op", "mqtt", "cmd/relay_cycle", "cam1", {"i": "late"}, "ok")
    clock[0] += 1
    log.append_sync("op", "mqtt", "cmd/relay_cycle", "cam1", {"i": "later"}, "ok")
    result = verify_log(tmp_path)
    assert result.ok, result.problems
    assert (tmp_path / "anchor.json").exists()


def test_a_torn_last_line_is_reported_and_the_next_record_starts_a_fresh_line(tmp_path: Path) -> None:
    _write(tmp_path, 2)
    with (tmp_path / CURRENT).open("a") as handle:
        handle.write('{"n": 3, "ts": "2026')  # power cut mid-write
    log = AuditLog(tmp_path)
    log.append_sync("op", "cli", "config", None, {}, "ok")
    result = verify_log(tmp_path)
    assert result.problems == [f"{CURRENT}:3: not a valid audit record"]
    assert result.records == 3
