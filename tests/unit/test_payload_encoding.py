"""Payloads encoded from plain data: compact UTF-8 JSON, null for NaN/infinity, RFC 3339 times."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.mqtt.encode import dumps


def test_compact_utf8_json() -> None:
    encoded = dumps({"name": "入口相机", "v": [1, 2.5, True, None]})
    assert encoded == '{"name":"入口相机","v":[1,2.5,true,null]}'.encode()


def test_numbers_json_cannot_carry_become_null() -> None:
    body = json.loads(dumps({"values": {"a": math.nan, "b": [math.inf, 1.0]}, "ok": 1}))
    assert body == {"values": {"a": None, "b": [None, 1.0]}, "ok": 1}


def test_times_and_other_objects_in_details() -> None:
    moment = datetime(2026, 11, 30, 8, 0, 0, 123456, tzinfo=UTC)
    body = json.loads(dumps({"at": moment, "path": Path("/data"), "codes": frozenset({"x"})}))
    assert body == {"at": "2026-11-30T08:00:00.123Z", "path": "/data", "codes": ["x"]}
