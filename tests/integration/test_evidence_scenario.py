"""Evidence a maintainer can bill on, end to end, as a central operator sees it.

The real `edge-agent run` process runs in a cabinet namespace with real simulators on its own
loopback (three ONVIF cameras over real SOAP, a Modbus TCP UPS with the shipped
`ups_power_monitor` profile); a real mosquitto runs in a centre namespace; a veth pair joins them
and the central subscriber connects from the centre side. The test injects, and records when:

1. cam-a hangs once; cam-b hangs, recovers, hangs again (repeat threshold 1: replace);
2. cam-m goes down inside a maintenance window that then expires while it is still down;
3. the UPS reports mains lost, then the agent is SIGKILLed (the cabinet goes dark) and restarted,
   then the mains come back;
4. a silent uplink cut (nftables DROP in the cabinet namespace: no RST, no ICMP).

Ground truth is the test's own injection times. The ledger, the `report/daily` payload and the
`edge-agent report` CLI must each match it per device and cause within max(2 s, 1 %);
`replace_recommended` must name cam-b and nothing else; the subscriber must see every change of
cause. The table and the detection time of each fault at the subscriber are printed.
"""

from __future__ import annotations

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

import jsonschema
import pytest
from support.agent import AgentProcess, write_config
from support.mosquitto import Broker
from support.netns import NamespaceLoop, NamespacePair, run_in_namespace, unavailable_reason
from support.ports import free_port
from support.subscriber import Received, Subscriber

from edge_agent.health.ledger import Ledger
from edge_agent.mqtt.payloads import json_schema
from edge_agent.simulators.modbus_server import DeviceSpec, ModbusSimulator, Scenario
from edge_agent.simulators.onvif_camera.server import CameraSimulator
from edge_agent.simulators.onvif_camera.states import state_named

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]

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


def _state(device: str, state: str, cause: str | None = None) -> Callable[[Received], bool]:
    def matches(m: Received) -> bool:
        if m.topic != f"{ROOT}/device/{device}/state":
            return False
        body = m.json()
        return bool(body["state"] == state and (cause is None or body["cause"] == cause))

    return matches


def _event(kind: str, **fields: Any) -> Callable[[Received], bool]:
    def matches(m: Received) -> bool:
        if m.topic != f"{ROOT}/event":
            return False
        body = m.json()
        return bool(body["type"] == kind and all(body.get(k) == v for k, v in fields.items()))

    return matches


def _status(state: str, reason: str | None = None) -> Callable[[Received], bool]:
    return lambda m: (
        m.topic == f"{ROOT}/status"
        and (m.json()["state"], m.json()["reason"])
        == (
            state,
            reason,
        )
    )


def _until(moment: float) -> None:
    """Let scripted time pass (an outage lasts as long as the scenario says; nothing to await)."""
    time.sleep(max(0.0, moment - time.time()))


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
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


def _all_ok(bench: Bench, after: float = 0.0) -> None:
    for device in (*CAMERAS, "ups", "uplink"):
        expected = "degraded" if device == "ups" and not _mains_on(bench) else "ok"
        bench.wait(_state(device, expected), after=after, timeout=60)


def _mains_on(bench: Bench) -> bool:
    return bool(bench.sims.call(lambda: bench.ups.devices[UPS_UNIT].values["mains_present"]))


def test_ledger_report_and_cli_match_the_injected_truth(bench: Bench) -> None:
    record, central = bench.record, bench.central
    agent = bench.agent()
    try:
        central.wait_for(_status("online"), timeout=60)
        _all_ok(bench)
        _camera_outages(bench)
        _maintenance_expiring_while_down(bench)
        agent = _mains_loss_kill_and_restart(bench, agent)
        _silent_uplink_cut(bench)
        cli = _cli_report(bench)
        central.publish(f"{ROOT}/cmd/report_daily", json.dumps({"transaction": "r1", "args": {}}).encode())
        report = bench.wait(lambda m: m.topic == f"{ROOT}/report/daily", timeout=30).json()
    finally:
        assert agent.terminate() == 0
    ledger = _ledger_totals(bench.config.parent / "data")
    _compare(record, {"ledger": ledger, "report/daily": _from_report(report), "cli": _from_report(cli)})
    jsonschema.validate(report, json_schema("report-daily"))
    same = ("state", "cause", "faults_active", "replace_recommended")
    assert [{k: d[k] for k in same} for d in cli["devices"]] == [
        {k: d[k] for k in same} for d in report["devices"]
    ]
    for line in (report, cli):
        recommended = {d["device_id"]: d["replace_recommended"] for d in line["devices"]}
        assert recommended == {row: (["offline"] if row == "cam-b" else []) for row in ROWS}, recommended
        assert {d["device_id"]: d["state"] for d in line["devices"]}["ups"] == "ok"
        values = {d["device_id"]: d["values"] for d in line["devices"]}
        assert "sd_state" in values["cam-a"] and "clock_drift_s" in values["cam-a"], values["cam-a"]
    _every_change_of_cause_was_seen(central)


def _camera_outages(bench: Bench) -> None:
    """cam-a hangs once; cam-b hangs, recovers, hangs again."""
    record = bench.record
    a_down, b_down = bench.camera("cam-a", "hung"), bench.camera("cam-b", "hung")
    record.detected("cam-a hang", a_down[1], bench.wait(_state("cam-a", "offline", "device"), a_down[1]))
    record.detected("cam-b hang 1", b_down[1], bench.wait(_state("cam-b", "offline", "device"), b_down[1]))
    _until(a_down[0] + 8)
    a_up, b_up = bench.camera("cam-a", "normal"), bench.camera("cam-b", "normal")
    record.book(("cam-a",), "device", a_down[0], a_up[0])
    record.book(("cam-b",), "device", b_down[0], b_up[0])
    bench.wait(_state("cam-a", "ok"), a_up[1])
    bench.wait(_state("cam-b", "ok"), b_up[1])
    _until(b_up[0] + 3)
    b_down = bench.camera("cam-b", "hung")
    record.detected("cam-b hang 2", b_down[1], bench.wait(_state("cam-b", "offline", "device"), b_down[1]))
    _until(b_down[0] + 6)
    b_up = bench.camera("cam-b", "normal")
    record.book(("cam-b",), "device", b_down[0], b_up[0])
    bench.wait(_event("replace_recommended", device_id="cam-b"), b_up[1])
    bench.wait(_state("cam-b", "ok"), b_up[1])


def _maintenance_expiring_while_down(bench: Bench) -> None:
    """cam-m: a 10 s window; down from +2 s; the window ends at +10 s; back at +16 s."""
    record, duration_s = bench.record, 10.0
    request = {
        "transaction": "m1",
        "operator": "tech-1",
        "args": {"device_ids": ["cam-m"], "duration_s": duration_s},
    }
    declared, declared_mono = time.time(), time.monotonic()
    bench.central.publish(f"{ROOT}/cmd/maintenance_start", json.dumps(request).encode())
    reply = bench.wait(
        lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == "m1", declared_mono
    )
    assert reply.json()["status"] == "ok", reply.json()
    _until(declared + 2)
    down = bench.camera("cam-m", "hung")
    record.detected(
        "cam-m hang (maintenance)", down[1], bench.wait(_state("cam-m", "offline", "maintenance"), down[1])
    )
    ends, ends_mono = declared + duration_s, declared_mono + duration_s
    seen = bench.wait(_state("cam-m", "offline", "device"), ends_mono - 1)
    record.detected("cam-m window expired, still down", ends_mono, seen)
    _until(declared + 16)
    up = bench.camera("cam-m", "normal")
    record.book(("cam-m",), "maintenance", down[0], ends)
    record.book(("cam-m",), "device", ends, up[0])
    bench.wait(_state("cam-m", "ok"), up[1])


def _mains_loss_kill_and_restart(bench: Bench, agent: AgentProcess) -> AgentProcess:
    """Mains lost (UPS on battery), then the cabinet goes dark (SIGKILL), restarts, mains back."""
    record = bench.record
    lost = bench.mains(False)
    started = bench.wait(_event("cabinet_outage_started", cause="power_supply"), lost[1])
    record.detected("mains lost (cabinet row)", lost[1], started)
    fault = bench.wait(_event("fault_raised", device_id="ups"), lost[1]).json()
    assert (fault["detail"]["code"], fault["cause"]) == ("mains_lost", "power_supply"), fault
    _until(lost[0] + 4)
    killed, killed_mono = time.time(), time.monotonic()
    agent.kill()  # the kernel closes its socket: the broker sees it at once (a real power cut would not)
    record.detected(
        "agent killed (last will)", killed_mono, bench.wait(_status("offline", "lost"), killed_mono)
    )
    _until(killed + 8)
    restarted, restarted_mono = time.time(), time.monotonic()
    agent = bench.agent()
    window = bench.wait(_event("outage_attributed"), restarted_mono, timeout=60).json()
    assert (window["cause"], window["detail"]["state"]) == ("power_supply", "offline"), window
    record.book(("cam-a", "cam-b", "cam-m", "ups", "uplink"), "power_supply", killed, restarted)
    _all_ok(bench, restarted_mono)
    _until(restarted + 5)
    back = bench.mains(True)
    bench.wait(_event("cabinet_outage_ended", cause="power_supply"), back[1])
    record.book(("_cabinet",), "power_supply", lost[0], back[0])
    bench.wait(_state("ups", "ok"), back[1])
    return agent


def _silent_uplink_cut(bench: Bench) -> None:
    """Every packet between cabinet and centre dropped for 20 s: the carrier's outage."""
    record = bench.record
    cut, cut_mono = bench.pair.cut(), time.monotonic()
    record.detected(
        "silent uplink cut (last will)", cut_mono, bench.wait(_status("offline", "lost"), cut_mono)
    )
    _until(cut + 20)
    restored, restored_mono = bench.pair.restore(), time.monotonic()
    record.book(("_cabinet",), "network_carrier", cut, restored)
    bench.wait(_status("online"), restored_mono, timeout=60)
    started = bench.wait(_event("cabinet_outage_started", cause="network_carrier"), cut_mono - 5)
    assert started.at >= restored_mono  # queued in the outbox during the cut, sent after it
    bench.wait(_event("cabinet_outage_ended", cause="network_carrier"), cut_mono, timeout=30)


# --- the three accounts and the truth ---------------------------------------------------------------


def _cli_report(bench: Bench) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "report", "--config", str(bench.config)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "no agent running" not in result.stderr  # asked the running agent, through its socket
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _ledger_totals(data_dir: Path) -> dict[tuple[str, str], float]:
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


def _from_report(report: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {
        (line["device_id"], cause): seconds
        for line in report["devices"]
        for cause, seconds in line["day"]["offline_cause_s"].items()
    }


def _compare(
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
    _print(table, record)
    assert not failures, failures
    return table


def _print(table: list[tuple[str, str, float, dict[str, float]]], record: Record) -> None:
    print("\nrow       cause            truth s   " + "   ".join(f"{name:>12}" for name in table[0][3]))
    for row, cause, truth, booked in table:
        print(f"{row:9} {cause:15} {truth:8.1f}   " + "   ".join(f"{s:12.1f}" for s in booked.values()))
    print("detection at the subscriber:")
    for what, seconds in record.detections:
        print(f"  {what:34} {seconds:6.2f} s")


def _every_change_of_cause_was_seen(central: Subscriber) -> None:
    seen: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for message in central.messages(f"{ROOT}/device/+/state"):
        body = message.json()
        step = (body["state"], body["cause"])
        if body["state"] in ("offline", "ok") and (
            not seen[body["device_id"]] or seen[body["device_id"]][-1] != step
        ):
            seen[body["device_id"]].append(step)
    offline = {device: [s for s in steps if s[0] == "offline"] for device, steps in seen.items()}
    assert offline["cam-a"] == [("offline", "device")], seen["cam-a"]
    assert offline["cam-b"] == [("offline", "device"), ("offline", "device")], seen["cam-b"]
    assert offline["cam-m"] == [("offline", "maintenance"), ("offline", "device")], seen["cam-m"]
    cabinet = [
        (m.json()["type"], m.json()["cause"])
        for m in central.messages(f"{ROOT}/event")
        if m.json()["type"] in ("cabinet_outage_started", "cabinet_outage_ended")
    ]
    assert cabinet == [
        ("cabinet_outage_started", "power_supply"),
        ("cabinet_outage_ended", "power_supply"),
        ("cabinet_outage_started", "network_carrier"),
        ("cabinet_outage_ended", "network_carrier"),
    ], cabinet
