"""`edge-agent demo`: a simulated cabinet on this machine, end to end.

Starts a private mosquitto on the port the demo config names, the simulated devices, and the
agent itself as a child process (exactly as `edge-agent run` would run on a cabinet), says what to
do next, then prints one line per change on the broker (`--raw`: every message whole) until
Ctrl-C or `--seconds`.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from edge_agent.config import AgentConfig, load_config
from edge_agent.fleet.watch import watch_raw
from edge_agent.simulators.demo_lines import watch_lines
from edge_agent.simulators.demo_ports import Need, taken

STARTUP_TIMEOUT_S = 10.0


def run_demo(
    config_path: Path, seconds: float, simulators_path: Path | None = None, *, raw: bool = False
) -> int:
    config = load_config(config_path)
    simulators = _read_simulators(simulators_path or config_path.with_name("demo-simulators.yaml"))
    workdir = config.storage.data_dir.parent
    problems = taken(_needs(config, simulators))
    if problems:
        raise SystemExit(
            "the demo cannot start, another process holds what it needs:\n  " + "\n  ".join(problems)
        )
    # Both unwind the stack below: everything started stops. SIGINT is set too: a demo started as a
    # background job of a script or CI runner inherits it ignored, and Python then leaves it so.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stop_on_signal)
    shutil.rmtree(config.storage.data_dir, ignore_errors=True)  # every demo starts from a clean cabinet
    workdir.mkdir(parents=True, exist_ok=True)
    account = _demo_account(config)
    stop_watching = threading.Event()
    with ExitStack() as stack:
        stack.enter_context(_broker(config, workdir))
        for simulator in simulators:
            stack.enter_context(_simulator(simulator, workdir))
        _print_banner(config, config_path.resolve(), workdir.resolve(), simulators, account, raw=raw)
        watcher = threading.Thread(
            target=watch_raw if raw else watch_lines,
            args=(config.mqtt, None) if raw else (config.mqtt,),
            kwargs={"stop": stop_watching} if raw else {"stop": stop_watching, "out": _say},
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


class _Terminated(KeyboardInterrupt):
    """SIGTERM or Ctrl-C: every started process is stopped on the way out."""


def _stop_on_signal(signum: int, frame: object) -> None:
    for stop in (signal.SIGTERM, signal.SIGINT):  # a second one must not cut the clean-up short
        signal.signal(stop, signal.SIG_IGN)
    raise _Terminated


def _needs(config: AgentConfig, simulators: list[Simulator]) -> list[Need]:
    needs = [Need("the demo's broker", config.mqtt.effective_port, config.mqtt.host)]
    if config.diagnostics.enabled:
        needs.append(Need("the diagnostics page", config.diagnostics.port, config.diagnostics.listen))
    for simulator in simulators:
        needs += [Need(simulator.name, port) for port in simulator.ports]
        needs += [Need(simulator.name, path=simulator.cwd / link) for link in simulator.paths]
    return needs


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
        _wait_for_port(config.mqtt.host, config.mqtt.effective_port, process, what="mosquitto")
        yield
    finally:
        process.terminate()
        process.wait(10)


@dataclass(frozen=True)
class Simulator:
    name: str
    module: str
    args: list[str]
    ports: list[int]
    paths: list[Path]
    cwd: Path
    hint: str = ""


def _read_simulators(path: Path) -> list[Simulator]:
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Simulator(
            e["name"],
            e["module"],
            [str(a) for a in e.get("args", [])],
            list(e.get("ports", [])),
            [Path(p) for p in e.get("paths", [])],
            path.parent,
            e.get("hint", ""),
        )
        for e in entries
    ]


@contextmanager
def _simulator(simulator: Simulator, workdir: Path) -> Iterator[None]:
    log = (workdir / f"{simulator.module.rsplit('.', 1)[-1]}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", simulator.module, *simulator.args], cwd=simulator.cwd, stdout=log, stderr=log
    )
    try:
        for port in simulator.ports:
            _wait_for_port("127.0.0.1", port, process, what=simulator.name)
        for link in simulator.paths:
            _wait_for_path(simulator.cwd / link, process, what=simulator.name)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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


def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], *, what: str) -> None:
    import socket

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited (code {process.returncode}); is port {port} already in use?")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                if process.poll() is None:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on {host}:{port} within {STARTUP_TIMEOUT_S:g} s")


def _demo_account(config: AgentConfig) -> tuple[str, str] | None:
    """A technician account for the demo's page; a fresh password each run, shown in the banner."""
    if not config.diagnostics.enabled:
        return None
    from edge_agent.diagnostics.users import UserStore

    password = secrets.token_urlsafe(9)
    store = UserStore(config.diagnostics.users_file)
    if "technician" in store.load():
        store.passwd("technician", password, "technician")
    else:
        store.add("technician", password, "technician")
    return "technician", password


def _wait_for_path(path: Path, process: subprocess.Popen[bytes], *, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not path.exists():
        if process.poll() is not None:
            raise SystemExit(f"{what} exited (code {process.returncode}) before creating {path}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not create {path} within {STARTUP_TIMEOUT_S:g} s")
        time.sleep(0.05)


_FOLLOWS = {
    True: "Messages on the broker follow, whole",
    False: "Changes on the broker follow, one line each (--raw: every message whole)",
}


def _say(line: str) -> None:
    print(line, flush=True)


def _print_banner(
    config: AgentConfig,
    config_path: Path,
    workdir: Path,
    simulators: list[Simulator],
    account: tuple[str, str] | None,
    *,
    raw: bool,
) -> None:
    port = config.mqtt.effective_port
    page = config.diagnostics
    scheme = "https" if page.tls else "http"
    diagnostics = (
        f"\n  diagnostics {scheme}://{page.listen}:{page.port}/  (user {account[0]}, password {account[1]})"
        if account
        else ""
    )
    simulated = "".join(
        f"\n  simulator   {s.name}: {', '.join([*map(str, s.ports), *map(str, s.paths)])}"
        + (f"\n              {s.hint}" if s.hint else "")
        for s in simulators
    )
    print(
        f"""
edge-agent demo: cabinet {config.cabinet.id} ({config.cabinet.site or "no site"})
  broker      mqtt://{config.mqtt.host}:{port}
              (also: mosquitto_sub -h {config.mqtt.host} -p {port} -t '#' -v){diagnostics}
  config      {config_path}
  agent log   {workdir / "agent.log"}
  devices     {", ".join(f"{d.device_id} ({d.type})" for d in config.devices) or "none"}{simulated}
{_next_steps(config, simulators, account)}
{_FOLLOWS[raw]} (Ctrl-C to stop):
""",
        flush=True,
    )


def _when(hint: str) -> float:
    """`radar goes silent at 100 s` -> 100 (hints without a time first)."""
    match = re.search(r"at (\d+(?:\.\d+)?) s", hint)
    return float(match.group(1)) if match else 0.0


def _next_steps(config: AgentConfig, simulators: list[Simulator], account: tuple[str, str] | None) -> str:
    """What to do now: open the page, log in, and when the scripted faults come."""
    steps = []
    if account:
        page = config.diagnostics
        url = f"{'https' if page.tls else 'http'}://{page.listen}:{page.port}/"
        steps.append(f"open {url} in a browser (a phone-sized window works too)")
        steps.append(f"log in as {account[0]} with password {account[1]}")
    hints = [s.hint.removeprefix("scripted:") for s in simulators if s.hint.startswith("scripted:")]
    scripted = sorted((part.strip() for hint in hints for part in hint.split(",")), key=_when)
    if scripted:
        steps.append(f"watch the scripted faults: {', '.join(scripted)} (after the demo starts)")
        steps.append("they show on the page (overview, Alarms) and as lines below")
    numbered = "\n".join(f"  {n}. {step}" for n, step in enumerate(steps, 1))
    return f"Next:\n{numbered}" if steps else ""
