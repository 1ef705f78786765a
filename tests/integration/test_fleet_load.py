"""The load benchmark, short: 2 collectors on a shared subscription, one killed half way; every
sequenced message is stored exactly once and every cabinet's seq is complete (figures not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "fleet_load.py"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_no_message_lost_or_doubled_when_a_collector_dies(database: str) -> None:
    command = [sys.executable, str(BENCHMARK), "--cabinets", "100", "--seconds", "6", "--rate", "300",
               "--database", database]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=170, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("fleet load"))
    figures = json.loads(line.partition(": ")[2])
    print(line)  # the figures, for whoever reads the log
    assert figures["stored"] == figures["stored_distinct_ids"] == figures["sequenced_sent"], figures
    assert figures["cabinets_complete"] == 100, figures
    # every hole the dead collector left came back (a gap refilled since the last sweep is still `open`)
    assert "lost" not in figures["gaps"], figures
    assert all(received > 0 for received in figures["collector_received"]), figures  # both took a share
