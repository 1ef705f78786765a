"""Scripted device kinds for the test suite, loaded through EDGE_AGENT_PLUGINS=support.kinds.

`pulse`: every poll emits one `pulse` event (a steady producer of sequenced messages) and a counter.
`hang`: every poll waits forever, like a device that accepted the connection and never answers.
`script`: each poll reads `<data_dir>/script-<device_id>.json` ({"fail": bool, "faults": [...],
"values": {...}}), so a test can change a device's behaviour while the agent runs, even in
another process.
"""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from pydantic import Field

from edge_agent.devices.base import DeviceConfig, DeviceKind, Poller
from edge_agent.errors import DeviceUnreachable
from edge_agent.readings import DeviceEvent, Fault, PollResult, Value


class PulseConfig(DeviceConfig):
    type: Literal["pulse"]
    events_per_poll: int = Field(1, ge=0, le=1000)
    padding_bytes: int = Field(0, ge=0, description="Size of a changing text value, to make telemetry heavy.")


class HangConfig(DeviceConfig):
    type: Literal["hang"]


class ScriptConfig(DeviceConfig):
    type: Literal["script"]


class PulsePoller(Poller[PulseConfig]):
    count = 0

    async def poll(self) -> PollResult:
        events = []
        for _ in range(self.config.events_per_poll):
            self.count += 1
            events.append(DeviceEvent(type="pulse", severity="info", detail={"n": self.count}))
        values: dict[str, Value] = {"count": self.count}
        if self.config.padding_bytes:
            values["padding"] = f"{self.count:08d}".ljust(self.config.padding_bytes, "x")
        return PollResult(values=values, events=events)


class HangPoller(Poller[HangConfig]):
    async def poll(self) -> PollResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class ScriptPoller(Poller[ScriptConfig]):
    async def poll(self) -> PollResult:
        path = self.context.data_dir / f"script-{self.config.device_id}.json"
        script = json.loads(path.read_text()) if path.exists() else {}
        if script.get("fail"):
            raise DeviceUnreachable(script.get("error", "scripted failure"), cause=script.get("cause"))
        faults = [
            Fault(f["code"], f["severity"], f.get("message", f["code"])) for f in script.get("faults", [])
        ]
        return PollResult(values=script.get("values", {"up": True}), faults=faults)


PULSE = DeviceKind("pulse", PulseConfig, "support.kinds:PulsePoller")
HANG = DeviceKind("hang", HangConfig, "support.kinds:HangPoller")
SCRIPT = DeviceKind("script", ScriptConfig, "support.kinds:ScriptPoller")
KINDS = (PULSE, HANG, SCRIPT)
