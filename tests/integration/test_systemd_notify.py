"""sd_notify: READY=1 once running, WATCHDOG=1 pings at half the watchdog interval, STOPPING=1 on SIGTERM."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from support.agent import AgentProcess, write_config

pytestmark = pytest.mark.integration


def _receive(sock: socket.socket, wanted: str, timeout: float = 15) -> list[str]:
    sock.settimeout(timeout)
    seen: list[str] = []
    while wanted not in seen:
        seen.extend(sock.recv(4096).decode().split("\n"))
    return seen


def test_ready_watchdog_and_stopping_are_notified(broker, tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"}
        with AgentProcess(write_config(tmp_path, port=broker.port), env=env) as agent:
            assert "READY=1" in _receive(sock, "READY=1")
            pings = [m for m in _receive(sock, "WATCHDOG=1") if m == "WATCHDOG=1"]
            pings += [m for m in _receive(sock, "WATCHDOG=1") if m == "WATCHDOG=1"]
            assert len(pings) >= 2
            agent.process.terminate()  # type: ignore[union-attr]  # known to be present at this point of the test
            assert "STOPPING=1" in _receive(sock, "STOPPING=1")
            assert agent.terminate() == 0


def test_no_notify_socket_means_no_systemd_calls(broker, subscriber_factory, tmp_path: Path) -> None:
    watcher = subscriber_factory(broker.host, broker.port, ["edge/v1/cab-test/status"])
    with AgentProcess(write_config(tmp_path, port=broker.port), env={"NOTIFY_SOCKET": ""}) as agent:
        watcher.wait_for(lambda m: m.json()["state"] == "online", timeout=15)
        assert agent.terminate() == 0
    assert "cannot notify systemd" not in agent.log_text()
