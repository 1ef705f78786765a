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
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from support.agent import AgentProcess
from support.evidence_bench import (
    ROOT,
    ROWS,
    Bench,
    all_ok,
    cli_report,
    compare,
    event_is,
    evidence_bench,
    from_report,
    ledger_totals,
    state_is,
    status_is,
    until,
)
from support.netns import unavailable_reason
from support.subscriber import Subscriber

from edge_agent.mqtt.payloads import json_schema

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    with evidence_bench(tmp_path) as made:
        yield made


def test_ledger_report_and_cli_match_the_injected_truth(bench: Bench) -> None:
    record, central = bench.record, bench.central
    agent = bench.agent()
    try:
        central.wait_for(status_is("online"), timeout=60)
        all_ok(bench)
        _camera_outages(bench)
        _maintenance_expiring_while_down(bench)
        agent = _mains_loss_kill_and_restart(bench, agent)
        _silent_uplink_cut(bench)
        cli = cli_report(bench)
        central.publish(f"{ROOT}/cmd/report_daily", json.dumps({"transaction": "r1", "args": {}}).encode())
        report = bench.wait(lambda m: m.topic == f"{ROOT}/report/daily", timeout=30).json()
    finally:
        assert agent.terminate() == 0
    ledger = ledger_totals(bench.config.parent / "data")
    compare(record, {"ledger": ledger, "report/daily": from_report(report), "cli": from_report(cli)})
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
    record.detected("cam-a hang", a_down[1], bench.wait(state_is("cam-a", "offline", "device"), a_down[1]))
    record.detected("cam-b hang 1", b_down[1], bench.wait(state_is("cam-b", "offline", "device"), b_down[1]))
    until(a_down[0] + 8)
    a_up, b_up = bench.camera("cam-a", "normal"), bench.camera("cam-b", "normal")
    record.book(("cam-a",), "device", a_down[0], a_up[0])
    record.book(("cam-b",), "device", b_down[0], b_up[0])
    bench.wait(state_is("cam-a", "ok"), a_up[1])
    bench.wait(state_is("cam-b", "ok"), b_up[1])
    until(b_up[0] + 3)
    b_down = bench.camera("cam-b", "hung")
    record.detected("cam-b hang 2", b_down[1], bench.wait(state_is("cam-b", "offline", "device"), b_down[1]))
    until(b_down[0] + 6)
    b_up = bench.camera("cam-b", "normal")
    record.book(("cam-b",), "device", b_down[0], b_up[0])
    bench.wait(event_is("replace_recommended", device_id="cam-b"), b_up[1])
    bench.wait(state_is("cam-b", "ok"), b_up[1])


def _maintenance_expiring_while_down(bench: Bench) -> None:
    """cam-m: a 10 s window; down from +2 s; the window ends at +10 s; back at +16 s."""
    record, duration_s = bench.record, 10.0
    request = {
        "transaction": "m1",
        "operator": "tech-1",
        "args": {"device_ids": ["cam-m"], "duration_s": duration_s, "reason": "lens cleaning"},
    }
    declared, declared_mono = time.time(), time.monotonic()
    bench.central.publish(f"{ROOT}/cmd/maintenance_start", json.dumps(request).encode())
    reply = bench.wait(
        lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == "m1", declared_mono
    )
    assert reply.json()["status"] == "ok", reply.json()
    until(declared + 2)
    down = bench.camera("cam-m", "hung")
    record.detected(
        "cam-m hang (maintenance)", down[1], bench.wait(state_is("cam-m", "offline", "maintenance"), down[1])
    )
    ends, ends_mono = declared + duration_s, declared_mono + duration_s
    seen = bench.wait(state_is("cam-m", "offline", "device"), ends_mono - 1)
    record.detected("cam-m window expired, still down", ends_mono, seen)
    until(declared + 16)
    up = bench.camera("cam-m", "normal")
    record.book(("cam-m",), "maintenance", down[0], ends)
    record.book(("cam-m",), "device", ends, up[0])
    bench.wait(state_is("cam-m", "ok"), up[1])


def _mains_loss_kill_and_restart(bench: Bench, agent: AgentProcess) -> AgentProcess:
    """Mains lost (UPS on battery), then the cabinet goes dark (SIGKILL), restarts, mains back."""
    record = bench.record
    lost = bench.mains(False)
    started = bench.wait(event_is("cabinet_outage_started", cause="power_supply"), lost[1])
    record.detected("mains lost (cabinet row)", lost[1], started)
    fault = bench.wait(event_is("fault_raised", device_id="ups"), lost[1]).json()
    assert (fault["detail"]["code"], fault["cause"]) == ("mains_lost", "power_supply"), fault
    until(lost[0] + 4)
    killed, killed_mono = time.time(), time.monotonic()
    agent.kill()  # the kernel closes its socket: the broker sees it at once (a real power cut would not)
    record.detected(
        "agent killed (last will)", killed_mono, bench.wait(status_is("offline", "lost"), killed_mono)
    )
    until(killed + 8)
    restarted, restarted_mono = time.time(), time.monotonic()
    agent = bench.agent()
    window = bench.wait(event_is("outage_attributed"), restarted_mono, timeout=60).json()
    assert (window["cause"], window["detail"]["state"]) == ("power_supply", "offline"), window
    record.book(("cam-a", "cam-b", "cam-m", "ups", "uplink"), "power_supply", killed, restarted)
    all_ok(bench, restarted_mono)
    until(restarted + 5)
    back = bench.mains(True)
    bench.wait(event_is("cabinet_outage_ended", cause="power_supply"), back[1])
    record.book(("_cabinet",), "power_supply", lost[0], back[0])
    bench.wait(state_is("ups", "ok"), back[1])
    return agent


def _silent_uplink_cut(bench: Bench) -> None:
    """Every packet between cabinet and centre dropped for 20 s: the carrier's outage."""
    record = bench.record
    cut, cut_mono = bench.pair.cut(), time.monotonic()
    record.detected(
        "silent uplink cut (last will)", cut_mono, bench.wait(status_is("offline", "lost"), cut_mono)
    )
    until(cut + 20)
    restored, restored_mono = bench.pair.restore(), time.monotonic()
    record.book(("_cabinet",), "network_carrier", cut, restored)
    bench.wait(status_is("online"), restored_mono, timeout=60)
    started = bench.wait(event_is("cabinet_outage_started", cause="network_carrier"), cut_mono - 5)
    assert started.at >= restored_mono  # queued in the outbox during the cut, sent after it
    bench.wait(event_is("cabinet_outage_ended", cause="network_carrier"), cut_mono, timeout=30)


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
