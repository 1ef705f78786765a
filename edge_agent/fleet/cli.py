"""`edge-agent fleet collect | watch | report | serve`: the centre's command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.fleet.connection import ConnectionError_, add_broker_options, broker_config

if TYPE_CHECKING:  # the centre's modules load only for the command that needs them
    from edge_agent.fleet.contracts import Contract
    from edge_agent.fleet.store import Store

DEFAULT_DATABASE = "fleet.sqlite"
Subparsers = argparse._SubParsersAction


def add_parser(commands: Subparsers[argparse.ArgumentParser]) -> None:
    fleet = commands.add_parser("fleet", help="the centre: collect, watch and report on a fleet")
    actions = fleet.add_subparsers(metavar="ACTION")
    _add_collect(actions)
    add_watch_parser(actions)
    _add_report(actions)
    _add_serve(actions)


def _add_collect(actions: Subparsers[argparse.ArgumentParser]) -> None:
    collect = actions.add_parser("collect", help="store what the fleet publishes (SQLite or PostgreSQL)")
    add_broker_options(collect)
    _add_database(collect)
    collect.add_argument("--group", default="edge-collectors", help="shared subscription group")
    collect.add_argument("--name", help="this collector's name (default host-pid)")
    collect.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (0: at SIGTERM/Ctrl-C)"
    )
    collect.add_argument("--sweep-interval-s", type=float, default=5.0, help="how often to look for seq gaps")
    collect.add_argument("--gap-grace-s", type=float, default=10.0, help="age of a hole before it counts")
    collect.add_argument(
        "--stats-interval-s", type=float, default=0, help="print figures (JSON) this often (0: at the end)"
    )
    collect.set_defaults(handler=_collect)


def add_watch_parser(actions: Subparsers[argparse.ArgumentParser], name: str = "watch") -> None:
    watch = actions.add_parser(name, help="live view of cabinets and devices, worst first")
    add_broker_options(watch)
    watch.add_argument("--site", action="append", help="only this site (repeatable; * wildcards)")
    watch.add_argument("--district", action="append", help="only cabinets whose site starts with this")
    watch.add_argument("--raw", action="store_true", help="print each message instead of the table")
    watch.add_argument("--topic", help="with --raw: topic filter (default <prefix>/v1/#)")
    watch.add_argument("--count", type=int, default=0, help="exit after this many messages (0: never)")
    watch.add_argument("--seconds", type=float, default=0, help="exit after this long (0: never)")
    watch.add_argument("--refresh-s", type=float, default=1.0, help="table redraw interval")
    watch.set_defaults(handler=_watch)


def _add_report(actions: Subparsers[argparse.ArgumentParser]) -> None:
    report = actions.add_parser("report", help="the month's online rates and penalties per contract")
    _add_database(report)
    report.add_argument("--month", required=True, help="YYYY-MM")
    _add_contracts(report)
    report.add_argument(
        "--format", choices=("table", "csv", "html", "json"), default="table", help="output format"
    )
    report.add_argument("--lang", choices=("en", "zh-CN"), default="en", help="language of table and HTML")
    report.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    report.set_defaults(handler=_report)


def _add_serve(actions: Subparsers[argparse.ArgumentParser]) -> None:
    serve = actions.add_parser("serve", help="read-only web view for the duty room")
    _add_database(serve)
    serve.add_argument(
        "--users-file", type=Path, required=True, help="accounts (edge-agent user --users-file FILE add NAME)"
    )
    serve.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8090, help="TCP port to listen on")
    _add_contracts(serve)
    serve.set_defaults(handler=_serve)


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", "-d", default=DEFAULT_DATABASE, help="SQLite file or PostgreSQL DSN (postgresql://...)"
    )


def _add_contracts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--contract", action="append", type=Path, help="contract YAML (repeatable; default: the examples)"
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _collect(args: argparse.Namespace) -> int:
    from edge_agent.fleet.collector import Collector, CollectorOptions
    from edge_agent.fleet.gaps import GapPolicy
    from edge_agent.fleet.store import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        mqtt = broker_config(args)
        store = Store.open(args.database)
    except (ConnectionError_, RuntimeError, OSError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    options = CollectorOptions(
        group=args.group,
        sweep_interval_s=args.sweep_interval_s,
        gaps=GapPolicy(grace_s=args.gap_grace_s),
        stats_interval_s=args.stats_interval_s,
        on_stats=lambda figures: print(json.dumps(figures), flush=True),
        **({"name": args.name} if args.name else {}),
    )
    stop = _stop_on_signals()
    if args.seconds:
        threading.Timer(args.seconds, stop.set).start()
    try:
        stats = Collector(store, mqtt, options).run(stop)
    except OSError as exc:
        print(f"cannot reach the broker {mqtt.host}:{mqtt.effective_port}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps({"collector": options.name, **stats.summary()}), flush=True)
    return 0


def _watch(args: argparse.Namespace) -> int:
    from edge_agent.fleet.watch import WatchFilter, watch, watch_raw

    try:
        mqtt = broker_config(args)
    except ConnectionError_ as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    if args.raw:
        return watch_raw(mqtt, args.topic, count=args.count, seconds=args.seconds)
    where = WatchFilter(sites=tuple(args.site or ()), districts=tuple(args.district or ()))
    return watch(mqtt, where, seconds=args.seconds, refresh_s=args.refresh_s)


def _contracts_and_store(args: argparse.Namespace, verb: str) -> tuple[list[Contract], Store] | None:
    """The contracts and the open store of `report` and `serve`; None (after saying why) when one fails."""
    from edge_agent.fleet.contracts import ContractError, example_contracts, load_contract
    from edge_agent.fleet.store import Store

    try:
        contracts = [load_contract(p) for p in args.contract] if args.contract else example_contracts()
        return contracts, Store.open(args.database)
    except (ContractError, RuntimeError, OSError) as exc:
        print(f"cannot {verb}: {exc}", file=sys.stderr)
        return None


def _report(args: argparse.Namespace) -> int:
    from edge_agent.fleet.month import MonthError, month_report
    from edge_agent.fleet.render import render

    if (opened := _contracts_and_store(args, "report")) is None:
        return 2
    contracts, store = opened
    try:
        reports = [month_report(store, args.month, contract) for contract in contracts]
    except MonthError as exc:
        print(f"cannot report: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    text = render(reports, args.format, args.lang)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from edge_agent.diagnostics.users import UserStore
    from edge_agent.fleet.web import make_app

    if (opened := _contracts_and_store(args, "serve")) is None:
        return 2
    contracts, store = opened
    try:
        web.run_app(make_app(store, UserStore(args.users_file), contracts), host=args.listen, port=args.port,
                    print=lambda text: print(text, flush=True))  # fmt: skip
    finally:
        store.close()
    return 0
