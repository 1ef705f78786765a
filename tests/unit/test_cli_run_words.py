"""`edge-agent run --config PATH` starts the agent without argparse (RSS, issue 16): the words are
read by `cli._plain_run`, which must agree with the parser on every form it accepts and leave every
other form to the parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent import cli

PLAIN = [
    ["run", "--config", "/etc/edge-agent/cabinet.yaml"],
    ["run", "-c", "cabinet.yaml"],
    ["run", "--config=/etc/edge-agent/cabinet.yaml"],
    ["run", "-c", "a path with spaces.yaml"],
    ["run", "--config", "=odd.yaml"],
]
LEFT_TO_ARGPARSE = [
    [],
    ["run"],
    ["run", "--help"],
    ["run", "-c"],
    ["run", "-c", ""],
    ["run", "-c", "-x"],
    ["run", "--config="],
    ["run", "-ccabinet.yaml"],
    ["run", "--conf", "cabinet.yaml"],  # argparse's abbreviations
    ["run", "-c", "a.yaml", "-c", "b.yaml"],
    ["run", "-c", "a.yaml", "extra"],
    ["check", "-c", "cabinet.yaml"],
    ["--version"],
]


@pytest.mark.parametrize("words", PLAIN)
def test_plain_run_reads_the_path_as_argparse_does(words: list[str]) -> None:
    path = cli._plain_run(words)
    assert path is not None
    assert path == cli._parser(agent_only=True).parse_args(words).config


@pytest.mark.parametrize("words", LEFT_TO_ARGPARSE)
def test_every_other_form_is_left_to_argparse(words: list[str]) -> None:
    assert cli._plain_run(words) is None


def test_run_starts_without_loading_argparse(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from edge_agent import cli\n"
        "started = []\n"
        "cli._start = lambda path: started.append(path) or 0\n"
        "assert cli.main(['run', '-c', 'cabinet.yaml']) == 0\n"
        "assert started == [Path('cabinet.yaml')], started\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "EDGE_AGENT_PLUGINS": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert [m for m in loaded if m in ("argparse", "gettext", "edge_agent.cli_help")] == []
