"""The centre under a city's load: `python benchmarks/fleet_load.py [--cabinets 2000] [--database both]`.

A generator publishes as N simulated cabinets (payloads built with the contract's own models:
status, device states, events, telemetry, chained audit records, daily reports) through mosquitto
to 2 collectors (`edge-agent fleet collect`, separate processes) on one shared subscription. Half
way, one collector is killed (SIGKILL); the other takes over, and the seq gaps the dead one left
(messages it had received but not stored, hence not acknowledged) are asked back from the
cabinets with `resend_events`, which the generator answers from its journal, as the agent does.

Figures (printed, never asserted): messages/s per collector, end-to-end lag (publish -> committed)
p50/p99 of first deliveries, database size per cabinet-month, and the checks: every sequenced
message stored exactly once, every cabinet's seq complete.

Mix: half telemetry (received, not stored), half sequenced in a cabinet-month's proportions
(events 900, states 600, audit 60, daily reports 30 per cabinet-month), so the database size per
message times 1,590 is the size of a cabinet-month.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from common import broker, free_port, percentile
from fleet_generator import MONTHLY_SEQUENCED, Generator

from edge_agent.fleet.store import Store


def run(cabinets: int, seconds: float, rate: float, database: str, workdir: Path) -> dict[str, object]:
    port = free_port()
    with ExitStack() as stack:
        stack.enter_context(broker(port, receive_maximum=1000))
        target = database
        if database == "postgresql":
            from support.postgres import Postgres

            target = stack.enter_context(Postgres(fsync=True)).dsn
        else:
            target = str(workdir / f"fleet-{os.getpid()}-{time.monotonic_ns()}.sqlite")
        Store.open(target).close()  # the schema, before two collectors race to create it
        collectors = [_collector(port, target, f"c{i}", workdir) for i in range(2)]
        _wait_subscribed(workdir)
        generator = Generator(cabinets, port)
        generator.start()
        started = time.monotonic()
        killer = threading.Timer(seconds / 2, collectors[0].send_signal, (signal.SIGKILL,))
        killer.start()
        generator.publish_for(seconds, rate)
        generator.close_out()
        published_s = time.monotonic() - started
        settled_s = _wait_complete(target, generator.sequenced_total, deadline_s=120)
        collectors[1].send_signal(signal.SIGTERM)
        figures = _figures(target, generator, collectors, workdir, published_s, settled_s, cabinets)
        generator.stop()
        return figures


def _collector(port: int, target: str, name: str, workdir: Path) -> subprocess.Popen[str]:
    out = (workdir / f"{name}.out").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent",
            "fleet",
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database",
            target,
            "--group",
            "bench",
            "--name",
            name,
            "--sweep-interval-s",
            "1",
            "--gap-grace-s",
            "2",
            "--stats-interval-s",
            "1",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_subscribed(workdir: Path, deadline_s: float = 30) -> None:
    """Until both collectors logged their subscription (a message before it would only be resent)."""
    started = time.monotonic()
    while not all("subscribed" in (workdir / f"c{i}.out").read_text() for i in range(2)):
        if time.monotonic() - started > deadline_s:
            raise SystemExit("collectors did not subscribe: " + (workdir / "c0.out").read_text()[-1000:])
        time.sleep(0.1)


def _wait_complete(target: str, expected: int, deadline_s: float) -> float:
    """Seconds after publishing until every sequenced message is stored (gaps refilled)."""
    store = Store.open(target)
    started = time.monotonic()
    try:
        while time.monotonic() - started < deadline_s:
            if store.query("SELECT COUNT(*) FROM message")[0][0] >= expected:
                return time.monotonic() - started
            time.sleep(0.5)
        return float("nan")
    finally:
        store.close()


def _figures(
    target: str,
    generator: Generator,
    collectors: list[subprocess.Popen[str]],
    workdir: Path,
    published_s: float,
    settled_s: float,
    cabinets: int,
) -> dict[str, object]:
    for collector in collectors:
        collector.wait(30)
    rates = [_rates(workdir / f"c{i}.out") for i in range(2)]
    store = Store.open(target)
    if store.dialect == "sqlite":
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored, distinct = store.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM message")[0]
    complete = store.query(
        "SELECT COUNT(*) FROM (SELECT cabinet_id FROM message GROUP BY cabinet_id "
        "HAVING COUNT(*) = MAX(seq) AND MIN(seq) = 1) AS whole"
    )[0][0]
    lags = _lags(store, generator.resent_ids)
    size = store.size_bytes()
    gaps = store.query("SELECT status, COUNT(*) FROM gap GROUP BY status")
    store.close()
    return {
        "database": store.dialect,
        "cabinets": cabinets,
        "published": generator.published_total,
        "published_per_s": round(generator.published_total / published_s, 1),
        "sequenced_sent": generator.sequenced_total,
        "stored": stored,
        "stored_distinct_ids": distinct,
        "cabinets_complete": complete,
        "resent_by_cabinets": len(generator.resent_ids),
        "gaps": dict(gaps),
        "settled_after_publishing_s": round(settled_s, 1),
        "collector_messages_per_s": [r[0] for r in rates],
        "collector_received": [r[1] for r in rates],
        "lag_p50_ms": round(percentile(lags, 0.50) * 1000, 1),
        "lag_p99_ms": round(percentile(lags, 0.99) * 1000, 1),
        "bytes_per_cabinet_month": round(size / max(stored, 1) * MONTHLY_SEQUENCED),
    }


def _rates(path: Path) -> tuple[float, int]:
    """(mean messages/s over the seconds it received any, messages received) of one collector."""
    received = [
        json.loads(line)["received"] for line in path.read_text().splitlines() if line.startswith("{")
    ]
    steps = [b - a for a, b in itertools.pairwise([0, *received]) if b > a]
    return (round(sum(steps) / len(steps), 1) if steps else 0.0), (received[-1] if received else 0)


def _lags(store: Store, resent: set[str]) -> list[float]:
    lags = []
    for message_id, ts, received_at in store.query("SELECT id, ts, received_at FROM message"):
        if message_id not in resent:
            sent = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
            lags.append(received_at - sent)
    return sorted(lags)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cabinets", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=2000, help="messages/s the whole fleet publishes")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as workdir:
        for database in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
            figures = run(args.cabinets, args.seconds, args.rate, database, Path(workdir))
            print(f"fleet load, {database}:", json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
