"""The README's first command: the demo brings up a broker and a cabinet and shows what it publishes.

Every test runs a private copy of the demo (support.demo_files): OS-chosen ports, its own pty links,
so it passes with `./dev.sh demo` running on the same machine.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from support.demo_files import DemoFiles, isolated_demo

pytestmark = pytest.mark.integration


def _command(files: DemoFiles, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edge_agent", "demo", "--config", str(files.config),
            "--simulators", str(files.simulators), *extra]  # fmt: skip


def _start_raw(files: DemoFiles, log: Path, *, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    """The demo printing every message that reaches the broker (`--raw`); its own log goes to *log*.
    `sigint_ignored`: started as a shell starts a background job (`demo &` in a script, a CI runner),
    with SIGINT ignored, which a process inherits and Python then leaves ignored."""
    command = _command(files, "--raw")
    if sigint_ignored:
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    with log.open("wb") as errors:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)


def _shown(out: str) -> bool:
    """Everything a first look at the demo shows: the birth, the host, a simulated camera's fault."""
    return (
        '/status {"state":"online"' in out
        and "/device/host/state" in out
        and "/device/host/telemetry" in out
        and "/device/cam-exit/state {" in out
        and '"code":"sd_missing"' in out
    )


def test_demo_shows_birth_state_telemetry_and_clean_stop(tmp_path: Path) -> None:
    files = isolated_demo(tmp_path / "demo")
    log = tmp_path / "demo.err"
    demo = _start_raw(files, log)
    assert demo.stdout is not None
    # Stopped (SIGTERM, as Ctrl-C) once it has shown everything, however slow the machine; 90 s at most.
    give_up = threading.Timer(90, demo.send_signal, (signal.SIGTERM,))
    give_up.start()
    out = ""
    try:
        for line in demo.stdout:
            out += line
            if _shown(out):
                demo.send_signal(signal.SIGTERM)
                break
        out += demo.communicate(timeout=60)[0]
    finally:
        give_up.cancel()
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 0, log.read_text()[-2000:]
    assert f"mqtt://127.0.0.1:{files.broker_port}" in out
    assert _shown(out), out[-3000:]  # a simulated camera's fault among the rest
    assert '/status {"state":"offline","reason":"shutdown"' in out
    assert "agent | " in log.read_text()
    assert f"diagnostics http://127.0.0.1:{files.page_port}/  (user technician, password " in out


def test_demo_says_what_to_do_next_and_prints_a_line_per_change(tmp_path: Path) -> None:
    files = isolated_demo(tmp_path / "demo")
    demo = subprocess.Popen(_command(files), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert demo.stdout is not None
    watchdog = threading.Timer(120, demo.kill)  # a hung demo ends the read loop below
    watchdog.start()
    try:
        seen = []
        for line in demo.stdout:  # until the simulated camera's missing SD card shows
            seen.append(line.rstrip("\n"))
            if "cam-exit:" in line and "FAULT" in line:
                break
        demo.send_signal(signal.SIGTERM)
        seen += demo.stdout.read().splitlines()
        assert demo.wait(60) == 0
    finally:
        watchdog.cancel()
        demo.kill()
        demo.stdout.close()
    banner, _, changes = "\n".join(seen).partition("(Ctrl-C to stop):")
    assert f"open http://127.0.0.1:{files.page_port}/ in a browser" in banner
    assert "log in as technician with password " in banner
    scripted = "strobe breaker trips at 60 s, radar goes silent at 100 s, mains lost at 120 s"
    assert f"watch the scripted faults: {scripted}" in banner
    lines = changes.strip().splitlines()
    assert any(" cabinet demo-cabinet-01 ONLINE (agent " in line for line in lines), lines
    sd_card = "cam-exit: UNKNOWN -> FAULT · No SD card (sd_missing) (cause: device)"
    assert any(sd_card in line for line in lines), lines
    assert not any("event state_changed" in line for line in lines)  # the state line says it
    assert "cabinet demo-cabinet-01 OFFLINE (shutdown)" in lines[-1]
    assert not any("{" in line for line in lines), "JSON flooded the terminal"


def test_demo_refuses_to_start_when_a_port_is_taken_and_names_the_holder(tmp_path: Path) -> None:
    files = isolated_demo(tmp_path / "demo")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", files.page_port))
        squatter.listen()
        result = subprocess.run(_command(files, "--seconds", "5"), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"port {files.page_port} (the diagnostics page) is in use" in result.stderr
    assert "by python" in result.stderr or "by pytest" in result.stderr  # this test process holds it
    assert "edge-agent demo: cabinet" not in result.stdout  # nothing was started


@pytest.mark.parametrize(
    ("stop", "sigint_ignored"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm", "ctrl-c-after-sigint-ignored-at-start"],
)
def test_a_stop_signal_stops_everything_the_demo_started(
    tmp_path: Path, stop: signal.Signals, sigint_ignored: bool
) -> None:
    """Ctrl-C is the demo's documented stop: it must work however the demo was started (the HIL
    bench's demo, started under a CI runner with SIGINT ignored, left broker, simulators and agent
    running after the suite)."""
    files = isolated_demo(tmp_path / "demo")
    log = tmp_path / "demo.err"
    demo = _start_raw(files, log, sigint_ignored=sigint_ignored)
    assert demo.stdout is not None
    started: list[psutil.Process] = []
    try:
        for line in demo.stdout:  # the watcher prints what reaches the broker: the agent is up
            if '/status {"state":"online"' in line:
                break
        else:
            raise AssertionError(f"the demo ended before its agent came online: {log.read_text()[-2000:]}")
        started = psutil.Process(demo.pid).children(recursive=True)
        names = {child.name() for child in started}
        assert {"mosquitto", "socat"} <= names and len(started) >= 5, names  # broker, 3 simulators, agent
        demo.send_signal(stop)
        assert demo.wait(60) == 0
        _, alive = psutil.wait_procs(started, timeout=10)
        assert not alive, f"left running after {stop.name}: {[(p.pid, p.name()) for p in alive]}"
    finally:
        if demo.poll() is None:
            demo.kill()
        for process in started:  # a failed stop must not leave the demo's broker and agent behind
            with contextlib.suppress(psutil.Error):
                process.kill()
        demo.stdout.close()
