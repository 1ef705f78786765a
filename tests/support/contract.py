"""Validates received messages against the JSON Schemas the package ships."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from paho.mqtt.client import topic_matches_sub

from support.subscriber import Received

SCHEMA_DIR = Path(__file__).parents[2] / "edge_agent" / "mqtt" / "schemas"

# Topic filter (below the cabinet root) -> schema file name.
TOPIC_SCHEMAS = {
    "status": "status",
    "device/+/state": "device-state",
    "device/+/telemetry": "device-telemetry",
    "device/+/meta": "device-meta",
    "event": "event",
    "cmd/+": "cmd-request",
    "cmd-reply": "cmd-reply",
    "report/daily": "report-daily",
    "audit": "audit",
}


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_for(topic: str, root: str) -> str:
    relative = topic.removeprefix(root + "/")
    for topic_filter, name in TOPIC_SCHEMAS.items():
        if topic_matches_sub(topic_filter, relative):
            return name
    raise AssertionError(f"no schema covers topic {topic}")


def assert_valid(message: Received, root: str) -> str:
    name = schema_for(message.topic, root)
    errors = sorted(validator(name).iter_errors(message.json()), key=str)
    assert not errors, f"{message.topic} does not match {name}: {errors[0].message}"
    return name
