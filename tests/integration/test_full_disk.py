"""A full data disk (issue 12, item 1): the agent keeps polling and reporting, holds what it cannot
store in memory, raises `storage_full` on the host once, and stores again when space returns.

The data dir is a small tmpfs (root only), filled with a file the test writes and deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.agent import AgentProcess, write_config
from support.sequence import assert_complete_sequence

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
