"""The two 5-minute uplink scenarios, each on its own cabinet, run in the background together.

They start when the session does (if selected) and overlap the short scenarios, so the HIL stage
costs about one fault duration instead of two. `EDGE_AGENT_HIL_LONG_S` shortens them by hand.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from bench import Bench
from cabinets import start_cabinet
from centre import CabinetView
from netbench import SimulatedBench, SimulatedCabinet
from support.subscriber import Subscriber

FAULT_S = float(os.environ.get("EDGE_AGENT_HIL_LONG_S", 300))
PING_EVERY_S = 30.0


class LongRun(threading.Thread):
    """Bring a cabinet up, hold a fault on its uplink for FAULT_S, take it away; the test judges."""

    def __init__(
        self, name: str, wire: bool, actions: tuple[Callable[[LongRun], None], Callable[[LongRun], None]],
        bench: Bench, sim_bench: SimulatedBench, centre: Subscriber,
    ) -> None:  # fmt: skip
        super().__init__(name=f"hil-{name}", daemon=True)
        (self.setup, self.during), self.wire = actions, wire
        self.bench, self.sim_bench, self.centre = bench, sim_bench, centre
        self.cabinet: SimulatedCabinet | None = None
        self.view: CabinetView | None = None
        self.first_seq = 0
        self.injected = self.restored = 0.0
        self.pings: list[float] = []  # command round trips during the fault
        self.changed_at = 0.0  # when the camera fault was injected during the uplink fault
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.cabinet = start_cabinet(
                self.bench, self.sim_bench, self.centre, self.name.removeprefix("hil-"), wire=self.wire
            )
            self.view = CabinetView(self.centre, self.bench.prefix, self.cabinet.cabinet_id)
            self.first_seq = self.view.last_seq()
            self.injected = time.monotonic()
            self.setup(self)
            self.during(self)
            self.cabinet.restore_uplink()
            self.restored = time.monotonic()
        except BaseException as exc:  # handed to the test that joins this thread
            self.error = exc

    def until(self, offset_s: float) -> None:
        """Hold the fault: this is the fault's duration, not a wait for something to happen."""
        time.sleep(max(0.0, self.injected + offset_s - time.monotonic()))

    def result(self) -> LongRun:
        self.join(FAULT_S + 600)
        if self.error is not None:
            raise self.error
        assert not self.is_alive(), f"{self.name} still running"
        return self


def silent_cut(run: LongRun) -> None:
    assert run.cabinet is not None
    run.cabinet.cut_uplink_silently()


def lossy(run: LongRun) -> None:
    """20 % loss each way and 150 ms each way (300 ms round trip): the video contract's bad day."""
    assert run.cabinet is not None
    run.cabinet.degrade_uplink(20, 150)


def change_during_cut(run: LongRun) -> None:
    """An SD card fails a minute into the cut and is fixed at four: the outbox must carry both."""
    assert run.cabinet is not None
    run.until(min(60, FAULT_S / 4))
    run.cabinet.rig_call("PUT", "/camera/cam-exit/state/card_error")
    run.until(FAULT_S * 0.8)
    run.cabinet.rig_call("PUT", "/camera/cam-exit/state/healthy")
    run.until(FAULT_S)


def keep_reporting(run: LongRun) -> None:
    """Commands answered all along, and a camera fault reported, through the lossy uplink."""
    assert run.cabinet is not None and run.view is not None
    next_ping = 0.0
    changed = False
    while time.monotonic() < run.injected + FAULT_S:
        if not changed and time.monotonic() >= run.injected + min(60, FAULT_S / 4):
            run.cabinet.rig_call("PUT", "/camera/cam-exit/state/card_error")
            run.changed_at, changed = time.monotonic(), True
        asked = time.monotonic()
        reply = run.view.command("ping", timeout=60)
        assert reply["status"] == "ok", reply
        run.pings.append(time.monotonic() - asked)
        next_ping += PING_EVERY_S
        run.until(min(next_ping, FAULT_S))
    run.cabinet.rig_call("PUT", "/camera/cam-exit/state/healthy")
