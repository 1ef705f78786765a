"""JSON encoding of contract payloads from plain data (the hot path: no model per message).

The shapes are those of `payloads.py` (whose JSON Schemas are the contract); tests validate what
this module writes against them. Like pydantic's JSON, it writes NaN and infinities as null and
UTF-8 text as is.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from edge_agent.readings import iso_ts

_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=lambda o: _plain(o)
)


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON of `document`."""
    try:
        return _ENCODER.encode(document).encode()
    except ValueError:  # NaN or infinity somewhere: JSON has no such numbers
        return _ENCODER.encode(_finite(document)).encode()


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return iso_ts(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)  # paths, enums and the like: their text, as pydantic's `Any` would


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
