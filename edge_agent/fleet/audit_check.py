"""Checks each cabinet's audit chain as its records arrive, in whatever order they arrive.

A record is checked against itself (its `hash`) and against its neighbours already stored (`n - 1`
must carry its `prev_hash`, `n + 1` must name its `hash`); with several collectors the neighbour
may arrive later or at another collector, which then makes the same check from its side. A break
is written to `audit_break` and logged once; it is evidence, so it is never cleared by the collector.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from edge_agent.fleet.store import Store
from edge_agent.mqtt.audit_chain import GENESIS, record_hash

log = logging.getLogger(__name__)


def check_audit(store: Store, cabinet_id: str, record: Mapping[str, Any], now: float) -> list[str]:
    """Store the chain link of `record` (a parsed `audit` payload) and return the problems found."""
    n, stated = int(record["n"]), str(record["hash"])
    problems = []
    if record_hash(record) != stated:
        problems.append((n, "hash_mismatch"))
    if n == 1 and record["prev_hash"] != GENESIS:
        problems.append((n, "first_record_not_genesis"))
    inserted = store.execute(
        "INSERT INTO audit (cabinet_id, n, id, hash, prev_hash) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (cabinet_id, n) DO NOTHING",
        (cabinet_id, n, record["id"], stated, record["prev_hash"]),
    ).rowcount
    if inserted != 1:
        problems.append((n, "duplicate_n"))  # another record already holds this position
    for other_n, other_hash, other_prev in store.query(
        "SELECT n, hash, prev_hash FROM audit WHERE cabinet_id = ? AND n IN (?, ?)",
        (cabinet_id, n - 1, n + 1),
    ):
        if other_n == n - 1 and other_hash != record["prev_hash"]:
            problems.append((n, "chain_broken"))
        if other_n == n + 1 and other_prev != stated:
            problems.append((n + 1, "chain_broken"))
    for at, problem in problems:
        _flag(store, cabinet_id, at, problem, now)
    return [problem for _at, problem in problems]


def _flag(store: Store, cabinet_id: str, n: int, problem: str, now: float) -> None:
    added = store.execute(
        "INSERT INTO audit_break (cabinet_id, n, problem, detected_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (cabinet_id, n, problem) DO NOTHING",
        (cabinet_id, n, problem, now),
    ).rowcount
    if added:
        log.error("cabinet %s: audit chain %s at record %d", cabinet_id, problem.replace("_", " "), n)
