"""Fixtures of the hardware-in-the-loop suite.

Two kinds of test live here. `test_cabinet.py`: passive acceptance of one cabinet (the demo cabinet
copied to free ports, or a bench cabinet named by EDGE_AGENT_HIL_TARGET). The scenarios
(`test_scenarios.py`, `test_uplink.py`): real faults on the bench named by EDGE_AGENT_HIL_BENCH
(`benches/simulated.yaml` by default), timed as the centre sees them; the summary table is
printed at the end of the run.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the suite's MQTT test client
sys.path.insert(0, str(Path(__file__).parent))

from bench import Bench, bench_file, load_bench
from cabinets import start_cabinet
from centre import ROWS, CabinetView, summary_lines
from longrun import LongRun, change_during_cut, keep_reporting, lossy, silent_cut
from netbench import SimulatedBench, SimulatedCabinet, unavailable_reason
from support.subscriber import Subscriber
from target import Target, cabinet, target_file


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Scenarios that touch the whole centre (a broker restart) run after every other one."""
    items.sort(key=lambda item: item.get_closest_marker("centre_wide") is not None)


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so the bench's namespaces are removed.
    signal.signal(signal.SIGTERM, _interrupt)
    config.addinivalue_line("markers", "centre_wide: disturbs every cabinet (runs last)")
    config.addinivalue_line("markers", "long_uplink(name): a 5-minute uplink run started with the session")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.section("HIL scenarios: what the centre saw")
        for line in summary_lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with cabinet(target_file(), tmp_path_factory.mktemp("hil")) as found:
        yield found


@pytest.fixture(scope="session")
def central(target: Target) -> Iterator[Subscriber]:
    client = Subscriber(target.host, target.port, [f"{target.root}/#"], username=target.username,
                        password=target.password, ca_file=target.ca_file)  # fmt: skip
    client.wait_connected(timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def bench() -> Bench:
    return load_bench(bench_file())


@pytest.fixture(scope="session")
def sim_bench(bench: Bench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedBench]:
    if bench.kind != "simulated":
        pytest.skip(
            f"{bench.source.name} is a real bench: this scenario injects its fault on the simulated one"
        )
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    built = SimulatedBench(tmp_path_factory.mktemp("bench"))
    try:
        yield built.start()
    finally:
        built.close()


@pytest.fixture(scope="session")
def centre(bench: Bench, sim_bench: SimulatedBench) -> Iterator[Subscriber]:
    """The centre's subscriber: everything but telemetry, on a persistent session as a centre runs."""
    root = f"{bench.prefix}/v1/+"
    topics = [
        f"{root}/{t}" for t in ("status", "event", "audit", "cmd-reply", "report/daily", "device/+/state")
    ]
    client = Subscriber(str(sim_bench.broker_socket), 1, topics, transport="unix", persistent_session=True)
    client.wait_connected(timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def cab(bench: Bench, sim_bench: SimulatedBench, centre: Subscriber) -> SimulatedCabinet:
    """The cabinet of the short scenarios (the long uplink ones have their own, see test_uplink)."""
    return start_cabinet(bench, sim_bench, centre, "a")


@pytest.fixture(scope="session")
def view(bench: Bench, cab: SimulatedCabinet, centre: Subscriber) -> CabinetView:
    return CabinetView(centre, bench.prefix, cab.cabinet_id)


@pytest.fixture(scope="session", autouse=True)
def long_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, LongRun]]:
    """Start the selected 5-minute uplink runs at once, in the background, beside the short scenarios."""
    wanted = {m.args[0] for item in request.session.items for m in item.iter_markers("long_uplink")}
    bench = load_bench(bench_file())
    if not wanted or bench.kind != "simulated" or unavailable_reason() is not None:
        yield {}  # the tests themselves skip with the reason
        return
    sim_bench, centre = request.getfixturevalue("sim_bench"), request.getfixturevalue("centre")
    kinds = {"cut": (False, (silent_cut, change_during_cut)), "lossy": (True, (lossy, keep_reporting))}
    runs = {name: LongRun(name, *kinds[name], bench, sim_bench, centre) for name in sorted(wanted)}
    for run in runs.values():
        run.start()
    yield runs
    for run in runs.values():
        run.join(60)
