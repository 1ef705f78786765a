"""Command line: `edge-agent run | check | demo | fleet | watch | user | audit verify | report |
health | command | unit`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent import __version__
from edge_agent.errors import ConfigError
from edge_agent.lazy_urllib import defer as defer_urllib_request
from edge_agent.pydantic_plugins import turn_off as turn_off_pydantic_plugins

if TYPE_CHECKING:  # the config's modules load only for the commands that read a configuration
    import argparse

    from edge_agent.config import AgentConfig


def main(argv: Sequence[str] | None = None) -> int:
    # Before any pydantic model is built: pydantic's plugin look-up reads every installed
    # distribution's metadata on the first model (0.3-0.8 MB RSS kept) and the agent uses no
    # pydantic plugin. An operator who does can still set the variable (docs/operations.md).
    turn_off_pydantic_plugins()
    defer_urllib_request()  # before paho's import, which imports it only for its proxy look-up
    words = list(sys.argv[1:] if argv is None else argv)
    config_path = _plain_run(words)
    if config_path is not None:  # the long-lived process: argparse and gettext stay unloaded
        return _start(config_path)
    from edge_agent.cli_help import polish

    # `run` is the long-lived process: it does not load the fleet, user and client tools' modules.
    parser = polish(_parser(agent_only=words[:1] == ["run"]))
    args = parser.parse_args(words)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return int(args.handler(args))


def _plain_run(words: list[str]) -> Path | None:
    """The configuration of a plain `run --config PATH` (`-c PATH`, `--config=PATH`), the command
    line of every cabinet's service; None for anything else, which argparse reads (and explains).
    argparse and the gettext it loads keep 0.3 MB for the life of the agent (RSS, issue 16);
    tests/unit/test_cli_run_words.py checks that argparse reads these words the same way."""
    match words:
        case ["run", "--config" | "-c", path] if path and not path.startswith("-"):
            return Path(path)
        case ["run", option] if option.startswith("--config=") and len(option) > len("--config="):
            return Path(option.removeprefix("--config="))
    return None


def _parser(*, agent_only: bool = False) -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(prog="edge-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edge-agent {__version__}")
    commands = parser.add_subparsers(metavar="COMMAND")

    run = commands.add_parser("run", help="run the agent")
    run.add_argument("--config", "-c", type=Path, required=True, help="cabinet configuration (YAML)")
    run.set_defaults(handler=_run)
    if agent_only:
        return parser

    check = commands.add_parser("check", help="validate a configuration and print every problem")
    check.add_argument("--config", "-c", type=Path, required=True, help="cabinet configuration (YAML)")
    check.set_defaults(handler=_check)

    demo = commands.add_parser("demo", help="run a simulated cabinet against a private local broker")
    demo.add_argument(
        "--config",
        "-c",
        type=Path,
        default=Path("examples/demo.yaml"),
        help="the demo cabinet's configuration",
    )
    demo.add_argument("--seconds", type=float, default=0, help="stop after this long (0: at Ctrl-C)")
    demo.add_argument(
        "--simulators",
        type=Path,
        default=None,
        help="simulated devices to start (default: demo-simulators.yaml beside the config)",
    )
    demo.add_argument(
        "--raw", action="store_true", help="print every message whole (JSON), not one line per change"
    )
    demo.set_defaults(handler=_demo)

    _add_health(commands)
    from edge_agent.local.command_client import add_parser as add_command_parser

    add_command_parser(commands)
    unit = commands.add_parser("unit", help="print the systemd unit shipped with this version")
    unit.set_defaults(handler=_unit)

    from edge_agent.fleet.cli import add_parser as add_fleet_parser
    from edge_agent.fleet.cli import add_watch_parser

    add_fleet_parser(commands)
    add_watch_parser(commands)  # `edge-agent watch`: the same as `edge-agent fleet watch`

    from edge_agent.diagnostics.user_cli import add_parser as add_user_parser

    add_user_parser(commands)

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(metavar="ACTION")
    verify = audit_commands.add_parser("verify", help="check the audit log's hash chain (exit 1 if broken)")
    verify.add_argument("--config", "-c", type=Path, required=True, help="cabinet configuration (YAML)")
    verify.set_defaults(handler=_audit_verify)

    report = commands.add_parser("report", help="print a daily inspection report")
    report.add_argument("--config", "-c", type=Path, required=True, help="cabinet configuration (YAML)")
    report.add_argument("--date", type=_day, help="local day YYYY-MM-DD (default: today so far)")
    report.add_argument("--format", choices=("json", "csv"), default="json", help="output format")
    report.set_defaults(handler=_report)
    return parser


def _add_health(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser(
        "health",
        help="check that the agent runs here (and its version); JSON on stdout, exit 0 healthy, 1 not",
    )
    where = health.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", "-c", type=Path, help="configuration naming the state directory")
    where.add_argument("--data-dir", type=Path, help="the agent's state directory")
    health.add_argument("--expect-version", help="fail unless the running agent reports this version")
    health.add_argument("--url", help="also GET this health endpoint (e.g. http://127.0.0.1:8080/healthz)")
    health.add_argument("--max-age-s", type=float, default=None, help="oldest acceptable liveness record")
    health.add_argument("--require-broker", action="store_true", help="fail unless the broker link is up")
    health.add_argument("--wait-s", type=float, default=0, help="keep looking this long for a healthy agent")
    health.set_defaults(handler=_health)


def _health(args: argparse.Namespace) -> int:
    from edge_agent.errors import LivenessError
    from edge_agent.local.health_gate import DEFAULT_MAX_AGE_S, data_dir_of, wait_healthy

    try:
        data_dir = args.data_dir or data_dir_of(args.config)
    except LivenessError as exc:
        print(exc, file=sys.stderr)
        return 2
    report = wait_healthy(
        data_dir,
        wait_s=args.wait_s,
        expect_version=args.expect_version,
        url=args.url,
        max_age_s=args.max_age_s if args.max_age_s is not None else DEFAULT_MAX_AGE_S,
        require_broker=args.require_broker,
    )
    print(report.to_json())
    return 0 if report.ok else 1


def _unit(args: argparse.Namespace) -> int:
    from importlib.resources import files

    print((files("edge_agent") / "systemd" / "edge-agent.service").read_text(encoding="utf-8"), end="")
    return 0


def _loaded(path: Path, *, count: bool = False) -> AgentConfig | None:
    """The validated configuration; None after printing every problem (and, with `count`, how many)."""
    from edge_agent.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        if count:
            print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    if (config := _loaded(args.config, count=True)) is None:
        return 1
    print(
        f"{args.config}: ok: cabinet {config.cabinet.id}, {len(config.devices)} device(s), "
        f"config hash {config.config_hash()}"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    return _start(args.config)


def _start(config_path: Path) -> int:
    from edge_agent.logging_setup import setup_logging
    from edge_agent.memory_trim import limit_malloc_arenas
    from edge_agent.runtime.agent import run_agent

    if (config := _loaded(config_path)) is None:
        return 1
    setup_logging(config.logging.level, secrets=config.secrets())
    limit_malloc_arenas()  # before the agent's threads start (see memory_trim.py)
    asyncio.run(run_agent(config, config_path))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from edge_agent.simulators.demo import run_demo

    try:
        return run_demo(args.config, args.seconds, args.simulators, raw=args.raw)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _day(text: str) -> str:
    import argparse
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def _audit_verify(args: argparse.Namespace) -> int:
    from edge_agent.health.cli import audit_verify

    config = _loaded(args.config)
    return 2 if config is None else audit_verify(config)


def _report(args: argparse.Namespace) -> int:
    from edge_agent.health.cli import report

    config = _loaded(args.config)
    return 2 if config is None else report(config, args.date, args.format)
