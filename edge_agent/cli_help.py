"""`--help` for people: every option with its default, and examples under every command.

Applied once to the whole parser tree (`polish`), so commands registered by other modules get
the same treatment. tests/unit/test_cli_help.py fails when a command lacks an example or an
option lacks a description.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

CFG = "/etc/edge-agent/cabinet.yaml"

# command path -> example lines (shown under "examples:" in that command's --help)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("edge-agent check -c " + CFG, "edge-agent demo", "edge-agent COMMAND --help"),
    "run": (f"edge-agent run -c {CFG}",),
    "check": (f"edge-agent check -c {CFG}      # every problem, with its line; exit 1 if any",),
    "demo": (
        "edge-agent demo                 # a simulated cabinet; open the page it prints",
        "edge-agent demo --seconds 180 --raw",
    ),
    "health": (
        f"edge-agent health -c {CFG} --require-broker",
        "edge-agent health --data-dir /var/lib/edge-agent --expect-version 1.4.0 --wait-s 60",
    ),
    "command": (
        f"edge-agent command -c {CFG} get_status",
        f'edge-agent command -c {CFG} camera_reboot --args \'{{"device_id": "cam-1"}}\' --operator li.wei',
    ),
    "unit": ("edge-agent unit > /etc/systemd/system/edge-agent.service",),
    "fleet": (
        "edge-agent fleet collect --host broker.centre --database fleet.sqlite",
        "edge-agent fleet report --month 2026-11",
    ),
    "fleet collect": (
        "edge-agent fleet collect --host broker.centre --database postgresql://fleet@db/fleet",
    ),
    "fleet watch": ("edge-agent fleet watch --host broker.centre --site 'G15*'",),
    "fleet report": ("edge-agent fleet report --month 2026-11 --format html --lang zh-CN -o nov.html",),
    "fleet serve": ("edge-agent fleet serve --users-file duty-users.json --listen 0.0.0.0 --port 8090",),
    "watch": ("edge-agent watch --host 127.0.0.1 --port 1883", "edge-agent watch --raw --count 20"),
    "user": (f"edge-agent user -c {CFG} add li.wei --role technician", f"edge-agent user -c {CFG} list"),
    "user add": (
        f"edge-agent user -c {CFG} add li.wei --role technician",
        f"printf '%s\\n' \"$PW\" | edge-agent user -c {CFG} add ops --password-stdin",
    ),
    "user passwd": (f"edge-agent user -c {CFG} passwd li.wei --role viewer",),
    "user list": (f"edge-agent user -c {CFG} list",),
    "user remove": (f"edge-agent user -c {CFG} remove li.wei",),
    "audit": (f"edge-agent audit verify -c {CFG}",),
    "audit verify": (f"edge-agent audit verify -c {CFG}   # exit 1 if the hash chain is broken",),
    "report": (f"edge-agent report -c {CFG} --date 2026-11-29 --format csv",),
}


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Adds `(default: X)` to an option's description, or `(required)`; examples stay as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text:
            return text
        if action.required:
            return f"{text} (required)"
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if unset or isinstance(action.default, list):  # `is`: a default of 0 is worth showing
            return text
        return f"{text} (default: %(default)s)"


def commands(
    parser: argparse.ArgumentParser, path: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(command path, its parser) for the parser and every command below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{path} {name}".strip())


def polish(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for path, command in commands(parser):
        command.formatter_class = Formatter
        examples = EXAMPLES.get(path)
        if examples:
            command.epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    return parser
