"""The benchmark table's parsing and the HIL bench file: pure functions, no processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

ROOT = Path(__file__).parents[2]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "hil_tests")]

from bench import load_bench  # noqa: E402  # hil_tests is not a package: its folder goes on the path first
from table import Row, parse, render  # noqa: E402  # benchmarks is not a package either


def test_rows_from_marks_labels_and_headings() -> None:
    output = "\n".join([
        'ROW {"source": "", "figure": "agent RSS", "value": "45.7 MB", "note": "10 s"}',
        "page weight, overview first load: 33.9 KiB (budget 200 KiB)",
        "read 10 registers:",
        "  1454 per second on loopback",
        "",
        "a line that says nothing measurable",
    ])  # fmt: skip
    assert parse("x", output) == [
        Row("x", "agent RSS", "45.7 MB", "10 s"),
        Row("x", "page weight, overview first load", "33.9 KiB (budget 200 KiB)"),
        Row("x", "read 10 registers", "1454 per second on loopback"),
    ]


def test_render_has_a_header_and_one_line_per_row() -> None:
    lines = render([Row("core", "agent RSS", "45.7 MB")]).splitlines()
    assert lines[0].split() == ["benchmark", "figure", "value", "note"]
    assert lines[2].split() == ["core", "agent", "RSS", "45.7", "MB"]


def test_shipped_bench_files_load() -> None:
    simulated = load_bench(ROOT / "hil_tests" / "benches" / "simulated.yaml")
    real = load_bench(ROOT / "hil_tests" / "benches" / "real.example.yaml")
    assert simulated.kind == "simulated" and simulated.relay_for("cam-exit") is not None
    assert real.kind == "real" and real.relay_for("mains") is not None


def test_a_misspelt_bench_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text("kind: real\ncabinet_id: b\nuplink: {interface: eth1}\ndevices: {}\nrelais: []\n")
    with pytest.raises(ValidationError, match="relais"):
        load_bench(path)
