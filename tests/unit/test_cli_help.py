"""The command line as an operator meets it: `--help` that explains every option and shows an
example, and a clean one-line error where a traceback used to be."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cli import _parser, main
from edge_agent.cli_help import commands, polish

TREE = list(commands(polish(_parser())))


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    return [action for action in parser._actions if not isinstance(action, skip)]


@pytest.mark.parametrize(("path", "parser"), TREE, ids=[path or "edge-agent" for path, _ in TREE])
def test_every_command_explains_its_options_and_shows_an_example(
    path: str, parser: argparse.ArgumentParser
) -> None:
    text = parser.format_help()
    assert "examples:\n  edge-agent" in text, f"`edge-agent {path} --help` shows no example"
    for action in _options(parser):
        assert action.help, f"`edge-agent {path}`: {action.dest} has no description"
        shown = action.default is not None and action.default is not False and action.option_strings
        if shown and not isinstance(action.default, list):
            assert "default" in parser._get_formatter()._get_help_string(action), (path, action.dest)


def test_help_prints_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    flat = " ".join(out.split())  # argparse wraps long lines
    assert "stop after this long (0: at Ctrl-C) (default: 0)" in flat
    assert "the demo cabinet's configuration (default: examples/demo.yaml)" in flat


def test_user_add_without_a_terminal_says_what_to_do(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    command = [sys.executable, "-m", "edge_agent", "user", "--users-file", str(users), "add", "li.wei"]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "edge-agent user: no terminal to ask for the password; pipe it in with --password-stdin"
    )
    assert not users.exists()


def test_user_add_reads_a_piped_password(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    command = [sys.executable, "-m", "edge_agent", "user", "--users-file", str(users), "add", "li.wei"]
    done = subprocess.run(
        [*command, "--password-stdin", "--role", "technician"],
        input="a-long-password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "li.wei" in users.read_text(encoding="utf-8")


def test_pydantic_plugins_are_off_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    main([])  # help only
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "")  # an operator who runs a plugin
    main([])
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == ""
