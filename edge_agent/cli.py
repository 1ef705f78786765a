"""Command line: `edge-agent run | check | health | unit | watch | version`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from edge_agent import __version__
from edge_agent.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return int(args.handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edge-agent {__version__}")
    commands = parser.add_subparsers(metavar="COMMAND")

    run = commands.add_parser("run", help="run the agent")
    run.add_argument("--config", "-c", type=Path, required=True, help="cabinet configuration (YAML)")
    run.set_defaults(handler=_run)

    check = commands.add_parser("check", help="validate a configuration and print every problem")
    check.add_argument("--config", "-c", type=Path, required=True)
    check.set_defaults(handler=_check)

    _add_health(commands)
    unit = commands.add_parser("unit", help="print the systemd unit shipped with this version")
    unit.set_defaults(handler=_unit)

    watch = commands.add_parser("watch", help="print what cabinets publish on a broker")
    watch.add_argument("--host", default="127.0.0.1")
    watch.add_argument("--port", type=int, default=1883)
    watch.add_argument("--topic", default="edge/v1/#", help="topic filter (default: edge/v1/#)")
    watch.add_argument("--count", type=int, default=0, help="exit after this many messages (0: never)")
    watch.add_argument("--seconds", type=float, default=0, help="exit after this long (0: never)")
    watch.set_defaults(handler=_watch)
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
    from edge_agent.healthcheck import DEFAULT_MAX_AGE_S, data_dir_of, wait_healthy
    from edge_agent.liveness import LivenessError

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


def _load(path: Path) -> object:
    from edge_agent.config import load_config

    return load_config(path)


def _check(args: argparse.Namespace) -> int:
    try:
        config = _load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    from edge_agent.config import AgentConfig

    assert isinstance(config, AgentConfig)
    print(
        f"{args.config}: ok: cabinet {config.cabinet.id}, {len(config.devices)} device(s), "
        f"config hash {config.config_hash()}"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from edge_agent.app import run_agent
    from edge_agent.config import AgentConfig
    from edge_agent.logging_setup import setup_logging

    try:
        config = _load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    assert isinstance(config, AgentConfig)
    password = config.mqtt.password.get_secret_value() if config.mqtt.password else None
    setup_logging(config.logging.level, secrets=[password] if password else [])
    asyncio.run(run_agent(config))
    return 0


def _watch(args: argparse.Namespace) -> int:
    from edge_agent.watch import watch

    return watch(args.host, args.port, args.topic, count=args.count, seconds=args.seconds)
