"""Finds holes in each cabinet's `seq` and asks the cabinet to send them again.

With a shared subscription a cabinet's messages are split between collectors, so no collector
sees a whole sequence: gaps are found in the database, by every collector (the queries are
idempotent). A gap is only a gap once the message after it is `grace_s` old (the other
collectors had time to store theirs). Exactly one collector sends the request: the one whose
`UPDATE ... WHERE requested_at IS NULL` (or old enough to retry) changed the row.

Status of a gap: `open` (requested, waiting), `filled` (every seq arrived), `lost` (the cabinet
answered that it no longer holds part of the range; see docs/central.md for what that means).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from edge_agent.fleet.store import Store
from edge_agent.mqtt.payloads import CommandReplyPayload

log = logging.getLogger(__name__)

RESEND_COMMAND = "resend_events"
TRANSACTION_PREFIX = "resend"

# Sends `cmd/resend_events` to a cabinet: (cabinet_id, from_seq, to_seq, transaction).
RequestResend = Callable[[str, int, int, str], None]


@dataclass(frozen=True, slots=True)
class GapPolicy:
    grace_s: float = 10.0  # a later message must be this old before the hole counts
    lookback_s: float = 3 * 86400.0  # only messages received this recently are scanned
    retry_s: float = 300.0  # ask again after this long without the range arriving


def find_gaps(store: Store, now: float, policy: GapPolicy) -> list[tuple[str, int, int]]:
    """(cabinet_id, first missing seq, last missing seq) for every hole found."""
    rows = store.query(
        "SELECT cabinet_id, seq, nxt FROM (SELECT cabinet_id, seq, received_at, "
        "LEAD(seq) OVER (PARTITION BY cabinet_id ORDER BY seq) AS nxt, "
        "LEAD(received_at) OVER (PARTITION BY cabinet_id ORDER BY seq) AS nxt_received "
        "FROM message WHERE seq IS NOT NULL AND received_at > ?) AS w "
        "WHERE nxt > seq + 1 AND nxt_received < ?",
        (now - policy.lookback_s, now - policy.grace_s),
    )
    return [(cabinet_id, int(seq) + 1, int(nxt) - 1) for cabinet_id, seq, nxt in rows]


def sweep(store: Store, now: float, policy: GapPolicy, collector: str, request: RequestResend) -> int:
    """Record new gaps, close filled ones, request the ones due; returns how many were requested."""
    with store.transaction():
        for cabinet_id, first, last in find_gaps(store, now, policy):
            store.execute(
                "INSERT INTO gap (cabinet_id, from_seq, to_seq, detected_at, status) "
                "VALUES (?, ?, ?, ?, 'open') ON CONFLICT (cabinet_id, from_seq) DO NOTHING",
                (cabinet_id, first, last, now),
            )
        _close_filled(store)
    due = store.query(
        "SELECT cabinet_id, from_seq, to_seq, requested_at FROM gap WHERE status = 'open' "
        "AND (requested_at IS NULL OR requested_at < ?)",
        (now - policy.retry_s,),
    )
    requested = 0
    for cabinet_id, first, last, requested_at in due:
        if _claim(store, cabinet_id, first, requested_at, now, collector):
            request(cabinet_id, first, last, f"{TRANSACTION_PREFIX}:{first}:{last}")
            log.info("cabinet %s: seq %d..%d missing, asked to resend", cabinet_id, first, last)
            requested += 1
    return requested


def _close_filled(store: Store) -> None:
    for cabinet_id, first, last in store.query(
        "SELECT cabinet_id, from_seq, to_seq FROM gap WHERE status = 'open'"
    ):
        (count,) = store.query(
            "SELECT COUNT(*) FROM message WHERE cabinet_id = ? AND seq BETWEEN ? AND ?",
            (cabinet_id, first, last),
        )[0]
        if count >= last - first + 1:
            store.execute(
                "UPDATE gap SET status = 'filled' WHERE cabinet_id = ? AND from_seq = ?", (cabinet_id, first)
            )


def _claim(store: Store, cabinet_id: str, first: int, seen: float | None, now: float, collector: str) -> bool:
    condition = "requested_at IS NULL" if seen is None else "requested_at = ?"
    params = (now, collector, cabinet_id, first) + (() if seen is None else (seen,))
    return (
        store.execute(
            f"UPDATE gap SET requested_at = ?, requested_by = ? WHERE cabinet_id = ? AND from_seq = ? "  # noqa: S608 - fixed text
            f"AND {condition}",
            params,
        ).rowcount
        == 1
    )


def apply_reply(store: Store, cabinet_id: str, reply: CommandReplyPayload) -> None:
    """A cabinet's answer to our request: a range it no longer holds marks the gap `lost`."""
    if reply.command != RESEND_COMMAND or not (reply.transaction or "").startswith(TRANSACTION_PREFIX):
        return
    _, first, last = (reply.transaction or "").split(":")
    if reply.status == "error" or reply.data is None:
        note = f"error: {reply.error.code if reply.error else 'unknown'}"
        log.warning("cabinet %s: resend of seq %s..%s refused (%s)", cabinet_id, first, last, note)
        return
    missing = reply.data.get("missing") or []
    if missing:
        store.execute(
            "UPDATE gap SET status = 'lost', note = ? "
            "WHERE cabinet_id = ? AND from_seq = ? AND status = 'open'",
            (f"cabinet no longer holds seq {missing}", cabinet_id, int(first)),
        )
        log.warning("cabinet %s: seq %s no longer held by the cabinet: marked lost", cabinet_id, missing)
