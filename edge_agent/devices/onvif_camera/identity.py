"""The camera's identity as last seen, kept on disk so a firmware change made while the agent was
down is still reported as an event at the next start."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from edge_agent.readings import DeviceEvent

log = logging.getLogger(__name__)


class IdentityStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: dict[str, str] = {}

    async def load(self) -> None:
        self.current = await asyncio.to_thread(self._read)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable camera identity file %s: %s", self.path, exc)
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    async def update(self, identity: dict[str, str]) -> DeviceEvent | None:
        """Remember `identity`; a `camera_firmware_changed` event if the firmware moved."""
        previous = self.current
        if identity == previous:
            return None
        self.current = dict(identity)
        await asyncio.to_thread(self._write)
        old, new = previous.get("firmware"), identity.get("firmware")
        if old and new and old != new:
            return DeviceEvent(
                "camera_firmware_changed", "info", {"from": old, "to": new, "model": identity.get("model")}
            )
        return None

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.current, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)
