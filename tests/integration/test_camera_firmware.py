"""Camera firmware upgrades through a running agent: 6 simulated ONVIF cameras over real HTTP,
commands and events on a real broker, results in the audit log."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from camera_sim import PASSWORD, camera_fields, start_camera
from support.agent import running_agent
from support.mosquitto import Broker
from support.subscriber import Received, Subscriber

from edge_agent.runtime.agent import Agent
from edge_agent.simulators.onvif_camera.firmware import make_image
from edge_agent.simulators.onvif_camera.server import CameraSimulator

pytestmark = pytest.mark.integration

CABINET = "cab-fw-01"
ROOT = f"edge/v1/{CABINET}"
OLD = "V5.7.3 build 220112"
NEW = "V5.8.0 build 241001"
IMAGE = "cam-fw-5.8.0.bin"
REBOOT_S = 1.0  # the simulated firmware reboot, short to keep the tests fast


class Cabinet:
    """Six cameras behind one agent, an image in its firmware folder, a subscriber on everything."""

    def __init__(self, agent: Agent, cameras: dict[str, CameraSimulator], subscriber: Subscriber, data: Path):
        self.agent, self.cameras, self.subscriber, self.data = agent, cameras, subscriber, data
        self.sha256 = hashlib.sha256((data / "firmware" / IMAGE).read_bytes()).hexdigest()

    async def command(self, name: str, transaction: str, **args: Any) -> dict[str, Any]:
        request = json.dumps({"transaction": transaction, "operator": "tech-anna", "args": args})
        await asyncio.to_thread(self.subscriber.publish, f"{ROOT}/cmd/{name}", request)
        reply = await asyncio.to_thread(
            self.subscriber.wait_for,
            lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == transaction,
            45.0,
        )
        document: dict[str, Any] = reply.json()
        return document

    async def event(self, type_: str, device_id: str) -> dict[str, Any]:
        """Wait for an event: events leave through the outbox, maybe after the command's reply."""
        message = await asyncio.to_thread(
            self.subscriber.wait_for,
            lambda m: (
                m.topic == f"{ROOT}/event"
                and m.json()["type"] == type_
                and m.json()["device_id"] == device_id
            ),
            10.0,
        )
        event: dict[str, Any] = message.json()
        return event

    def events(self, *types: str) -> list[dict[str, Any]]:
        found = [m.json() for m in self.subscriber.messages(f"{ROOT}/event")]
        return [event for event in found if not types or event["type"] in types]

    def audit(self, module: str) -> list[dict[str, Any]]:
        lines = (self.data / "audit" / "current.jsonl").read_text().splitlines()
        return [record for record in map(json.loads, lines) if record["module"] == module]


async def start_cabinet(
    stack: AsyncExitStack,
    tmp_path: Path,
    broker: Broker,
    subscriber_factory: Callable[..., Subscriber],
    states: dict[str, str] | None = None,
    **sections: Any,
) -> Cabinet:
    subscriber = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    await asyncio.to_thread(subscriber.wait_connected)
    cameras = {}
    for number in range(1, 7):
        device_id = f"cam-{number}"
        state = (states or {}).get(device_id, "healthy")
        cameras[device_id] = await start_camera(stack, state, reboot_s=REBOOT_S)
    (tmp_path / "cam.pass").write_text(PASSWORD + "\n")
    data = tmp_path / "data"
    (data / "firmware").mkdir(parents=True)
    (data / "firmware" / IMAGE).write_bytes(make_image(NEW, 256 * 1024))
    document = {
        "cabinet": {"id": CABINET},
        "mqtt": {"host": broker.host, "port": broker.port},
        "storage": {"data_dir": str(data)},
        "devices": [
            camera_fields(camera, device_id, password={"file": "cam.pass"}, poll_interval_s=1)
            for device_id, camera in cameras.items()
        ],
        **sections,
    }
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(document))
    agent = await stack.enter_async_context(running_agent(tmp_path / "agent.yaml"))
    for device_id in cameras:  # pre wants a healthy camera: wait until each was seen whole
        await asyncio.to_thread(subscriber.wait_for, state_is(device_id, "ok"), 20.0)
    return Cabinet(agent, cameras, subscriber, data)


def state_is(device_id: str, state: str) -> Callable[[Received], bool]:
    topic = f"{ROOT}/device/{device_id}/state"
    return lambda message: message.topic == topic and message.json()["state"] == state


async def test_six_cameras_in_batches_of_two(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    cabinet = await start_cabinet(stack, tmp_path, broker, subscriber_factory)
    device_ids = list(cabinet.cameras)
    reply = await cabinet.command(
        "camera_firmware_batch",
        "fw-all",
        device_ids=device_ids,
        batch_size=2,
        image=IMAGE,
        sha256=cabinet.sha256,
        expected_version=NEW,
        timeout_s=20,
    )
    assert reply["status"] == "ok", reply
    data = reply["data"]
    assert data["batches"] == [["cam-1", "cam-2"], ["cam-3", "cam-4"], ["cam-5", "cam-6"]]
    assert data["stopped_at_batch"] is None and data["untouched"] == []
    for device_id, camera in cabinet.cameras.items():
        assert data["results"][device_id] == {
            "status": "succeeded",
            "reason": "",
            "from_version": OLD,
            "to_version": NEW,
        }
        assert camera.state.firmware == NEW
        assert [(u.sha256, u.accepted) for u in camera.uploads] == [(cabinet.sha256, True)]
        await cabinet.event("firmware_upgrade_succeeded", device_id)
    check_event_order(cabinet, device_ids)
    records = cabinet.audit("firmware/camera_upgrade")
    assert sorted(r["target"] for r in records) == device_ids
    assert all(r["result"] == "ok" and r["operator"] == "tech-anna" for r in records)
    assert [r["result"] for r in cabinet.audit("cmd/camera_firmware_batch")] == ["ok"]
    # The agent's own view follows: the identity check reports the new version.
    telemetry = await asyncio.to_thread(
        cabinet.subscriber.wait_for,
        lambda m: m.topic == f"{ROOT}/device/cam-6/telemetry" and m.json()["values"].get("firmware") == NEW,
        15.0,
    )
    assert telemetry.json()["values"]["firmware"] == NEW


def check_event_order(cabinet: Cabinet, device_ids: list[str]) -> None:
    """Per camera: started, progress..., succeeded; a batch starts only after the one before ended."""
    events = cabinet.events(
        "firmware_upgrade_started", "firmware_upgrade_progress", "firmware_upgrade_succeeded"
    )
    for device_id in device_ids:
        mine = [e["type"] for e in events if e["device_id"] == device_id]
        assert mine[0] == "firmware_upgrade_started" and mine[-1] == "firmware_upgrade_succeeded"
        assert set(mine[1:-1]) == {"firmware_upgrade_progress"} and len(mine) >= 4, mine
    seq = {(e["device_id"], e["type"]): e["seq"] for e in events}
    for earlier, later in (("cam-2", "cam-3"), ("cam-1", "cam-4"), ("cam-4", "cam-5")):
        assert seq[(earlier, "firmware_upgrade_succeeded")] < seq[(later, "firmware_upgrade_started")]


async def test_a_camera_rebooting_onto_new_firmware_is_not_reported_offline(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    """Its polling is paused during the upgrade: one failed poll would count it offline (the
    cameras poll every second, offline after one failure, and the reboot takes a second)."""
    cabinet = await start_cabinet(stack, tmp_path, broker, subscriber_factory)
    reply = await cabinet.command(
        "camera_firmware_upgrade",
        "fw-one",
        device_id="cam-1",
        image=IMAGE,
        sha256=cabinet.sha256,
        expected_version=NEW,
        timeout_s=20,
    )
    assert reply["status"] == "ok", reply
    # Polled again after the upgrade: the new version shows at once (the identity is read again).
    await asyncio.to_thread(
        cabinet.subscriber.wait_for,
        lambda m: m.topic == f"{ROOT}/device/cam-1/telemetry" and m.json()["values"].get("firmware") == NEW,
        15.0,
    )
    states = [m.json()["state"] for m in cabinet.subscriber.messages(f"{ROOT}/device/cam-1/state")]
    assert states[states.index("ok") :] == ["ok"] * len(states[states.index("ok") :]), states


async def test_bad_digest_refused_before_any_upload(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    cabinet = await start_cabinet(stack, tmp_path, broker, subscriber_factory)
    wrong = hashlib.sha256(b"another image").hexdigest()
    reply = await cabinet.command(
        "camera_firmware_upgrade",
        "fw-bad",
        device_id="cam-1",
        image=IMAGE,
        sha256=wrong,
        expected_version=NEW,
        timeout_s=20,
    )
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "firmware_refused"
    assert "image_digest" in reply["error"]["message"]
    camera = cabinet.cameras["cam-1"]
    assert camera.uploads == [] and camera.calls["StartFirmwareUpgrade"] == 0
    assert camera.state.firmware == OLD
    await cabinet.event("firmware_upgrade_failed", "cam-1")
    failed = cabinet.events("firmware_upgrade_failed")
    assert [(e["device_id"], e["detail"]["status"]) for e in failed] == [("cam-1", "refused")]
    [record] = cabinet.audit("firmware/camera_upgrade")
    assert record["result"] == "error: refused" and record["params"]["phases"][0]["hook"] == "camera/pre"
    assert [r["result"] for r in cabinet.audit("cmd/camera_firmware_upgrade")] == ["error: firmware_refused"]
    assert not cabinet.events("fault_raised")  # nothing was changed: nothing to recover


async def test_declared_busy_period_refuses(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    now = datetime.now(UTC)
    window = {"start": f"{now - timedelta(hours=1):%H:%M}", "end": f"{now + timedelta(hours=1):%H:%M}"}
    busy = {"busy_periods": [{**window, "reason": "school run"}]}
    cabinet = await start_cabinet(stack, tmp_path, broker, subscriber_factory, firmware=busy)
    reply = await cabinet.command(
        "camera_firmware_batch",
        "fw-busy",
        device_ids=["cam-1", "cam-2"],
        batch_size=2,
        image=IMAGE,
        sha256=cabinet.sha256,
        expected_version=NEW,
    )
    assert reply["error"]["code"] == "firmware_batch_stopped"
    assert reply["error"]["message"] == "stopped at batch 1: cam-1: refused; cam-2: refused; untouched: none"
    assert all(camera.calls["StartFirmwareUpgrade"] == 0 for camera in cabinet.cameras.values())
    phases = [r["params"]["phases"] for r in cabinet.audit("firmware/camera_upgrade")]
    assert all("school run" in phase[0]["summary"] for phase in phases) and len(phases) == 2


async def test_camera_that_never_returns_stops_the_batch(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    cabinet = await start_cabinet(
        stack, tmp_path, broker, subscriber_factory, states={"cam-3": "firmware_stays_down"}
    )
    reply = await cabinet.command(
        "camera_firmware_batch",
        "fw-down",
        device_ids=list(cabinet.cameras),
        batch_size=2,
        image=IMAGE,
        sha256=cabinet.sha256,
        expected_version=NEW,
        timeout_s=4,
    )
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "firmware_batch_stopped"
    assert reply["error"]["message"].startswith("stopped at batch 2: cam-3: manual_recovery_needed")
    assert reply["error"]["message"].endswith("untouched: cam-5, cam-6")
    firmware = {device_id: camera.state.firmware for device_id, camera in cabinet.cameras.items()}
    assert firmware == {"cam-1": NEW, "cam-2": NEW, "cam-3": OLD, "cam-4": NEW, "cam-5": OLD, "cam-6": OLD}
    for untouched in ("cam-5", "cam-6"):
        assert cabinet.cameras[untouched].uploads == []
        assert cabinet.cameras[untouched].calls["StartFirmwareUpgrade"] == 0
    await cabinet.event("firmware_upgrade_failed", "cam-3")
    await cabinet.event("fault_raised", "cam-3")
    [fault] = [e for e in cabinet.events("fault_raised") if e["device_id"] == "cam-3"]
    assert fault["detail"]["code"] == "manual_recovery_needed" and fault["severity"] == "critical"
    failed = [e for e in cabinet.events("firmware_upgrade_failed")]
    assert [(e["device_id"], e["detail"]["status"]) for e in failed] == [("cam-3", "manual_recovery_needed")]
    state = await asyncio.to_thread(
        cabinet.subscriber.wait_for,
        lambda m: (
            m.topic == f"{ROOT}/device/cam-3/state"
            and any(f["code"] == "manual_recovery_needed" for f in m.json()["faults"])
        ),
        10.0,
    )
    assert state.json()["state"] in ("offline", "fault")
    results = {r["target"]: r["result"] for r in cabinet.audit("firmware/camera_upgrade")}
    assert results == {"cam-1": "ok", "cam-2": "ok", "cam-3": "error: manual_recovery_needed", "cam-4": "ok"}


async def test_batch_from_the_cabinet_command_line(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    """What deploy/ansible/camera-firmware.yml does: `edge-agent command` through the local socket."""
    cabinet = await start_cabinet(stack, tmp_path, broker, subscriber_factory)
    args = {
        "device_ids": ["cam-1", "cam-2", "cam-3"],
        "batch_size": 2,
        "image": IMAGE,
        "sha256": cabinet.sha256,
        "expected_version": NEW,
        "timeout_s": 20,
    }
    argv = ["command", "camera_firmware_batch", "--data-dir", str(cabinet.data), "--args", json.dumps(args)]
    code, out = await edge_agent_cli(*argv, "--operator", "ansible")
    assert code == 0, out
    reply = json.loads(out)
    assert reply["status"] == "ok" and reply["data"]["batches"] == [["cam-1", "cam-2"], ["cam-3"]]
    assert [cabinet.cameras[d].state.firmware for d in ("cam-1", "cam-2", "cam-3", "cam-4")] == [NEW] * 3 + [
        OLD
    ]
    [record] = cabinet.audit("cmd/camera_firmware_batch")
    assert (record["source"], record["operator"], record["result"]) == ("cli", "ansible", "ok")
    code, out = await edge_agent_cli(*argv)  # no operator: refused, as on MQTT
    assert code == 1 and json.loads(out)["error"]["code"] == "missing_operator"
    reader, writer = await asyncio.open_unix_connection(str(cabinet.data / "command.sock"))
    writer.write(b"\xff garbage\n")
    answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
    writer.close()
    assert answer["error"]["code"] == "malformed_json"


async def edge_agent_cli(*argv: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge_agent", *argv, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode()
