"""`edge-agent fleet report | serve` as an operator meets them: a report from the store, and one clear
line (exit 2) when a contract or the month is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_agent.cli import main


def test_report_of_an_empty_store_lists_every_example_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "fleet.sqlite"
    assert main(["fleet", "report", "-d", str(database), "--month", "2026-11", "--format", "json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 3  # traffic, video, carrier


@pytest.mark.parametrize("command", ["report", "serve"])
def test_an_unreadable_contract_is_one_line_and_exit_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text("name: [unclosed\n")
    extra = ["--month", "2026-11"] if command == "report" else ["--users-file", str(tmp_path / "users.json")]
    argv = ["fleet", command, "-d", str(tmp_path / "fleet.sqlite"), "--contract", str(contract), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cannot {command}: {contract}: ")
    assert "Traceback" not in err


def test_a_malformed_month_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "report", "-d", str(tmp_path / "fleet.sqlite"), "--month", "November"]) == 2
    assert capsys.readouterr().err.startswith("cannot report: ")
