"""What the agent keeps across restarts in the health ledger besides health: today's power-cycle
counts (so the daily cap survives an agent that keeps crashing) and the hash of the last config
(the first start with a new one writes an audit record)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from edge_agent.runtime.parts import Core, Hardware


@contextlib.asynccontextmanager
async def health_running(core: Core, hardware: Hardware) -> AsyncIterator[None]:
    """The health ledger is open while this is; the device loops run inside it (they write to it)."""
    await core.health.start(hardware.pollers)
    try:
        await audit_config_change(core)
        hardware.power.restore_counts(await core.health.swap_meta("power_cycles", None, keep=True))
        yield
    finally:
        await core.health.stop()


async def audit_config_change(core: Core) -> None:
    current = core.identity.config.config_hash()
    previous = await core.health.swap_meta("config_hash", current)
    if previous != current:
        await core.audit.record(None, "agent", "config", None, {"from": previous, "to": current}, "ok")
