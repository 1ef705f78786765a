"""Bringing a simulated cabinet up on the bench: namespace, rig, agent, and the centre seeing it."""

from __future__ import annotations

import time

from bench import Bench, agent_config, rig_spec
from centre import CabinetView
from netbench import SimulatedBench, SimulatedCabinet
from support.subscriber import Subscriber

UP_TIMEOUT_S = 90.0


def start_cabinet(
    bench: Bench, sim_bench: SimulatedBench, centre: Subscriber, name: str, *, wire: bool = False
) -> SimulatedCabinet:
    """A cabinet whose every device has left `unknown` at the centre."""
    lan = [d.address for d in bench.devices.values() if d.address is not None]
    assert bench.relay_board is not None
    cabinet = sim_bench.add_cabinet(name, [*lan, bench.relay_board.address], wire=wire)
    cabinet.cabinet_id = f"{bench.cabinet_id}-{name}"
    sim_bench.start_rig(cabinet, rig_spec(bench, cabinet.workdir))
    cabinet.config = agent_config(bench, cabinet.workdir, cabinet.cabinet_id, cabinet.centre_address)
    since = time.monotonic()
    cabinet.start_agent()
    view = CabinetView(centre, bench.prefix, cabinet.cabinet_id)
    view.status("online", since, UP_TIMEOUT_S)
    for device_id in [*bench.devices, "uplink"]:
        view.state(device_id, since, UP_TIMEOUT_S, lambda s: s.get("state") == "ok")
    return cabinet


def restart_agent(cabinet: SimulatedCabinet, view: CabinetView) -> float:
    """Start the agent again; return when the centre sees it online (monotonic time of that)."""
    since = time.monotonic()
    cabinet.start_agent()
    return view.status("online", since, UP_TIMEOUT_S).at
