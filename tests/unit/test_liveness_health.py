"""The liveness file and `edge-agent health`: hostile files, dead or foreign pids, versions, URLs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from support.processes import wait_exec

from edge_agent.cli import main
from edge_agent.errors import LivenessError
from edge_agent.local.health_gate import check_health, data_dir_of, probe_url
from edge_agent.runtime.liveness_file import Liveness, liveness_path, read_liveness, write_liveness


@pytest.fixture
def agent_like_pid() -> Iterator[int]:
    """A live process whose command line names edge-agent, as the real one's does."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "edge-agent"])
    wait_exec(process.pid)
    yield process.pid
    process.kill()
    process.wait()


def record(pid: int, *, version: str = "1.2.3", age_s: float = 0, connected: bool = True) -> Liveness:
    now = datetime.now(UTC)
    return Liveness(
        version=version,
        boot_id="b" * 32,
        pid=pid,
        started_at=now - timedelta(seconds=60),
        updated_at=now - timedelta(seconds=age_s),
        broker_connected=connected,
        outbox_depth=0,
    )


def checks(report: object) -> dict[str, bool]:
    return {check.name: check.ok for check in report.checks}  # type: ignore[attr-defined]  # an attribute of the concrete class behind a base-typed handle


def test_round_trip(tmp_path: Path) -> None:
    write_liveness(liveness_path(tmp_path), record(123))
    assert read_liveness(liveness_path(tmp_path)).pid == 123
    assert [p.name for p in tmp_path.iterdir()] == ["health.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        (b"\xff\xfe garbage", "not a liveness record"),
        (b'{"version": "1"}', "not a liveness record"),
        (b'{"pid": -1}', "not a liveness record"),
        (b" " * 70000, "larger than"),
    ],
)
def test_hostile_files_are_refused_with_a_reason(tmp_path: Path, content: bytes | None, reason: str) -> None:
    if content is not None:
        liveness_path(tmp_path).write_bytes(content)
    with pytest.raises(LivenessError, match=reason):
        read_liveness(liveness_path(tmp_path))
    assert not check_health(tmp_path).ok


def test_healthy_agent_with_the_expected_version(tmp_path: Path, agent_like_pid: int) -> None:
    write_liveness(liveness_path(tmp_path), record(agent_like_pid))
    report = check_health(tmp_path, expect_version="1.2.3", require_broker=True)
    assert report.ok, report
    assert checks(report) == {
        "liveness_file": True,
        "process": True,
        "fresh": True,
        "version": True,
        "broker": True,
    }


def test_wrong_version_stale_record_and_no_broker_each_fail(tmp_path: Path, agent_like_pid: int) -> None:
    write_liveness(liveness_path(tmp_path), record(agent_like_pid, version="1.0", age_s=120, connected=False))
    report = check_health(tmp_path, expect_version="1.2.3", max_age_s=20, require_broker=True)
    assert not report.ok
    assert checks(report) == {
        "liveness_file": True,
        "process": True,
        "fresh": False,
        "version": False,
        "broker": False,
    }


def test_a_dead_pid_fails(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    write_liveness(liveness_path(tmp_path), record(process.pid))
    assert checks(check_health(tmp_path))["process"] is False


def test_a_pid_reused_by_another_program_fails(tmp_path: Path) -> None:
    process = subprocess.Popen(["sleep", "30"])
    wait_exec(process.pid, b"sleep")
    try:
        write_liveness(liveness_path(tmp_path), record(process.pid))
        assert checks(check_health(tmp_path))["process"] is False
    finally:
        process.kill()
        process.wait()


def test_data_dir_needs_no_secrets(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(
        "cabinet: {id: c1}\nmqtt: {host: 127.0.0.1, password: {credential: absent}}\n"
        "storage: {data_dir: state}\n"
    )
    assert data_dir_of(config) == tmp_path / "state"
    config.write_text("cabinet: {id: c1}\n")
    assert data_dir_of(config) == Path("/var/lib/edge-agent")
    config.write_text("storage: {data_dir: 5, nonsense: 1}\n")
    with pytest.raises(LivenessError, match="storage"):
        data_dir_of(config)


def test_cli_prints_json_and_exits_by_the_verdict(
    tmp_path: Path, agent_like_pid: int, capsys: pytest.CaptureFixture[str]
) -> None:
    write_liveness(liveness_path(tmp_path), record(agent_like_pid))
    assert main(["health", "--data-dir", str(tmp_path), "--expect-version", "1.2.3"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["health", "--data-dir", str(tmp_path), "--expect-version", "9"]) == 1
    assert json.loads(capsys.readouterr().out)["liveness"]["version"] == "1.2.3"


class _Answer(BaseHTTPRequestHandler):
    bodies: ClassVar[dict[str, bytes]] = {
        "/ok": b'{"version": "1.2.3"}',
        "/old": b'{"version": "1.0"}',
        "/html": b"<html>",
    }

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        self.send_response(200 if body else 500)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("path", "ok"), [("/ok", True), ("/old", False), ("/html", False), ("/missing", False)]
)
def test_http_probe(health_server: str, path: str, ok: bool) -> None:
    assert probe_url(health_server + path, "1.2.3", timeout_s=5).ok is ok


def test_http_probe_refuses_other_schemes() -> None:
    assert not probe_url("file:///etc/passwd", None).ok
