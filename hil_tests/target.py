"""The cabinet under test: the simulated demo cabinet started here, or a bench cabinet reached by MQTT."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from support.demo_files import isolated_demo

HERE = Path(__file__).parent
DEFAULT_TARGET = HERE / "targets" / "simulated.yaml"


@dataclass(frozen=True)
class Expectation:
    states: list[str]
    faults: list[str] = field(default_factory=list)
    # Faults that say more about the machine running the test than the cabinet (the simulated
    # cabinet's `host` is this machine: a busy CI runner is `cpu_high`); they may stand in for
    # `states` but never replace a required fault.
    tolerated: list[str] = field(default_factory=list)

    def met_by(self, state: str, codes: set[str]) -> bool:
        if not set(self.faults) <= codes:
            return False
        return state in self.states or (bool(codes) and codes <= set(self.tolerated))


@dataclass(frozen=True)
class Target:
    """Where the cabinet's broker is and what the cabinet must show."""

    host: str
    port: int
    prefix: str
    cabinet_id: str
    expect: dict[str, Expectation]
    settle_s: float
    operator: str = "hil"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    @property
    def root(self) -> str:
        return f"{self.prefix}/v1/{self.cabinet_id}"


def target_file() -> Path:
    return Path(os.environ.get("EDGE_AGENT_HIL_TARGET", DEFAULT_TARGET))


@contextmanager
def cabinet(path: Path, workdir: Path) -> Iterator[Target]:
    """Yield the target; for `kind: simulated`, run the demo cabinet meanwhile."""
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    expect = {
        device_id: Expectation(list(e["state"]), list(e.get("faults", [])), list(e.get("tolerated", [])))
        for device_id, e in spec["expect"].items()
    }
    if spec["kind"] == "bench":
        broker = spec["broker"]
        yield Target(
            host=broker["host"],
            port=int(broker["port"]),
            prefix=spec.get("prefix", "edge"),
            cabinet_id=spec["cabinet_id"],
            expect=expect,
            settle_s=float(spec.get("settle_s", 120)),
            operator=spec.get("operator", "hil"),
            username=broker.get("username"),
            password=os.environ.get(broker.get("password_env", "")),
            ca_file=Path(broker["ca_file"]) if "ca_file" in broker else None,
        )
        return
    files = isolated_demo(workdir)  # OS-chosen ports, private pty links: runs beside `./dev.sh demo`
    document = yaml.safe_load(files.config.read_text())
    with _demo(files.config, files.simulators, workdir):
        yield Target(
            host="127.0.0.1",
            port=files.broker_port,
            prefix=document["mqtt"].get("prefix", "edge"),
            cabinet_id=document["cabinet"]["id"],
            expect=expect,
            settle_s=float(spec.get("settle_s", 60)),
        )


@contextmanager
def _demo(config: Path, simulators: Path, workdir: Path) -> Iterator[None]:
    log = (workdir / "demo.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "edge_agent",
        "demo",
        "--config",
        str(config),
        "--simulators",
        str(simulators),
    ]
    # A group of its own: whatever a stop that hangs leaves of the demo can be killed whole.
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # the demo's Ctrl-C: agent, simulators and broker stop
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of the demo's still running
        log.close()
