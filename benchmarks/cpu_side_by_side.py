"""CPU per poll side by side: the agent (this checkout, and optionally a git ref) and the floor at once.

On a shared, loaded machine a contender's CPU per poll moves by 10-20 % from one minute to the
next, so contenders measured one after the other (`footprint.py`) cannot show a cut of a few per
cent. Here they run at the same time, each with its own simulated SDM630 meters and its own
mosquitto: the same load falls on all of them, and each round gives each agent/floor ratio from the
same seconds. `--ref main` also runs the agent as it is at that ref (its `edge_agent` package taken
with `git archive` into a temporary directory): before and after in the same seconds. Prints the
median over the rounds of CPU per poll (CPU seconds / polls seen by the simulator) and of the ratio.

Last measured (2026-12-01, 5 rounds of 40 s, busy shared machine), before -> after the Modbus
per-poll cuts (calm thresholds, condition detail on edges only, the float rounding converter):
30 meters `--ref main` 1,342 -> 1,292 us per poll, agent/floor x1.80 -> x1.75 (floor 725 us;
rounds 1292/1350/1342/1258/1350 -> 1225/1308/1400/1292/1267); again `--ref 530961e` 1,117 ->
1,108 us, x1.82 -> x1.69 (floor 650; 1075/1175/1117/1050/1258 -> 1000/1125/1108/1117/1050, lower
in 4 of 5). 3 meters 1,750 -> 1,833 us, x1.90 -> x1.85 (floor 1,000; 83 us clock ticks per poll:
no change resolved). The previous stop's figures (30 meters 1,075 us, x1.86, floor 608) were from a
quieter hour: compare ratios from the same run only. Goals x1.36 (30 meters) and x1.47 (3).

    .venv/bin/python benchmarks/cpu_side_by_side.py [--meters 30] [--seconds 40] [--rounds 5] [--ref main]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import statistics
import subprocess
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import psutil
from common import broker, compile_agent, free_port
from footprint import WARM_UP_S, Clocks, _agent_command, _floor_command, _simulator, _subscriber
from table import emit

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "floor"


def _checkout(ref: str, into: Path) -> Path:
    """The agent's package as it is at `ref`, byte-compiled; the directory to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "edge_agent"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    compileall.compile_dir(into / "edge_agent", quiet=1)
    return into


async def _round(meters: int, seconds: float, agents: dict[str, Path]) -> dict[str, float]:
    """CPU per poll of every contender over the same `seconds`."""
    async with AsyncExitStack() as stack:
        clocks = {name: Clocks() for name in [*agents, FLOOR]}
        processes = {name: await _start(stack, meters, agents.get(name), clocks[name]) for name in clocks}
        await asyncio.sleep(WARM_UP_S + 3)
        measured = {name: psutil.Process(process.pid) for name, process in processes.items()}
        for clock in clocks.values():
            clock.reset()
        before = {name: sum(process.cpu_times()[:2]) for name, process in measured.items()}
        await asyncio.sleep(seconds)
        return {
            name: (sum(process.cpu_times()[:2]) - before[name]) * 1e6 / max(1, clocks[name].polls)
            for name, process in measured.items()
        }


async def _start(
    stack: AsyncExitStack, meters: int, agent: Path | None, clocks: Clocks
) -> subprocess.Popen[bytes]:
    """One contender (the agent from `agent`, or the floor) with its own meters and broker."""
    simulator = _simulator(meters, clocks)
    modbus_port, broker_port = free_port(), free_port()
    await simulator.start_tcp("127.0.0.1", modbus_port)
    stack.push_async_callback(simulator.stop)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    stack.enter_context(broker(broker_port))
    subscriber = _subscriber(broker_port, clocks)
    stack.callback(subscriber.loop_stop)
    if agent is None:
        command, env = _floor_command(broker_port, modbus_port, meters), dict(os.environ)
    else:
        command = _agent_command(workdir, broker_port, modbus_port, meters)
        env = {**os.environ, "PYTHONPATH": str(agent)}
    # cwd: with `-m`, Python puts the working directory first on sys.path; a checkout there would
    # shadow the PYTHONPATH copy being measured.
    process = subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL)  # noqa: ASYNC220 - spawned before measuring
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=20)


def _label(name: str) -> str:
    return "agent" if name == "" else f"agent at {name}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--meters", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ref", help="also run the agent as it is at this git ref (e.g. main)")
    args = parser.parse_args()
    compile_agent()
    with tempfile.TemporaryDirectory() as tmp:
        agents = {"": ROOT}
        if args.ref:
            agents[args.ref] = _checkout(args.ref, Path(tmp))
        rounds = [asyncio.run(_round(args.meters, args.seconds, agents)) for _ in range(args.rounds)]
    what = f"{args.meters} meters, {len(rounds)} rounds of {args.seconds:.0f} s side by side, medians"
    floor = statistics.median(r[FLOOR] for r in rounds)
    emit(f"{what}: floor CPU per poll", f"{floor:.0f} us")
    for name in agents:
        ratio = statistics.median(r[name] / r[FLOOR] for r in rounds)
        per_round = ", ".join(f"{r[name]:.0f}" for r in rounds)
        emit(
            f"{what}: {_label(name)} CPU per poll",
            f"{statistics.median(r[name] for r in rounds):.0f} us",
            f"agent/floor x{ratio:.2f} (rounds: {per_round} us)",
        )


if __name__ == "__main__":
    main()
