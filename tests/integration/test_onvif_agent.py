"""Cameras in a running agent: states and telemetry on a real broker, isolation of a hung camera,
commands, and no camera password anywhere (logs, MQTT, live picture)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from camera_sim import PASSWORD, camera_fields, start_camera
from support.agent import running_agent
from support.mosquitto import Broker
from support.subscriber import Subscriber

from edge_agent.runtime.agent import Agent
from edge_agent.simulators.onvif_camera.server import CameraSimulator

pytestmark = pytest.mark.integration

CABINET = "cab-cam-01"
ROOT = f"edge/v1/{CABINET}"


async def run_agent(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, devices: list[dict[str, Any]]
) -> Agent:
    (tmp_path / "cam.pass").write_text(PASSWORD + "\n")
    (tmp_path / "wrong.pass").write_text("not-the-password\n")
    document = {
        "cabinet": {"id": CABINET},
        "mqtt": {"host": broker.host, "port": broker.port},
        "storage": {"data_dir": str(tmp_path / "data")},
        "logging": {"level": "DEBUG"},
        "devices": devices,
    }
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(document))
    agent = await stack.enter_async_context(running_agent(path))
    return agent


def state_of(subscriber: Subscriber, device_id: str, state: str) -> Callable[[Any], bool]:
    topic = f"{ROOT}/device/{device_id}/state"
    return lambda message: message.topic == topic and message.json()["state"] == state


async def wait_for(subscriber: Subscriber, predicate: Any) -> Any:
    return await asyncio.to_thread(subscriber.wait_for, predicate, 15.0)


def device(
    camera: CameraSimulator,
    device_id: str,
    password_file: str = "cam.pass",  # noqa: S107 - a file name
    **extra: Any,
) -> dict[str, Any]:
    return camera_fields(camera, device_id, password={"file": password_file}, poll_interval_s=1, **extra)


# device_id -> (scripted camera state, device settings, expected state, fault codes, telemetry subset)
BROKER_CASES: dict[str, tuple[str, dict[str, Any], str, list[str], dict[str, Any]]] = {
    "healthy": ("healthy", {"rtsp_probe": True}, "ok", [], {"sd_nominal_gb": 128, "rtsp_ok": True}),
    "missing-card": ("missing_card", {}, "fault", ["sd_missing"], {"sd_state": "missing"}),
    "small-card": ("small_card", {}, "fault", ["sd_too_small"], {"sd_nominal_gb": 32}),
    "full-card": ("full_card", {}, "degraded", ["sd_full"], {"sd_used_percent": 100.0}),
    "card-error": ("card_error", {}, "fault", ["sd_error"], {"sd_state": "error"}),
    "unformatted": ("unformatted_card", {}, "fault", ["sd_unformatted"], {"sd_state": "unformatted"}),
    "rec-stopped": ("recording_stopped", {}, "fault", ["recording_stopped"], {"recording_active": False}),
    "short-retention": (
        "short_retention",
        {"link": "wireless"},
        "fault",
        ["retention_short"],
        {"retention_days": 1.2},
    ),
    "skewed": ("skewed_clock", {}, "fault", ["clock_drift"], {"manufacturer": "HIKVISION"}),
    "no-profile-g": ("no_profile_g", {}, "unknown", [], {"sd_state": "ok"}),
    "no-video": ("no_video", {"rtsp_probe": True}, "fault", ["stream_unavailable"], {"rtsp_ok": False}),
    "wrong-password": ("healthy", {"password_file": "wrong.pass"}, "fault", ["auth_failed"], {}),
    "hung": ("hung", {"request_timeout_s": 1, "timeout_s": 3}, "offline", [], {}),
}


async def check_unknown_by_command(subscriber: Subscriber, device_id: str) -> None:
    values = (await wait_for(subscriber, f"{ROOT}/device/{device_id}/telemetry")).json()["values"]
    assert values["sd_state"] == "ok"
    assert "retention_days" not in values
    request = json.dumps({"transaction": f"status-{device_id}", "args": {}})
    await asyncio.to_thread(subscriber.publish, f"{ROOT}/cmd/get_status", request)
    reply = await wait_for(
        subscriber,
        lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == f"status-{device_id}",
    )
    status = reply.json()["data"]["devices"][device_id]
    assert status["state"] == "unknown"
    assert status["reason"] == "no evidence yet: retention"


async def test_every_scripted_state_on_the_broker(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    subscriber = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    await asyncio.to_thread(subscriber.wait_connected)
    devices = []
    for device_id, (state, settings, *_rest) in BROKER_CASES.items():
        camera = await start_camera(stack, state, vendor="dahua" if device_id == "missing-card" else None)
        devices.append(device(camera, device_id, **settings))
    await run_agent(stack, tmp_path, broker, devices)
    for device_id, (_state, _settings, expected, faults, telemetry) in BROKER_CASES.items():
        if expected == "unknown":  # never left the boot state, so no state change was published
            await check_unknown_by_command(subscriber, device_id)
            continue
        message = await wait_for(subscriber, state_of(subscriber, device_id, expected))
        assert [fault["code"] for fault in message.json()["faults"]] == faults, device_id
        if expected == "offline":
            assert message.json()["cause"] == "device"
            assert message.json()["reason"].startswith("timeout")
            continue
        values = (await wait_for(subscriber, f"{ROOT}/device/{device_id}/telemetry")).json()["values"]
        assert "clock_drift_s" in values
        for name, value in telemetry.items():
            assert values[name] == pytest.approx(value, abs=0.01), (device_id, name)
    skewed = subscriber.messages(f"{ROOT}/device/skewed/telemetry")[0].json()["values"]
    assert skewed["clock_drift_s"] == pytest.approx(900, abs=1.0)


async def test_hung_camera_does_not_delay_other_devices(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker
) -> None:
    hung = await start_camera(stack, "hung")
    healthy = await start_camera(stack, "healthy")
    agent = await run_agent(
        stack,
        tmp_path,
        broker,
        [
            # The hung camera's first poll cannot end within this test.
            device(hung, "cam-hung", request_timeout_s=30, timeout_s=60),
            {**device(healthy, "cam-fast"), "poll_interval_s": 0.2},
        ],
    )
    fast, slow = agent.live.devices["cam-fast"], agent.live.devices["cam-hung"]
    async with asyncio.timeout(20):
        async for device_id in agent.live.subscribe():
            if device_id == "cam-fast" and fast.polls_ok >= 5:
                break
    assert slow.polls_ok + slow.polls_failed == 0  # still inside its first poll
    assert fast.health.state == "ok"


async def test_commands_and_no_password_anywhere(
    stack: AsyncExitStack,
    tmp_path: Path,
    broker: Broker,
    subscriber_factory: Callable[..., Subscriber],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    subscriber = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    await asyncio.to_thread(subscriber.wait_connected)
    skewed = await start_camera(stack, "skewed_clock")
    locked = await start_camera(stack, "healthy")
    hostile = await start_camera(stack, "healthy", wire="external_entity")
    bomb = await start_camera(stack, "healthy", wire="xml_bomb")
    huge = await start_camera(stack, "healthy", wire="huge")
    agent = await run_agent(
        stack,
        tmp_path,
        broker,
        [
            device(skewed, "cam-skew", rtsp_probe=True),
            device(locked, "cam-locked", password_file="wrong.pass", rtsp_probe=True),
            device(hostile, "cam-hostile"),
            device(bomb, "cam-bomb"),
            device(huge, "cam-huge"),
        ],
    )
    await wait_for(subscriber, state_of(subscriber, "cam-skew", "fault"))
    await wait_for(subscriber, state_of(subscriber, "cam-locked", "fault"))
    for device_id, code in (("cam-hostile", "bad_xml"), ("cam-bomb", "bad_xml"), ("cam-huge", "too_large")):
        message = await wait_for(subscriber, state_of(subscriber, device_id, "offline"))
        assert message.json()["reason"].startswith(code)

    request = json.dumps({"transaction": "t-1", "operator": "ops1", "args": {"device_id": "cam-skew"}})
    await asyncio.to_thread(subscriber.publish, f"{ROOT}/cmd/camera_sync_time", request)
    reply = await wait_for(
        subscriber, lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == "t-1"
    )
    assert reply.json()["status"] == "ok", reply.json()
    await wait_for(subscriber, state_of(subscriber, "cam-skew", "ok"))
    status = json.dumps({"transaction": "t-2", "args": {}})
    await asyncio.to_thread(subscriber.publish, f"{ROOT}/cmd/get_status", status)
    await wait_for(subscriber, lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == "t-2")

    assert PASSWORD not in agent.config.model_dump_json()
    live = repr([vars(snapshot) for snapshot in agent.live.devices.values()])
    assert PASSWORD not in live
    for message in subscriber.messages():
        assert PASSWORD.encode() not in message.payload, message.topic
    assert caplog.records, "expected DEBUG logs to search"
    for record in caplog.records:
        assert PASSWORD not in record.getMessage(), record.name
    assert PASSWORD not in caplog.text
    assert "PasswordDigest" not in caplog.text  # nor what would allow guessing it offline
