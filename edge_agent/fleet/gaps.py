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
    """Record new gaps, close filled ones, request the ones due; returns how many requests were sent.

    One request per cabinet and sweep, spanning its due gaps (a cabinet drops commands beyond
    10/s); seqs in between that were not lost come again and are dropped as duplicates.
    """
    with store.transaction():
        store.executemany(
            "INSERT INTO gap (cabinet_id, from_seq, to_seq, detected_at, status) "
            "VALUES (?, ?, ?, ?, 'open') ON CONFLICT (cabinet_id, from_seq) DO UPDATE SET status = 'open', "
            "to_seq = excluded.to_seq, detected_at = excluded.detected_at, requested_at = NULL "
            "WHERE gap.status = 'filled'",  # a hole that is back (rows purged) is asked again
            [
                (cabinet_id, first, last, now)
                for cabinet_id, first, last in sorted(find_gaps(store, now, policy))
            ],
        )
        store.execute(FILL_GAPS)
        claimed = store.query(CLAIM_DUE, (now, collector, now - policy.retry_s))
    spans: dict[str, tuple[int, int]] = {}
    for cabinet_id, first, last in claimed:
        low, high = spans.get(cabinet_id, (int(first), int(last)))
        spans[cabinet_id] = (min(low, int(first)), max(high, int(last)))
    for cabinet_id, (first, last) in sorted(spans.items()):
        last = min(last, first + MAX_SPAN - 1)  # the rest is asked at the next retry
        request(cabinet_id, first, last, f"{TRANSACTION_PREFIX}:{first}:{last}")
        log.info("cabinet %s: seq %d..%d has gaps, asked to resend", cabinet_id, first, last)
    return len(spans)


MAX_SPAN = 10_000  # what one `resend_events` may ask
# A gap is filled once every seq of it is stored (one statement for all open gaps).
FILL_GAPS = (
    "UPDATE gap SET status = 'filled' WHERE status = 'open' AND to_seq - from_seq + 1 <= "
    "(SELECT COUNT(*) FROM message m WHERE m.cabinet_id = gap.cabinet_id "
    "AND m.seq BETWEEN gap.from_seq AND gap.to_seq)"
)
# Atomic claim: the collector whose UPDATE changed the row sends the request, no other.
CLAIM_DUE = (
    "UPDATE gap SET requested_at = ?, requested_by = ? WHERE status = 'open' "
    "AND (requested_at IS NULL OR requested_at < ?) RETURNING cabinet_id, from_seq, to_seq"
)


def apply_reply(store: Store, cabinet_id: str, reply: CommandReplyPayload) -> None:
    """A cabinet's answer to our request: a range it no longer holds marks the gap `lost`."""
    if reply.command != RESEND_COMMAND or not (reply.transaction or "").startswith(TRANSACTION_PREFIX):
        return
    if reply.status == "error" or reply.data is None:
        code = reply.error.code if reply.error else "unknown"
        log.warning("cabinet %s: resend %s refused (%s)", cabinet_id, reply.transaction, code)
        return  # the gap stays open: asked again after `retry_s`
    missing = reply.data.get("missing") or []
    for run in missing if isinstance(missing, list) else []:
        if not (isinstance(run, list) and len(run) == 2 and all(isinstance(x, int) for x in run)):
            continue
        store.execute(
            "UPDATE gap SET status = 'lost', note = ? WHERE cabinet_id = ? AND status = 'open' "
            "AND from_seq <= ? AND to_seq >= ?",
            (f"cabinet no longer holds seq {run[0]}..{run[1]}", cabinet_id, run[1], run[0]),
        )
        log.warning("cabinet %s: seq %d..%d no longer held by the cabinet: marked lost", cabinet_id, *run)
