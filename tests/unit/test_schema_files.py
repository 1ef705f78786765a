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
