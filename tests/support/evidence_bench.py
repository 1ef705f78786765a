"""The bench of the end-to-end evidence scenario (tests/integration/test_evidence_scenario.py):
the cabinet namespace with its simulators, the centre namespace with mosquitto and the central
subscriber, the agent's config, what the test injected and when, and the three accounts (ledger,
`report/daily`, `edge-agent report`) compared with it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.health.ledger import Ledger
from edge_agent.simulators.modbus_server import DeviceSpec, ModbusSimulator, Scenario
from edge_agent.simulators.onvif_camera.server import CameraSimulator
from edge_agent.simulators.onvif_camera.states import state_named
from support.agent import AgentProcess, write_config
from support.mosquitto import Broker
from support.netns import NamespaceLoop, NamespacePair, run_in_namespace
from support.ports import free_port
from support.subscriber import Received, Subscriber

ROOT = "edge/v1/cab-ev"
CAMERAS = ("cam-a", "cam-b", "cam-m")
ROWS = (*CAMERAS, "ups", "uplink", "_cabinet")
PASSWORD = "Ev-cam-5521"
UPS_UNIT = 4
KEEPALIVE_S = 5
UTC_ZONE = ZoneInfo("UTC")
MAINS_ON = {"mains_present": True, "on_battery": False, "battery_percent": 100, "input_voltage_v": 229.5}


def tolerance(truth_s: float) -> float:
    return max(2.0, 0.01 * truth_s)


@dataclass
class Record:
    """What the test did and when (wall clock for the ledger, monotonic for detection)."""

    truth: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    detections: list[tuple[str, float]] = field(default_factory=list)

    def book(self, rows: tuple[str, ...], cause: str, start: float, end: float) -> None:
        for row in rows:
            self.truth[(row, cause)] += end - start

    def detected(self, what: str, injected_mono: float, message: Received) -> None:
        self.detections.append((what, message.at - injected_mono))


@dataclass
class Bench:
    pair: NamespacePair
    sims: NamespaceLoop
    cameras: dict[str, CameraSimulator]
    ups: ModbusSimulator
    central: Subscriber
    config: Path
    record: Record = field(default_factory=Record)

    def agent(self) -> AgentProcess:
        return AgentProcess(self.config, prefix=self.pair.exec_argv(self.pair.b)).start()

    def camera(self, name: str, wire: str) -> tuple[float, float]:
        """Hang a camera (`hung`) or let it answer again (`normal`); returns (wall, monotonic)."""
        self.sims.call(lambda: setattr(self.cameras[name].state, "wire", wire))
        return time.time(), time.monotonic()

    def mains(self, present: bool) -> tuple[float, float]:
        values = MAINS_ON if present else {**MAINS_ON, "mains_present": False, "on_battery": True}
        self.sims.call(lambda: self.ups.set_values(UPS_UNIT, dict(values)))
        return time.time(), time.monotonic()

    def wait(
        self, predicate: Callable[[Received], bool], after: float = 0.0, timeout: float = 30
    ) -> Received:
        """The first matching message that arrived after `after` (monotonic)."""
        return self.central.wait_for(lambda m: m.at >= after and predicate(m), timeout)


def state_is(device: str, state: str, cause: str | None = None) -> Callable[[Received], bool]:
    def matches(m: Received) -> bool:
        if m.topic != f"{ROOT}/device/{device}/state":
            return False
        body = m.json()
        return bool(body["state"] == state and (cause is None or body["cause"] == cause))

    return matches


def event_is(kind: str, **fields: Any) -> Callable[[Received], bool]:
    def matches(m: Received) -> bool:
        if m.topic != f"{ROOT}/event":
            return False
        body = m.json()
        return bool(body["type"] == kind and all(body.get(k) == v for k, v in fields.items()))

    return matches


def status_is(state: str, reason: str | None = None) -> Callable[[Received], bool]:
    return lambda m: (
        m.topic == f"{ROOT}/status"
        and (m.json()["state"], m.json()["reason"])
        == (
            state,
            reason,
        )
    )


def until(moment: float) -> None:
    """Let scripted time pass (an outage lasts as long as the scenario says; nothing to await)."""
    time.sleep(max(0.0, moment - time.time()))


def _config(
    tmp_path: Path, pair: NamespacePair, port: int, cameras: dict[str, CameraSimulator], ups_port: int
) -> Path:
    (tmp_path / "camera.pass").write_text(PASSWORD)
    camera = {
        "type": "onvif_camera", "username": "admin", "password": {"file": str(tmp_path / "camera.pass")},
        "poll_interval_s": 1, "timeout_s": 6, "request_timeout_s": 0.7, "offline_after_failures": 2,
        "rtsp_probe": False,
    }  # fmt: skip
    devices: list[dict[str, Any]] = [
        {**camera, "device_id": name, "host": "127.0.0.1", "port": simulator.port}
        for name, simulator in cameras.items()
    ]
    devices.append({
        "type": "modbus", "device_id": "ups", "profile": "ups_power_monitor", "unit_id": UPS_UNIT,
        "transport": {"kind": "tcp", "host": "127.0.0.1", "port": ups_port},
        "poll_interval_s": 0.5, "timeout_s": 1, "offline_after_failures": 2,
    })  # fmt: skip
    devices.append({
        "type": "link", "device_id": "uplink", "poll_interval_s": 1, "timeout_s": 1, "attempts": 2,
        "connect_timeout_s": 0.3, "broker": {"host": pair.ADDRESS_A, "port": port},
        "lan_switch": {"host": "127.0.0.1", "port": cameras["cam-a"].port},
    })  # fmt: skip
    return write_config(
        tmp_path,
        port=port,
        cabinet_id="cab-ev",
        devices=devices,
        mqtt={"host": pair.ADDRESS_A, "keepalive_s": KEEPALIVE_S, "tls": False},
        health={"timezone": "UTC", "heartbeat_interval_s": 1, "repeat_fault_count": 1},
    )


def all_ok(bench: Bench, after: float = 0.0) -> None:
    for device in (*CAMERAS, "ups", "uplink"):
        expected = "degraded" if device == "ups" and not mains_on(bench) else "ok"
        bench.wait(state_is(device, expected), after=after, timeout=60)


def mains_on(bench: Bench) -> bool:
    return bool(bench.sims.call(lambda: bench.ups.devices[UPS_UNIT].values["mains_present"]))


@contextlib.contextmanager
def evidence_bench(tmp_path: Path) -> Iterator[Bench]:
    """Start everything but the agent; stop and delete all of it afterwards."""
    pair = NamespacePair("ctr", "cab").start()
    sims = NamespaceLoop(pair.b)
    broker: Broker | None = None
    central: Subscriber | None = None
    cameras: dict[str, CameraSimulator] = {}
    ups = ModbusSimulator(
        Scenario(devices=[DeviceSpec(unit_id=UPS_UNIT, profile="ups_power_monitor", values=MAINS_ON)])
    )
    try:
        for name in CAMERAS:
            simulator = CameraSimulator(user="admin", password=PASSWORD, state=state_named("healthy"))
            cameras[name] = sims.run(simulator.start())
        ups_port = sims.call(free_port)  # a port of the cabinet namespace
        sims.run(ups.start_tcp("127.0.0.1", ups_port))
        port = run_in_namespace(pair.a, free_port)  # a port of the centre namespace
        broker = Broker(
            workdir=tmp_path / "broker", port=port, extra_conf=f"listener {port} {pair.ADDRESS_A}"
        )
        run_in_namespace(pair.a, broker.start)  # mosquitto runs in the centre namespace
        central = run_in_namespace(pair.a, lambda: Subscriber("127.0.0.1", port, [f"{ROOT}/#"]))
        central.wait_connected()
        config = _config(tmp_path, pair, port, cameras, ups_port)
        yield Bench(pair, sims, cameras, ups, central, config)
    finally:
        if central is not None:
            central.close()
        if broker is not None:
            broker.stop()
        for simulator in cameras.values():
            simulator.state.wire = "normal"
            sims.run(simulator.stop())
        sims.run(ups.stop())
        sims.close()
        pair.stop()


def cli_report(bench: Bench) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "report", "--config", str(bench.config)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "no agent running" not in result.stderr  # asked the running agent, through its socket
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def ledger_totals(data_dir: Path) -> dict[tuple[str, str], float]:
    ledger = Ledger(data_dir / "ledger.sqlite3", UTC_ZONE)
    try:
        day = datetime.now(UTC).date().isoformat()
        return {
            (row, cause): seconds
            for row in ROWS
            for cause, seconds in ledger.totals(row, day, day).offline_cause_s.items()
        }
    finally:
        ledger.close()


def from_report(report: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {
        (line["device_id"], cause): seconds
        for line in report["devices"]
        for cause, seconds in line["day"]["offline_cause_s"].items()
    }


def compare(
    record: Record, accounts: dict[str, dict[tuple[str, str], float]]
) -> list[tuple[str, str, float, dict[str, float]]]:
    table = []
    keys = sorted(set(record.truth) | {key for booked in accounts.values() for key in booked})
    for row, cause in keys:
        truth = record.truth.get((row, cause), 0.0)
        table.append(
            (row, cause, truth, {name: booked.get((row, cause), 0.0) for name, booked in accounts.items()})
        )
    failures = [
        f"{row}/{cause}: truth {truth:.1f} s, {name} {seconds:.1f} s"
        for row, cause, truth, booked in table
        for name, seconds in booked.items()
        if abs(seconds - truth) > tolerance(truth)
    ]
    print_table(table, record)
    assert not failures, failures
    return table


def print_table(table: list[tuple[str, str, float, dict[str, float]]], record: Record) -> None:
    print("\nrow       cause            truth s   " + "   ".join(f"{name:>12}" for name in table[0][3]))
    for row, cause, truth, booked in table:
        print(f"{row:9} {cause:15} {truth:8.1f}   " + "   ".join(f"{s:12.1f}" for s in booked.values()))
    print("detection at the subscriber:")
    for what, seconds in record.detections:
        print(f"  {what:34} {seconds:6.2f} s")
