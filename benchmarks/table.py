"""The one table `./dev.sh bench` prints: rows from benchmark scripts, whatever they measure.

A script adds structured rows with `emit(figure, value, note)` (a `ROW {json}` line on stdout);
any other `label: value` line it prints becomes a row too, so prose output still lands in the
table. A script that fails yields one row saying it could not measure, and the run goes on.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

MARK = "ROW "
_LABELLED = re.compile(r"^\s*(?P<figure>[^:]{3,70}):\s+(?P<value>\S.*)$")


@dataclass(frozen=True)
class Row:
    source: str
    figure: str
    value: str
    note: str = ""


def emit(figure: str, value: str, note: str = "") -> None:
    """Print one row for the table (from inside a benchmark script)."""
    print(MARK + json.dumps(asdict(Row("", figure, value, note)), ensure_ascii=False), flush=True)


def parse(source: str, output: str) -> list[Row]:
    """Rows from a script's output: `ROW` lines, `label: value` lines, and the indented lines under
    a `heading:` line (each becomes a row of that heading)."""
    rows, heading = [], ""
    for line in output.splitlines():
        if line.startswith(MARK):
            rows.append(Row(**{**json.loads(line[len(MARK) :]), "source": source}))
        elif line.rstrip().endswith(":") and not line.startswith(" "):
            heading = line.rstrip()[:-1].strip()
        elif line.startswith(" ") and heading and line.strip():
            rows.append(Row(source, heading, line.strip()))
        elif match := _LABELLED.match(line):
            rows.append(Row(source, match["figure"].strip(), match["value"].strip()))
    return rows


def render(rows: list[Row]) -> str:
    header = Row("benchmark", "figure", "value", "note")
    cells = [[r.source, r.figure, r.value, r.note] for r in (header, *rows)]
    widths = [min(60, max(len(c[i]) for c in cells)) for i in range(3)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3] for c in cells]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
