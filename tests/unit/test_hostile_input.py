"""Hostile input (issue 12, items 4-8): each gets a clean error reply or a clear config error,
an audit record where the command is audited, and nothing else happens."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_agent.audit import AuditLog, Source, verify_log
from edge_agent.cli import main
from edge_agent.commands.context import CommandContext
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.config import load_config
from edge_agent.errors import ConfigError
from edge_agent.local.command_socket import CommandSocket
from edge_agent.logging_setup import RedactingFormatter
from edge_agent.runtime.live_state import LiveState

VALID: dict[str, Any] = {
    "cabinet": {"id": "cab-1"},
    "mqtt": {"host": "127.0.0.1", "username": "cab-1", "password": {"env": "EA_TEST_PW"}},
    "devices": [{"type": "host", "device_id": "host"}],
}
ENV = {"EA_TEST_PW": "s3cret-value"}


def _context(operator: str | None, _source: Source) -> CommandContext:
    async def resend() -> None:
        return None

    return CommandContext("cab", operator, LiveState(), None, {}, lambda: {}, resend)  # type: ignore[arg-type]  # a test double or a deliberately wrong value


def _dispatcher(audit: AuditLog | None = None) -> Dispatcher:
    dispatcher = Dispatcher(max_payload_bytes=65536, disabled=frozenset(), make_context=_context, audit=audit)
    dispatcher._take_token = lambda: True  # type: ignore[method-assign]  # rate limit is tested elsewhere
    return dispatcher


# --- 4: a lone surrogate in the arguments ---------------------------------------------------------


async def test_lone_surrogate_in_args_is_refused_and_audited(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit")
    payload = b'{"transaction": "t1", "operator": "ana", "args": {"device_id": "cam", "reason": "\\ud800"}}'
    reply = await _dispatcher(audit).handle("camera_reboot", payload)
    assert reply is not None and reply.error is not None
    assert (reply.error.code, reply.transaction) == ("invalid_args", "t1")
    json.loads(reply.model_dump_json())
    records = await audit.recent(10)
    assert [r["result"] for r in records] == ["error: invalid_args"]
    assert verify_log(tmp_path / "audit").ok


def test_audit_accepts_lone_surrogates_from_any_caller(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit")
    audit.append_sync("op\udc80", "cli", "cmd/x", "t\ud800", {"reason": "\ud800"}, "ok")
    assert verify_log(tmp_path / "audit").ok


# --- 5: deep JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [8000, 10000])
async def test_deeply_nested_json_gets_a_clean_reply(depth: int, caplog: pytest.LogCaptureFixture) -> None:
    payload = ('{"transaction": "t2", "args": {"x": ' + "[" * depth + "]" * depth + "}}").encode()
    reply = await _dispatcher().handle("ping", payload)
    assert reply is not None and reply.error is not None
    assert reply.error.code in ("malformed_json", "invalid_args")
    assert not any(record.exc_info for record in caplog.records)


async def test_deeply_nested_args_within_parser_limits_are_invalid_args() -> None:
    payload = ('{"transaction": "t3", "args": {"x": ' + "[" * 200 + "]" * 200 + "}}").encode()
    reply = await _dispatcher().handle("ping", payload)
    assert reply is not None and reply.error is not None
    assert (reply.error.code, reply.transaction) == ("invalid_args", "t3")


async def test_deeply_nested_json_on_the_local_socket_gets_a_reply(tmp_path: Path) -> None:
    socket = CommandSocket(tmp_path / "command.sock", _dispatcher())
    assert await socket.start()
    try:
        for depth in (8000, 10000):
            reader, writer = await asyncio.open_unix_connection(str(socket.path), limit=2**20)
            line = '{"command": "ping", "transaction": "t", "args": ' + "[" * depth + "]" * depth + "}\n"
            writer.write(line.encode())
            await writer.drain()
            async with asyncio.timeout(10):
                answer = json.loads(await reader.readline())
            writer.close()
            assert answer["status"] == "error"
            assert answer["error"]["code"] in ("malformed_json", "invalid_args")
    finally:
        await socket.stop()


# --- 6: log injection ----------------------------------------------------------------------------


def test_newlines_in_logged_values_cannot_forge_a_line() -> None:
    formatter = RedactingFormatter("%(levelname)s %(name)s: %(message)s", [])
    record = logging.LogRecord(
        "edge_agent.x",
        logging.INFO,
        __file__,
        1,
        "command %s (operator %s, transaction %s) done",
        ("ping", "ana\nERROR edge_agent.audit: audit log wiped", "t\r\n1"),
        None,
    )
    text = formatter.format(record)
    assert "\n" not in text and "\r" not in text
    assert "ana\\nERROR" in text


async def test_newline_in_operator_is_escaped_in_the_agent_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    payload = json.dumps({"transaction": "t\nX", "operator": "ana\nINFO forged: line", "args": {}})
    reply = await _dispatcher().handle("ping", payload.encode())
    assert reply is not None
    formatter = RedactingFormatter("%(levelname)s %(name)s: %(message)s", [])
    for record in caplog.records:
        assert "\n" not in formatter.format(record)


# --- 7: {file: PATH} secrets ----------------------------------------------------------------------


def _secret_config(tmp_path: Path, secret_path: str) -> Path:
    config = tmp_path / "c.yaml"
    document = {**VALID, "mqtt": {**VALID["mqtt"], "password": {"file": secret_path}}}
    config.write_text(yaml.safe_dump(document))
    return config


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "directory", "huge"])
def test_secret_file_must_be_a_small_regular_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "secret"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "huge":
        target.write_bytes(b"x" * (1 << 20))
    path = "/dev/zero" if kind == "dev_zero" else str(target)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_config(_secret_config(tmp_path, path), environ=ENV)
    assert time.monotonic() - started < 5  # a FIFO used to block forever
    problem = caught.value.problems[0]
    assert problem.path == "mqtt.password"
    assert any(words in problem.message for words in ("regular file", "larger than", "Is a directory"))


# --- 8: hostile config files -----------------------------------------------------------------------


def _check(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_deeply_nested_yaml_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("cabinet: " + "[" * 20000 + "]" * 20000 + "\n")
    assert f"{config}: invalid YAML" in _check(config, capsys)


def test_huge_integer_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(VALID) + "x: " + "9" * 5000 + "\n")
    assert f"{config}: invalid YAML" in _check(config, capsys)


def test_data_dir_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EA_TEST_PW", "x")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**VALID, "storage": {"data_dir": "/etc/passwd"}}))
    assert f"{config}: storage.data_dir: " in _check(config, capsys)


def test_huge_config_file_is_refused_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    with config.open("w") as handle:
        handle.write(yaml.safe_dump(VALID))
        handle.write("# padding\n" * (50 * 2**20 // 10))
    started = time.monotonic()
    err = _check(config, capsys)
    assert time.monotonic() - started < 5
    assert f"{config}: " in err and "larger than" in err
