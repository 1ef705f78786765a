"""Cabinet intelligence in a running agent: audited commands, bad commands refused, maintenance,
the daily report on the broker, mains evidence and the dead window after a kill -9."""

from __future__ import annotations

import json
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.agent import AgentProcess, running_agent, write_config

from edge_agent.cli import main as cli_main
from edge_agent.health.config import HealthConfig
from edge_agent.mqtt.payloads import json_schema

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
DARK_S = 1.5


def _script(data_dir: Path, device_id: str, **script: Any) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / f"script-{device_id}.json").write_text(json.dumps(script))


def _reply(transaction: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    return lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == transaction


def _request(transaction: str, operator: str | None = None, **args: Any) -> bytes:
    body: dict[str, Any] = {"transaction": transaction, "args": args}
    if operator:
        body["operator"] = operator
    return json.dumps(body).encode()


BAD = [  # (command, request, error code): refused, nothing actuated
    ("camera_reboot", _request("b-unknown", "ops1", device_id="nope"), "unknown_device"),
    ("camera_reboot", _request("b-no-operator", device_id="cam1"), "missing_operator"),
    ("camera_sync_time", _request("b-disabled", "ops1", device_id="cam1"), "disabled"),
    ("power_cycle", _request("b-no-relay", "ops1", device_id="cam1"), "relay_not_configured"),  # none here
    (
        "maintenance_start",
        _request("b-maint-dev", "ops1", device_ids=["nope"], duration_s=60, reason="lens cleaning"),
        "unknown_device",
    ),
    ("maintenance_start", _request("b-maint-op", duration_s=60, reason="lens cleaning"), "missing_operator"),
    # A window nobody explains: refused as the page refuses it (and audited like every refusal).
    ("maintenance_start", _request("b-maint-blank", "ops1", duration_s=60, reason=" \t "), "invalid_args"),
    ("maintenance_start", _request("b-maint-none", "ops1", duration_s=60), "invalid_args"),
]


async def test_commands_are_audited_published_and_the_chain_verifies(
    broker, subscriber_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    central = subscriber_factory(
        broker.host,
        broker.port,
        [f"{ROOT}/cmd-reply", f"{ROOT}/audit", f"{ROOT}/report/daily", f"{ROOT}/event", f"{ROOT}/status"],
    )
    central.wait_connected()
    devices = [{"type": "script", "device_id": "cam1", "poll_interval_s": 0.2}]
    config = write_config(
        tmp_path, port=broker.port, devices=devices, commands={"disabled": ["camera_sync_time"]}
    )
    async with running_agent(config):
        await central.until(lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online")
        config_record = (await central.until(f"{ROOT}/audit")).json()
        assert (config_record["module"], config_record["source"], config_record["n"]) == (
            "config",
            "agent",
            1,
        )
        for name, payload, code in BAD:
            await central.apublish(f"{ROOT}/cmd/{name}", payload)
            transaction = json.loads(payload)["transaction"]
            reply = (await central.until(_reply(transaction))).json()
            assert (reply["status"], reply["error"]["code"]) == ("error", code), reply
        await central.apublish(f"{ROOT}/cmd/ping", _request("p1", "ops1"))
        await central.until(_reply("p1"))
        maintenance = _request("m1", "ops1", device_ids=["cam1"], duration_s=600, reason="lens cleaning")
        await central.apublish(f"{ROOT}/cmd/maintenance_start", maintenance)
        assert (await central.until(_reply("m1"))).json()["status"] == "ok"
        await central.apublish(f"{ROOT}/cmd/report_daily", _request("r1", "ops1"))
        assert (await central.until(_reply("r1"))).json()["status"] == "ok"
        report = (await central.until(f"{ROOT}/report/daily")).json()
        await central.until(lambda m: m.topic == f"{ROOT}/audit" and m.json()["module"] == "cmd/report_daily")

    jsonschema.validate(report, json_schema("report-daily"))
    assert {line["device_id"] for line in report["devices"]} == {"_cabinet", "cam1"}
    audits = [m.json() for m in central.messages(f"{ROOT}/audit")]
    for record in audits:
        jsonschema.validate(record, json_schema("audit"))
    assert [r["module"] for r in audits] == [
        "config",
        *(f"cmd/{name}" for name, _, _ in BAD),
        "cmd/maintenance_start",
        "cmd/report_daily",
    ]  # ping is read-only: not audited
    refused = len(BAD)
    assert [r["result"] for r in audits[1 : 1 + refused]] == [f"error: {code}" for _, _, code in BAD]
    assert audits[1 + refused]["operator"] == "ops1" and audits[1 + refused]["target"] is None
    assert [r["n"] for r in audits] == list(range(1, len(audits) + 1))
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in pairwise(audits))
    assert any(m.json()["type"] == "maintenance_started" for m in central.messages(f"{ROOT}/event"))

    assert cli_main(["audit", "verify", "--config", str(config)]) == 0
    current = tmp_path / "data" / "audit" / "current.jsonl"
    lines = current.read_text().splitlines(keepends=True)
    current.write_text("".join(lines[:2] + lines[3:]))  # someone deletes a refused command's record
    assert cli_main(["audit", "verify", "--config", str(config)]) == 1
    assert "records missing" in capsys.readouterr().err
    assert cli_main(["report", "--config", str(config), "--date", report["day"], "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("day,device_id,kind,state_now")


def _cause(device_id: str, state: str, cause: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    def matches(message) -> bool:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
        if message.topic != f"{ROOT}/device/{device_id}/state":
            return False
        body = message.json()
        return bool(body["state"] == state and body["cause"] == cause)

    return matches


def test_mains_evidence_attributes_outages_and_the_dead_window_after_kill_9(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _script(data, "meter", values={"mains_present": True})
    _script(data, "cam1", values={"up": True})
    devices = [
        {"type": "script", "device_id": "meter", "poll_interval_s": 0.2},
        {"type": "script", "device_id": "cam1", "poll_interval_s": 0.2, "offline_after_failures": 1},
    ]
    config = write_config(tmp_path, port=broker.port, devices=devices)
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    with AgentProcess(config) as agent:
        central.wait_for(_cause("cam1", "ok", None), timeout=15)  # type: ignore[arg-type]  # a test double or a deliberately wrong value
        _script(data, "cam1", fail=True, error="no route to camera")
        central.wait_for(_cause("cam1", "offline", "device"))
        _script(data, "meter", values={"mains_present": False})
        central.wait_for(_cause("cam1", "offline", "power_supply"))  # cause corrected by the evidence
        event = central.wait_for(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "cause_attributed"
        )
        assert event.json()["cause"] == "power_supply"
        central.wait_for(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "cabinet_outage_started"
        )
        agent.kill()
    central.clear()
    time.sleep(DARK_S)  # the scenario: the cabinet stays dark this long (nothing to wait for)
    with AgentProcess(config) as agent:
        window = central.wait_for(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "outage_attributed", timeout=15
        ).json()
        assert window["cause"] == "power_supply" and window["detail"]["state"] == "offline"
        # From the last liveness mark (at most one interval before the kill) to the new process.
        assert DARK_S <= window["detail"]["seconds"] <= DARK_S + HealthConfig().heartbeat_interval_s + 1
        assert agent.terminate() == 0


async def test_repeat_fault_recommends_replacement_on_the_second_recurrence(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    fault = {"code": "sd_error", "severity": "critical"}
    _script(data, "cam1", values={"up": True})
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/event"])
    central.wait_connected()
    devices = [{"type": "script", "device_id": "cam1", "poll_interval_s": 0.1}]
    config = write_config(tmp_path, port=broker.port, devices=devices)

    def fault_event(kind: str, count: int):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
        return lambda _m: sum(m.json()["type"] == kind for m in central.messages(f"{ROOT}/event")) >= count

    async with running_agent(config):
        for round_ in (1, 2, 3):  # first occurrence, first recurrence, second recurrence
            _script(data, "cam1", values={"up": True}, faults=[fault])
            await central.until(fault_event("fault_raised", round_))
            if round_ < 3:
                assert not any(m.json()["type"] == "replace_recommended" for m in central.messages())
                _script(data, "cam1", values={"up": True})
                await central.until(fault_event("fault_cleared", round_))
        await central.until(fault_event("replace_recommended", 1))
    replace = next(m.json() for m in central.messages() if m.json()["type"] == "replace_recommended")
    assert replace["device_id"] == "cam1"
    assert replace["detail"] == {"code": "sd_error", "recurrences": 2}


def test_reload_config_validates_first_and_restarts_with_a_good_one(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    config = write_config(tmp_path, port=broker.port, devices=[{"type": "script", "device_id": "cam1"}])
    good_text = config.read_text()
    with AgentProcess(config) as agent:
        birth = central.wait_for(lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online", 15)
        config.write_text(good_text.replace("device_id: cam1", "device_id: cam1\n  polling: fast"))
        central.publish(f"{ROOT}/cmd/reload_config", _request("bad", "ops1"))
        refused = central.wait_for(_reply("bad")).json()
        assert refused["error"]["code"] == "invalid_config"
        assert "devices[cam1].polling: unknown key" in refused["error"]["message"]
        central.publish(f"{ROOT}/cmd/ping", _request("still", "ops1"))
        central.wait_for(_reply("still"))  # the running config stays in place

        config.write_text(good_text.replace("site: test bench", "site: test bench 2"))
        central.clear()
        central.publish(f"{ROOT}/cmd/reload_config", _request("good", "ops1"))
        accepted = central.wait_for(_reply("good")).json()
        assert accepted["data"]["changed"] is True
        reborn = central.wait_for(
            lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online", 15
        ).json()
        assert reborn["site"] == "test bench 2" and reborn["boot_id"] != birth.json()["boot_id"]
        assert reborn["config_hash"] == accepted["data"]["config_hash"]
        central.wait_for(lambda m: m.topic == f"{ROOT}/audit" and m.json()["module"] == "config")
        assert agent.terminate() == 0
    audits = [m.json() for m in central.messages(f"{ROOT}/audit")]
    assert [r["module"] for r in audits] == ["cmd/reload_config", "config"]


async def test_a_maintenance_window_ending_while_the_device_is_down_publishes_the_new_cause(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _script(data, "cam1", values={"up": True})
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    devices = [{"type": "script", "device_id": "cam1", "poll_interval_s": 0.2, "offline_after_failures": 1}]
    config = write_config(tmp_path, port=broker.port, devices=devices, health={"heartbeat_interval_s": 1})
    async with running_agent(config):
        await central.until(_cause("cam1", "ok", None), timeout=15)
        await central.apublish(
            f"{ROOT}/cmd/maintenance_start",
            _request("m1", "ops1", device_ids=["cam1"], duration_s=2, reason="test"),
        )
        assert (await central.until(_reply("m1"))).json()["status"] == "ok"
        _script(data, "cam1", fail=True, error="lens removed")
        await central.until(_cause("cam1", "offline", "maintenance"))
        # Nobody polls anything new: the window's end (a timer) alone changes the cause, published.
        await central.until(_cause("cam1", "offline", "device"), timeout=10)
        event = await central.until(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "cause_attributed"
        )
        assert event.json()["detail"] == {"previous_cause": "maintenance"}
