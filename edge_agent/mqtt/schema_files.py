"""Writes the JSON Schemas of the MQTT contract: `python -m edge_agent.mqtt.schema_files`.

The files in `edge_agent/mqtt/schemas/` are generated from `payloads.py` and shipped with the
package; a test fails when they are not regenerated after a payload change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edge_agent.mqtt.payloads import SCHEMAS, json_schema

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render(name: str) -> str:
    return json.dumps(json_schema(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / f"{name}.schema.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(written_path)
