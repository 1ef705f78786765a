"""Outbox quota: with the broker away, telemetry is thinned to stay within the quota; events never."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.agent import running_agent, wait_until, write_config
from support.sequence import assert_complete_sequence

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
QUOTA = 2**20  # the smallest quota the config allows


async def test_quota_thins_telemetry_and_keeps_every_event(
    broker_factory, subscriber_factory, tmp_path: Path
) -> None:
    # Central's persistent session is on the broker before the outage, so nothing is missed on return.
    broker = broker_factory(persistence=True)
    central = subscriber_factory(
        broker.host, broker.port, [f"{ROOT}/#"], client_id="central", persistent_session=True
    )
    central.wait_connected()
    broker.stop()
    heavy = {
        "type": "pulse",
        "device_id": "pulse",
        "poll_interval_s": 0.002,
        "padding_bytes": 2000,
        "telemetry": {"full_refresh_s": 3600},
    }
    config = write_config(
        tmp_path, port=broker.port, devices=[heavy], storage={"data_dir": "data", "outbox_max_bytes": QUOTA}
    )
    async with running_agent(config) as agent:
        # No broker yet: everything piles up in the outbox until it must be thinned, more than once.
        await wait_until(lambda: agent.outbox.stats().thinned_total > 1000, timeout=60)
        pulses = agent.pollers["pulse"].count  # type: ignore[attr-defined]  # an attribute of the concrete class behind a base-typed handle
        stats = agent.outbox.stats()
        assert stats.stored_bytes <= QUOTA * 1.1  # within the quota, give or take one batch of events
        # The quota bounds the whole data dir: outbox, its WAL, the ledger and its WAL, the rest.
        used = _tree_bytes(tmp_path / "data")
        print(f"data dir {used} bytes on disk for a quota of {QUOTA}")
        assert used <= QUOTA * 1.5, sorted((p.name, p.stat().st_size) for p in (tmp_path / "data").rglob("*"))

        broker.restart()
        await central.until(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "outbox_telemetry_thinned",
            timeout=30,
        )
        await central.until(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["detail"].get("n", 0) >= pulses, timeout=60
        )
    report = assert_complete_sequence(central.messages())
    assert report.first == 1  # from agent_started on, not one event lost
    telemetry = central.messages(f"{ROOT}/device/pulse/telemetry")
    assert 0 < len(telemetry) < pulses  # telemetry was thinned


def _tree_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
