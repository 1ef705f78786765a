"""Relay actions in a running agent, on gpiozero's mock pins: auto power-cycle recovers a hung
simulated camera, the door switch raises a tamper alarm outside maintenance, bad requests actuate nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from camera_sim import PASSWORD, camera_fields, start_camera
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from support.agent import running_agent, write_config

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
RELAY_PIN, DOOR_PIN = 17, 27


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    """gpiozero's mock pin factory, as GPIOZERO_PIN_FACTORY=mock gives; fresh pins per test."""
    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = previous


def _event(kind: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    return lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == kind


def _state(device_id: str, state: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    return lambda m: m.topic == f"{ROOT}/device/{device_id}/state" and m.json()["state"] == state


async def test_auto_power_cycle_recovers_a_hung_camera(
    broker, subscriber_factory, tmp_path: Path, pins: MockFactory
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    (tmp_path / "cam.pass").write_text(PASSWORD)
    # off_time_s 5.5: the simulator samples its pin every 50 ms and wants >= 5 s off, strictly
    async with AsyncExitStack() as stack:
        camera = await start_camera(stack, "hung")
        cam = camera_fields(camera, "cam1", password={"file": "cam.pass"}, poll_interval_s=0.5)
        actions = {
            "relays": [{"device_id": "cam1", "gpio": {"pin": RELAY_PIN}, "off_time_s": 5.5}],
            "auto_power_cycle": {
                "enabled": True,
                "offline_for_s": 1,
                "max_per_day": 2,
                "check_interval_s": 0.2,
            },
        }
        config = write_config(tmp_path, port=broker.port, devices=[cam], actions=actions)
        async with running_agent(config) as agent:
            follower = asyncio.create_task(camera.follow_pin(pins.pin(RELAY_PIN)))
            try:
                await central.until(_state("cam1", "offline"), timeout=20)
                started = await central.until(_event("power_cycle_started"), timeout=20)
                assert started.json()["detail"]["operator"] == "auto-recovery"
                await central.until(_event("power_cycle_done"), timeout=20)
                await central.until(_state("cam1", "ok"), timeout=30)
            finally:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
            assert camera.power_cycles == 1 and agent.power.cycles_today("cam1") == 1
        audit = [m.json() for m in central.messages(f"{ROOT}/audit")]
        assert [(r["module"], r["operator"], r["result"]) for r in audit][-1] == (
            "power_cycle",
            "auto-recovery",
            "ok",
        )


def _request(transaction: str, operator: str | None, **args: Any) -> bytes:
    body: dict[str, Any] = {"transaction": transaction, "args": args}
    if operator:
        body["operator"] = operator
    return json.dumps(body).encode()


async def test_door_tamper_alarm_and_refused_power_cycles(
    broker, subscriber_factory, tmp_path: Path, pins: MockFactory
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    devices = [{"type": "script", "device_id": "cam1"}, {"type": "script", "device_id": "cam2"}]
    actions = {"relays": [{"device_id": "cam1", "gpio": {"pin": RELAY_PIN}}], "door": {"pin": DOOR_PIN}}
    config = write_config(tmp_path, port=broker.port, devices=devices, actions=actions)
    async with running_agent(config):
        await central.until(lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online")
        relay = pins.pin(RELAY_PIN)
        assert relay.state == 1  # power on from the start
        pins.pin(DOOR_PIN).drive_high()
        await central.until(_event("door_opened"))
        assert (await central.until(_event("tamper_alarm"))).json()["severity"] == "critical"
        pins.pin(DOOR_PIN).drive_low()
        await central.until(_event("door_closed"))
        await central.apublish(
            f"{ROOT}/cmd/maintenance_start", _request("m", "tech", duration_s=600, reason="relay test")
        )
        await central.until(lambda m: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == "m")
        central.clear()
        pins.pin(DOOR_PIN).drive_high()
        assert (await central.until(_event("door_opened"))).json()["detail"]["maintenance"] is True

        for transaction, operator, args, code in [
            ("x1", "ops1", {"device_id": "nope"}, "unknown_device"),
            ("x2", "ops1", {"device_id": "cam2"}, "relay_not_configured"),
            ("x3", None, {"device_id": "cam1"}, "missing_operator"),
        ]:
            await central.apublish(f"{ROOT}/cmd/power_cycle", _request(transaction, operator, **args))
            reply = await central.until(
                lambda m, t=transaction: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == t
            )
            assert reply.json()["error"]["code"] == code
        for transaction, operator, args, code in [
            ("r1", "ops1", {"device_id": "nope"}, "unknown_device"),
            ("r2", "ops1", {"device_id": "cam2"}, "unsupported_action"),
        ]:
            await central.apublish(f"{ROOT}/cmd/device_soft_reset", _request(transaction, operator, **args))
            reply = await central.until(
                lambda m, t=transaction: m.topic == f"{ROOT}/cmd-reply" and m.json()["transaction"] == t
            )
            assert reply.json()["error"]["code"] == code
        assert relay.state == 1
    assert not any(m.json()["type"] == "tamper_alarm" for m in central.messages(f"{ROOT}/event"))
    assert not any(m.json()["type"] == "power_cycle_started" for m in central.messages(f"{ROOT}/event"))


async def test_hardware_actions_disabled_on_the_cabinet(
    broker, subscriber_factory, tmp_path: Path, pins: MockFactory
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/cmd-reply", f"{ROOT}/status"])
    central.wait_connected()
    devices = [{"type": "script", "device_id": "cam1"}]
    actions = {"relays": [{"device_id": "cam1", "gpio": {"pin": RELAY_PIN}}]}
    config = write_config(
        tmp_path, port=broker.port, devices=devices, actions=actions, commands={"hardware_actions": False}
    )
    async with running_agent(config):
        await central.until(lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online")
        await central.apublish(f"{ROOT}/cmd/power_cycle", _request("d1", "ops1", device_id="cam1"))
        reply = await central.until(
            lambda m: m.topic.endswith("cmd-reply") and m.json()["transaction"] == "d1"
        )
        assert reply.json()["error"]["code"] == "disabled"
        assert pins.pin(RELAY_PIN).state == 1
