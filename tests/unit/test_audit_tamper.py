"""Tampering the plain hash chain cannot show (issue 12, item 9): a dropped tail, an emptied or
deleted live file, a head cut with a rewritten anchor, a chain re-hashed from scratch. A keyed
chain (HMAC with the cabinet's key) and a high-water mark kept outside the audit directory show them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_agent.audit import ANCHOR, CURRENT, AuditLog, rotated_files, verify_log
from edge_agent.cli import main
from edge_agent.mqtt.audit_chain import GENESIS, record_hash

KEY = b"cabinet-key-0123456789abcdef"


def _write(data_dir: Path, count: int, **options: Any) -> AuditLog:
    log = AuditLog(data_dir / "audit", key=KEY, mark_path=data_dir / "audit-mark.json", **options)
    for index in range(count):
        log.append_sync(f"op{index}", "mqtt", "cmd/camera_reboot", "cam1", {"i": index}, "ok")
    return log


def _verify(data_dir: Path, key: bytes | None = KEY) -> list[str]:
    return verify_log(data_dir / "audit", key=key, mark_path=data_dir / "audit-mark.json").problems


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rewrite(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(record, sort_keys=True) + "\n" for record in records))


def test_untouched_keyed_chain_verifies(tmp_path: Path) -> None:
    _write(tmp_path, 60)
    assert _verify(tmp_path) == []
    assert all("mac" in record for record in _records(tmp_path / "audit" / CURRENT))


def test_dropped_tail_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, 60)
    current = tmp_path / "audit" / CURRENT
    _rewrite(current, _records(current)[:10])
    assert any("n=60" in problem for problem in _verify(tmp_path))


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_emptied_or_deleted_live_file_is_detected(tmp_path: Path, how: str) -> None:
    _write(tmp_path, 20)
    current = tmp_path / "audit" / CURRENT
    if how == "emptied":
        current.write_text("")
    else:
        current.unlink()
    assert _verify(tmp_path)


def test_head_cut_with_a_rewritten_anchor_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, 200, max_file_bytes=8192)
    files = rotated_files(tmp_path / "audit")
    assert len(files) >= 2
    last = _records(files[0])[-1]
    files[0].unlink()
    (tmp_path / "audit" / ANCHOR).write_text(json.dumps({"n": last["n"], "hash": last["hash"]}))
    assert any("anchor" in problem for problem in _verify(tmp_path))


def test_chain_rehashed_without_the_key_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, 30)
    current = tmp_path / "audit" / CURRENT
    records = _records(current)
    records[4]["operator"] = "nobody"
    previous = GENESIS
    for record in records:  # what an attacker without the key can do: a perfect plain chain
        record["prev_hash"] = previous
        record["hash"] = previous = record_hash(record)
    _rewrite(current, records)
    problems = _verify(tmp_path)
    assert any("n=5" in problem and "key" in problem for problem in problems)
    # The mark alone (no key at hand) still sees that the chain's end is not the one written.
    assert _verify(tmp_path, key=None)


def test_audit_verify_command_uses_the_configured_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "audit.key").write_bytes(KEY)
    config = tmp_path / "agent.yaml"
    document = {
        "cabinet": {"id": "cab-1"},
        "mqtt": {"host": "127.0.0.1"},
        "storage": {"data_dir": "data"},
        "audit": {"key": {"file": "audit.key"}},
    }
    config.write_text(yaml.safe_dump(document))
    _write(tmp_path / "data", 20)
    assert main(["audit", "verify", "--config", str(config)]) == 0
    current = tmp_path / "data" / "audit" / CURRENT
    _rewrite(current, _records(current)[:-3])
    assert main(["audit", "verify", "--config", str(config)]) == 1
    assert "n=20" in capsys.readouterr().err
