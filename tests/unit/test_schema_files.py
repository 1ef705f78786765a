"""The shipped JSON Schemas are the ones the payload models generate (regenerate after a change)."""

from __future__ import annotations

from edge_agent.mqtt.payloads import SCHEMAS
from edge_agent.mqtt.schema_files import SCHEMA_DIR, render


def test_shipped_schemas_match_the_payload_models() -> None:
    for name in SCHEMAS:
        shipped = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
        assert shipped == render(name), (
            f"{name}.schema.json is stale: run `python -m edge_agent.mqtt.schema_files`, document the change"
        )


def test_schemas_accept_fields_added_within_v1_at_every_depth() -> None:
    import json

    from jsonschema import Draft202012Validator

    from edge_agent.mqtt.reading import read_payload

    schema = json.loads((SCHEMA_DIR / "device-state.schema.json").read_text(encoding="utf-8"))
    since = "2026-11-01T00:00:00.000Z"
    fault = {"code": "x", "severity": "warning", "message": "m", "since": since, "new": 1}
    document = {
        "id": "a" * 16,
        "seq": 1,
        "ts": "2026-11-01T00:00:00.000Z",
        "device_id": "cam-1",
        "kind": "k",
        "name": None,
        "state": "ok",
        "since": "2026-11-01T00:00:00.000Z",
        "cause": None,
        "reason": "",
        "faults": [fault],
        "added_in_v1_later": {"any": "thing"},
    }
    assert list(Draft202012Validator(schema).iter_errors(document)) == []
    from edge_agent.mqtt.payloads import DeviceStatePayload

    assert read_payload(DeviceStatePayload, document).faults[0].code == "x"  # the reader ignores them too
