"""Every transport enters the dispatcher the same way: its `source` reaches the events and the
audit record, and a flood gets the same answer on the page and on the local socket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.actions.config import RelayConfig
from edge_agent.actions.power import PowerCycler
from edge_agent.audit import AuditLog, Source
from edge_agent.commands.context import CommandContext, Services
from edge_agent.commands.dispatcher import FLOODED, Dispatcher
from edge_agent.diagnostics import actions
from edge_agent.health.tracker import DeviceHealth
from edge_agent.local.command_socket import CommandSocket
from edge_agent.readings import utc_now
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState


class FakeRelay:
    async def power(self, on: bool) -> None:
        return None

    async def close(self) -> None:
        return None


class RecordingEmitter:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def event(self, type: str, *, detail: dict[str, Any] | None = None, **_: Any) -> None:
        self.events.append((type, detail or {}))


async def _no_sleep(_seconds: float) -> None:
    return None


def _dispatcher(tmp_path: Path, emitter: RecordingEmitter) -> tuple[Dispatcher, AuditLog]:
    audit = AuditLog(tmp_path / "audit")
    relay = RelayConfig.model_validate({"device_id": "cam1", "gpio": {"pin": 17}})
    power = PowerCycler(
        [relay], emitter=emitter, tz=ZoneInfo("UTC"), make=lambda _c: FakeRelay(), sleep=_no_sleep,  # type: ignore[arg-type]  # a recording emitter
    )  # fmt: skip
    power.open()
    live = LiveState()
    health = DeviceHealth(state="ok", since=utc_now())
    live.devices["cam1"] = DeviceSnapshot("cam1", "onvif_camera", None, health)

    def make_context(operator: str | None, source: Source) -> CommandContext:
        async def resend() -> None:
            return None

        services = Services(power=power, audit=audit)
        return CommandContext("cab", operator, live, emitter, {}, dict, resend, services, source)  # type: ignore[arg-type]  # a recording emitter

    dispatcher = Dispatcher(
        max_payload_bytes=4096, disabled=frozenset(), make_context=make_context, audit=audit
    )
    return dispatcher, audit


async def test_a_power_cycle_from_the_page_says_web_in_its_event_and_its_audit(tmp_path: Path) -> None:
    emitter = RecordingEmitter()
    dispatcher, audit = _dispatcher(tmp_path, emitter)
    view: Any = type("View", (), {"commands": dispatcher})()
    spec = actions.ACTIONS["power_cycle"]
    reply = await actions.run(view, spec, operator="tech", args={"device_id": "cam1"})
    assert reply["status"] == "ok", reply
    started = [detail for kind, detail in emitter.events if kind == "power_cycle_started"]
    assert [detail["source"] for detail in started] == ["web"]
    records = await audit.recent(10)
    assert [(r["source"], r["module"]) for r in records] == [("web", "cmd/power_cycle")]  # audited once


async def test_a_flood_answers_rate_limited_on_the_page_and_the_socket(tmp_path: Path) -> None:
    dispatcher, _audit = _dispatcher(tmp_path, RecordingEmitter())
    dispatcher._take_token = lambda: False  # type: ignore[method-assign]  # the bucket is empty: a flood
    view: Any = type("View", (), {"commands": dispatcher})()
    page = await actions.run(view, actions.ACTIONS["maintenance_start"], operator="tech", args={})
    assert (page["status"], page["error"]["code"]) == ("error", FLOODED[0])
    async with CommandSocket(tmp_path / "command.sock", dispatcher):
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "command.sock"))
        writer.write(json.dumps({"command": "ping", "transaction": "t1"}).encode() + b"\n")
        answer = json.loads(await reader.readline())
        writer.close()
    assert (answer["status"], answer["error"]["code"]) == ("error", "rate_limited")
    assert answer["transaction"] == "t1"
