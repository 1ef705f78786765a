"""Golden cases: every shipped profile decoded from a simulator serving known values.

A case is a folder `tests/cases/<name>/` with `config.yaml` (transport, RTU parity, devices), `scenario.yaml`
(the simulator's scenario) and `expected.jsonl`: one line per poll (`device_id`, expected `values`
subset, active fault codes, optionally `events` as [type, cause] and fault `states`), or an
`apply` line that changes the simulator between polls. A regression is a new folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from fieldbus_support import modbus_bench, opened

from edge_agent.devices.modbus.poller import ModbusPoller
from edge_agent.devices.modbus.profile import shipped_profiles
from edge_agent.readings import PollResult
from edge_agent.simulators.modbus_server import Scenario, Step
from edge_agent.simulators.scenario import load_scenario

pytestmark = pytest.mark.integration

CASES = Path(__file__).parent.parent / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.jsonl").is_file())


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_case(name: str, tmp_path: Path) -> None:
    folder = CASES / name
    config = yaml.safe_load((folder / "config.yaml").read_text())
    scenario = load_scenario(folder / "scenario.yaml", Scenario)
    lines = [
        json.loads(line) for line in (folder / "expected.jsonl").read_text().splitlines() if line.strip()
    ]
    async with (
        modbus_bench(scenario, config["transport"], tmp_path, parity=config.get("parity", "N")) as bench,
        opened(bench, config["devices"]) as pollers,
    ):
        for number, line in enumerate(lines, 1):
            if "apply" in line:
                bench.simulator.apply(Step(at_s=0, **line["apply"]))
                continue
            poller = pollers[line["device_id"]]
            result = await poller.poll()
            _check(result, poller, line, f"{name}:{number}")


def _check(result: PollResult, poller: ModbusPoller, line: dict[str, Any], where: str) -> None:
    for key, expected in line["values"].items():
        got = result.values.get(key)
        if isinstance(expected, float) and isinstance(got, float):
            assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9), (
                f"{where}: {key} = {got}, want {expected}"
            )
        else:
            assert got == expected and type(got) is type(expected), (
                f"{where}: {key} = {got!r}, want {expected!r}"
            )
    if "faults" in line:
        assert sorted(f.code for f in result.faults) == sorted(line["faults"]), f"{where}: {result.faults}"
    for code, severity in line.get("states", {}).items():
        assert {f.code: f.severity for f in result.faults}[code] == severity, f"{where}: {code}"
    if "events" in line:
        got_events = [[e.type, e.cause] for e in result.events]
        assert got_events == line["events"], f"{where}: events {got_events}"
    if "requests" in line:
        assert len(poller.requests) == line["requests"], f"{where}: {len(poller.requests)} requests per cycle"
    assert not poller.errors, f"{where}: communication errors {dict(poller.errors)}"


def test_every_shipped_profile_has_a_case() -> None:
    covered = set()
    for name in CASE_NAMES:
        covered |= {
            d["profile"] for d in yaml.safe_load((CASES / name / "scenario.yaml").read_text())["devices"]
        }
    assert covered >= set(shipped_profiles())
