"""Two collectors on one shared subscription store a real agent's messages once each, and a seq
range lost at the centre comes back from the agent's journal through `resend_events`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.agent import running_agent, wait_until, write_config

from edge_agent.fleet.collector import Collector, CollectorOptions
from edge_agent.fleet.gaps import GapPolicy
from edge_agent.fleet.store import Store
from edge_agent.mqtt.config import MqttConfig

pytestmark = pytest.mark.integration

EVENTS = 40


@contextmanager
def collectors(store_path: Path, port: int, count: int) -> Iterator[list[Collector]]:
    """`count` collectors of one group, each with its own connection to one SQLite file."""
    stop = threading.Event()
    mqtt = MqttConfig(host="127.0.0.1", port=port)  # type: ignore[call-arg]  # pydantic fills the other fields from their defaults
    options = [
        CollectorOptions(name=f"c{i}", sweep_interval_s=0.2, gaps=GapPolicy(grace_s=1.0))
        for i in range(count)
    ]
    running = [Collector(Store.open(store_path), mqtt, option) for option in options]
    threads = [
        threading.Thread(target=c.run, args=(stop,), name=f"collector-{i}") for i, c in enumerate(running)
    ]
    for thread in threads:
        thread.start()
    try:
        for collector in running:
            assert collector.connected.wait(10)
        yield running
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
        for collector in running:
            collector.store.close()


def _whole(seqs: list[int]) -> bool:
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False


def _seqs(store: Store) -> list[int]:
    return [
        row[0] for row in store.query("SELECT seq FROM message WHERE cabinet_id = 'cab-test' ORDER BY seq")
    ]


async def test_shared_collectors_store_each_message_once_and_refill_a_lost_range(
    broker, tmp_path: Path
) -> None:
    config = write_config(tmp_path, port=broker.port, devices=[{"type": "host", "device_id": "host"}])
    database = tmp_path / "fleet.sqlite"
    check = Store.open(database)
    with collectors(database, broker.port, 2) as running:
        async with running_agent(config) as agent:
            for number in range(EVENTS):
                await agent.core.emitter.event("test_event", detail={"number": number})
            # the two collectors store in their own time: wait for a whole run, then look at it
            await wait_until(lambda: _whole(_seqs(check)) and len(_seqs(check)) >= EVENTS, timeout=30)
            assert all(c.stats.received > 0 for c in running)  # the broker split the load
            seqs = _seqs(check)  # whole: no gap; stored once by id: no double
            tests = "SELECT COUNT(*) FROM message WHERE kind = 'event' AND payload LIKE '%test_event%'"
            await wait_until(lambda: check.query(tests) == [(EVENTS,)], timeout=30)
            lost = seqs[5:9]
            ids_before = check.query("SELECT id FROM message WHERE seq BETWEEN ? AND ?", (lost[0], lost[-1]))
            check.execute("DELETE FROM message WHERE seq BETWEEN ? AND ?", (lost[0], lost[-1]))
            stored = "SELECT id FROM message WHERE seq BETWEEN ? AND ? ORDER BY id"
            # back from the agent's journal: the same messages (same ids), not new ones
            back = sorted(ids_before)
            await wait_until(lambda: check.query(stored, (lost[0], lost[-1])) == back, timeout=30)
            gap = "SELECT status FROM gap WHERE from_seq = ?"
            await wait_until(lambda: check.query(gap, (lost[0],)) == [("filled",)], timeout=30)
    # at least the one for the deleted range; a collector lagging the other by more than the grace
    # under load shows a passing hole too, asked for and answered harmlessly (duplicates by id)
    assert sum(c.stats.resend_requests for c in running) >= 1
    check.close()


async def test_resend_events_names_what_the_cabinet_no_longer_holds_and_refuses_bad_ranges(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    root = "edge/v1/cab-test"
    central = subscriber_factory(broker.host, broker.port, [f"{root}/cmd-reply", f"{root}/status"])
    central.wait_connected()
    config = write_config(tmp_path, port=broker.port, devices=[{"type": "host", "device_id": "host"}])
    async with running_agent(config):
        await central.until(lambda m: m.topic.endswith("/status") and m.json()["state"] == "online")
        requests = {
            "far": {"from_seq": 100_000, "to_seq": 100_004},  # never sent: gone from the cabinet's view
            "reversed": {"from_seq": 9, "to_seq": 3},
            "huge": {"from_seq": 1, "to_seq": 50_000},
        }
        for transaction, args in requests.items():
            body = json.dumps({"transaction": transaction, "args": args}).encode()
            await central.apublish(f"{root}/cmd/resend_events", body)
        replies = {}
        for transaction in requests:
            message = await central.until(
                lambda m, t=transaction: m.topic.endswith("/cmd-reply") and m.json()["transaction"] == t
            )
            replies[transaction] = message.json()
    assert replies["far"]["data"] == {
        "from_seq": 100_000,
        "to_seq": 100_004,
        "requeued": 0,
        "missing": [[100_000, 100_004]],
    }
    assert replies["reversed"]["error"]["code"] == replies["huge"]["error"]["code"] == "invalid_args"
