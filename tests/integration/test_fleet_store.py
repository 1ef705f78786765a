"""The centre's database, on SQLite and on a real PostgreSQL: idempotent storage, retained replays,
fields added within v1, the audit chain checked as records arrive, and seq gaps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fleet_messages import audit, audit_chain, event, incoming, state, status
from support.postgres import Postgres

from edge_agent.fleet.gaps import GapPolicy, apply_reply, find_gaps, sweep
from edge_agent.fleet.ingest import Ingestor
from edge_agent.fleet.store import Store
from edge_agent.mqtt.audit_chain import record_hash
from edge_agent.mqtt.payloads import CommandReplyPayload
from edge_agent.mqtt.topics import Topics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with Postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = Store.open(tmp_path / "fleet.sqlite")
    else:
        server: Postgres = request.getfixturevalue("postgres")
        opened = Store.open(server.dsn)
        with opened.transaction():
            for table in (
                "message",
                "cabinet",
                "presence",
                "device",
                "report",
                "audit",
                "audit_break",
                "gap",
            ):
                opened.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    yield opened
    opened.close()


def test_a_message_is_stored_once_whatever_the_replays(store: Store) -> None:
    ingestor = Ingestor(store, "edge")
    first = event("cab-1", 1, message_id="a" * 16)
    stats = ingestor.ingest([first, first, event("cab-1", 2)])
    again = ingestor.ingest([first])
    assert (stats.stored, stats.duplicates, again.stored, again.duplicates) == (2, 1, 0, 1)
    assert store.query("SELECT COUNT(*) FROM message") == [(2,)]


def test_a_retained_state_replaying_an_old_seq_does_not_step_back(store: Store) -> None:
    ingestor = Ingestor(store, "edge")
    ingestor.ingest([state("cab-1", 7, "cam-1", "offline", "power_supply")])
    ingestor.ingest([state("cab-1", 3, "cam-1", "ok")])  # e.g. an old retained copy
    assert store.query("SELECT state, cause, seq FROM device") == [("offline", "power_supply", 7)]


def test_fields_added_within_v1_are_accepted_and_garbage_is_counted(store: Store) -> None:
    ingestor = Ingestor(store, "edge")
    document = json.loads(status("cab-1").payload)
    newer = incoming(Topics("edge", "cab-1").status, json.dumps({**document, "district": "north"}).encode())
    stats = ingestor.ingest([newer, incoming(Topics("edge", "cab-2").event, b"{not json")])
    assert (stats.stored, stats.invalid) == (1, 1)
    assert store.query("SELECT cabinet_id, site, state FROM cabinet") == [("cab-1", "north/gate 1", "online")]


def test_the_audit_chain_is_checked_in_any_arrival_order(store: Store) -> None:
    ingestor = Ingestor(store, "edge")
    records = audit_chain(4)
    ingestor.ingest([audit("cab-1", records[i], 10 + i) for i in (2, 0, 3, 1)])  # out of order
    assert store.query("SELECT COUNT(*) FROM audit_break") == [(0,)]
    forged = {**audit_chain(6)[5], "n": 5, "prev_hash": "f" * 64}
    forged["hash"] = record_hash(forged)
    tampered = {**audit_chain(6)[5], "result": "error: nothing happened"}  # n 6, hash no longer matches
    ingestor.ingest([audit("cab-1", forged, 20), audit("cab-1", tampered, 21)])
    # 5 does not follow 4; 6 does not follow the forged 5, and its own hash no longer matches.
    expected = [(5, "chain_broken"), (6, "chain_broken"), (6, "hash_mismatch")]
    assert sorted(store.query("SELECT n, problem FROM audit_break")) == expected


def test_gaps_are_requested_once_then_filled_or_marked_lost(store: Store) -> None:
    ingestor = Ingestor(store, "edge")
    ingestor.ingest([event("cab-1", s) for s in (1, 2, 5, 6, 9)] + [event("cab-2", s) for s in (4, 5)])
    store.execute("UPDATE message SET received_at = 100")
    policy = GapPolicy(grace_s=10, lookback_s=1e9, retry_s=60)
    assert sorted(find_gaps(store, 200, policy)) == [("cab-1", 3, 4), ("cab-1", 7, 8)]
    asked: list[tuple[str, int, int, str]] = []
    assert sweep(store, 200, policy, "c1", lambda *a: asked.append(a)) == 1
    assert asked == [("cab-1", 3, 8, "resend:3:8")]  # one request per cabinet, spanning its gaps
    assert sweep(store, 201, policy, "c2", lambda *a: asked.append(a)) == 0  # the other collector: claimed
    ingestor.ingest([event("cab-1", 3), event("cab-1", 4)])
    reply = CommandReplyPayload(
        transaction=asked[0][3],
        command="resend_events",
        status="ok",
        data={"requeued": 0, "missing": [[7, 8]]},
        error=None,
        ts="2026-11-01T00:00:00Z",
    )  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    apply_reply(store, "cab-1", reply)
    sweep(store, 202, policy, "c1", lambda *a: asked.append(a))
    assert sorted(store.query("SELECT from_seq, to_seq, status FROM gap")) == [
        (3, 4, "filled"),
        (7, 8, "lost"),
    ]
