"""A full data disk (issue 12, item 1): the agent keeps polling and reporting, holds what it cannot
store in memory, raises `storage_full` on the host once, and stores again when space returns.

The data dir is a small tmpfs (root only), filled with a file the test writes and deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.agent import AgentProcess, wait_until, write_config
from support.sequence import assert_complete_sequence

from edge_agent.runtime.outbox import NewMessage, Outbox

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
TMPFS_BYTES = 2 * 2**20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the suite runs as root)")
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path) -> Path:
    """Write until the disk refuses another byte; the file is the space a test can give back."""
    filler = directory / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 4096)
    return filler


def _pulses(central: object, after: int = 0) -> list[int]:
    return [
        m.json()["detail"]["n"]
        for m in central.messages(f"{ROOT}/event")  # type: ignore[attr-defined]  # a Subscriber, typed as object here
        if m.json()["type"] == "pulse" and m.json()["detail"]["n"] > after
    ]


async def test_full_disk_loses_nothing_and_recovers(
    broker_factory, subscriber_factory, small_disk: Path, tmp_path: Path
) -> None:
    broker = broker_factory(persistence=True)
    central = subscriber_factory(
        broker.host, broker.port, [f"{ROOT}/#"], client_id="central", persistent_session=True
    )
    central.wait_connected()
    broker.stop()
    devices = [
        {"type": "pulse", "device_id": "pulse", "poll_interval_s": 0.05},
        {"type": "host", "device_id": "host", "poll_interval_s": 0.2},
    ]
    config = write_config(
        tmp_path,
        port=broker.port,
        devices=devices,
        storage={"data_dir": str(small_disk), "outbox_max_bytes": 2**20},
    )
    with AgentProcess(config) as agent:
        agent.wait_log("device pulse", timeout=30)  # started and storing, broker still away
        filler = _fill(small_disk)
        agent.wait_log("storage full", timeout=30)
        assert agent.process is not None and agent.process.poll() is None
        await asyncio.sleep(
            2
        )  # let pulses pile up in memory: broker away, disk full (a duration, not a sync)

        broker.restart()  # while the disk is still full: reported live from memory
        await central.until(
            lambda m: m.topic == f"{ROOT}/device/host/state" and b"storage_full" in m.payload, timeout=30
        )
        seen = max(_pulses(central))
        await central.until(
            lambda m: m.topic == f"{ROOT}/event" and m.json()["detail"].get("n", 0) > seen + 20
        )

        filler.unlink()  # space returns
        agent.wait_log("storage available again", timeout=30)
        await central.until(
            lambda m: m.topic == f"{ROOT}/device/host/state" and b"storage_full" not in m.payload, timeout=30
        )
        assert agent.process is not None and agent.process.poll() is None
        assert agent.terminate() == 0
    assert agent.log_text().count("storage full") == 1, agent.log_text()[-3000:]
    assert "Traceback" not in agent.log_text()
    report = assert_complete_sequence(central.messages())
    assert report.first == 1
    pulses = _pulses(central)
    assert sorted(set(pulses)) == list(range(1, max(pulses) + 1))
    held = [
        m.json()["values"].get("outbox_held", 0) for m in central.messages(f"{ROOT}/device/host/telemetry")
    ]
    print(
        f"full disk: {report.unique} sequenced messages, {max(pulses)} pulses, none lost; "
        f"at most {max(held)} messages held in memory (host telemetry)"
    )


def _event(n: int) -> NewMessage:
    def build(message_id: str, seq: int | None) -> bytes:
        return json.dumps({"id": message_id, "seq": seq, "detail": {"n": n, "pad": "x" * 2000}}).encode()

    return NewMessage("event", f"{ROOT}/event", build)


async def test_messages_sent_from_memory_reach_the_resend_journal(small_disk: Path) -> None:
    async with Outbox(small_disk / "outbox.sqlite3", max_bytes=2**20) as outbox:
        await outbox.put([_event(0)])
        filler = _fill(small_disk)
        n = 0
        while outbox.storage_ok and n < 1000:  # the WAL's free pages take a few first
            n += 1
            await outbox.put([_event(n)])
        for _ in range(3):
            n += 1
            await outbox.put([_event(n)])
        assert not outbox.storage_ok and outbox.stats().held >= 4
        sent = await outbox.read_after(0, 2000)
        assert len(sent) == n + 1
        await outbox.ack([m.position for m in sent])  # the broker has them; the last ones from memory
        filler.unlink()

        async def stored_again() -> bool:
            await outbox.put([NewMessage("telemetry", f"{ROOT}/t", lambda _i, _s: b"{}")])
            return outbox.storage_ok

        await wait_until(stored_again, timeout=10)  # storing is retried once a second
        assert await outbox.requeue(1, n + 1) == (n + 1, [])
        again = await outbox.read_after(sent[-1].position, 2000)
        assert [m.payload for m in again if m.kind == "event"] == [m.payload for m in sent]
