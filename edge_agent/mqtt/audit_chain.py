"""The audit chain as the contract defines it, for the agent that writes it and the centre that checks it.

Each record carries `n` (1, 2, 3, ...), `prev_hash` (the previous record's `hash`, 64 zeros for
the first) and `hash` = SHA-256 of the record's canonical JSON without `hash`. On the `audit`
topic the record also carries the message's `id` and `seq`, which are not part of the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
# `id`, `seq`: the outbox's, added after hashing; `mac`: the keyed seal of `hash` (needs the key)
NOT_HASHED = frozenset({"hash", "id", "seq", "mac"})


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of `record` without `hash`, `id` and `seq`."""
    body = {name: value for name, value in record.items() if name not in NOT_HASHED}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
