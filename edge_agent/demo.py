"""`edge-agent demo`: a simulated cabinet on this machine, end to end.

Starts a private mosquitto on the port the demo config names, the simulated devices, and the
agent itself as a child process (exactly as `edge-agent run` would run on a cabinet), then prints
every message that arrives on the broker until Ctrl-C or `--seconds`.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from edge_agent.config import AgentConfig, load_config
from edge_agent.watch import watch

STARTUP_TIMEOUT_S = 10.0


def run_demo(config_path: Path, seconds: float) -> int:
    config = load_config(config_path)
    workdir = config.storage.data_dir.parent
    shutil.rmtree(config.storage.data_dir, ignore_errors=True)  # every demo starts from a clean cabinet
    workdir.mkdir(parents=True, exist_ok=True)
    stop_watching = threading.Event()
    with ExitStack() as stack:
        stack.enter_context(_broker(config, workdir))
        _print_banner(config, config_path.resolve(), workdir.resolve())
        watcher = threading.Thread(
            target=watch,
            args=(config.mqtt.host, config.mqtt.effective_port, f"{config.mqtt.prefix}/v1/#"),
            kwargs={"stop": stop_watching},
            daemon=True,
        )
        watcher.start()
        with _agent(config_path, workdir):
            try:
                watcher.join(seconds or None)
            except KeyboardInterrupt:
                print("\nstopping the agent (SIGTERM): watch its clean shutdown", flush=True)
        time.sleep(0.5)  # the watcher prints the final offline status before it disconnects
        stop_watching.set()
        watcher.join(5)
    return 0


@contextmanager
def _broker(config: AgentConfig, workdir: Path) -> Iterator[None]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise SystemExit("mosquitto is not installed; `./dev.sh demo` installs it (Debian, as root)")
    conf = workdir / "mosquitto.conf"
    # As root mosquitto drops to user `mosquitto`, which could not read this directory's files.
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {config.mqtt.effective_port} {config.mqtt.host}\n"
        f"allow_anonymous true\npersistence false\nlog_dest file {workdir / 'mosquitto.log'}\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(config.mqtt.host, config.mqtt.effective_port, process)
        yield
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def _agent(config_path: Path, workdir: Path) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    threading.Thread(target=_relay, args=(process.stderr, workdir / "agent.log"), daemon=True).start()
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)  # the clean stop: the last messages show "shutdown"
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _relay(stream: IO[bytes], log_path: Path) -> None:
    with log_path.open("ab") as log:
        for line in stream:
            log.write(line)
            log.flush()
            sys.stderr.write("  agent | " + line.decode("utf-8", "replace"))


def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"mosquitto exited (code {process.returncode}); is port {port} already in use?")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                if process.poll() is None:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"mosquitto did not listen on {host}:{port} within {STARTUP_TIMEOUT_S:g} s")


def _print_banner(config: AgentConfig, config_path: Path, workdir: Path) -> None:
    port = config.mqtt.effective_port
    print(
        f"""
edge-agent demo: cabinet {config.cabinet.id} ({config.cabinet.site or "no site"})
  broker      mqtt://{config.mqtt.host}:{port}
              (also: mosquitto_sub -h {config.mqtt.host} -p {port} -t '#' -v)
  config      {config_path}
  agent log   {workdir / "agent.log"}
  devices     {", ".join(f"{d.device_id} ({d.type})" for d in config.devices) or "none"}
Messages on the broker follow (Ctrl-C to stop):
""",
        flush=True,
    )
