"""The link device: uplink and LAN evidence by TCP connect, and the network_carrier window it opens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.agent import running_agent, write_config
from support.netns import unavailable_reason

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.link import VALUE_NAMES
from edge_agent.devices.link.config import LinkConfig, Target
from edge_agent.devices.link.poller import LinkPoller, probe
from edge_agent.devices.shared_resources import SharedResources

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
SUPPORT = Path(__file__).resolve().parents[1] / "support"


@pytest.fixture
def blackhole() -> Iterator[socket.socket]:
    """A loopback port that never answers: its accept queue is full, so new SYNs are dropped."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        fillers.append(filler)
    yield listener
    for filler in fillers:
        filler.close()
    listener.close()


async def test_probe_counts_refused_as_answering_and_silence_as_down(blackhole: socket.socket) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: the kernel answers with RST
    port = closed.getsockname()[1]
    assert await probe(Target(host="127.0.0.1", port=port), 1.0) is not None
    closed.close()
    assert await probe(Target(host="127.0.0.1", port=blackhole.getsockname()[1]), 0.3) is None


async def test_the_probe_publishes_exactly_its_declared_names(tmp_path: Path) -> None:
    # The page's uplink tile shows VALUE_NAMES: a renamed value here must fail this test.
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = {"host": "127.0.0.1", "port": port}
    config = LinkConfig.model_validate(
        {"type": "link", "device_id": "link", "broker": target, "gateway": target, "lan_switch": target}
    )
    async with server:
        result = await LinkPoller(config, DeviceContext(tmp_path, SharedResources())).poll()
    assert set(result.values) == set(VALUE_NAMES)
    assert result.values["uplink_up"] is True and isinstance(result.values["broker_rtt_ms"], float)


def _event(kind: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    return lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == kind


async def test_uplink_cut_with_lan_up_is_a_network_carrier_window(
    broker, subscriber_factory, tmp_path: Path, blackhole: socket.socket
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    lan = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    link = {
        "type": "link",
        "device_id": "uplink",
        "poll_interval_s": 0.3,
        "timeout_s": 3,
        "attempts": 1,
        "connect_timeout_s": 0.3,
        "broker": {"host": "127.0.0.1", "port": blackhole.getsockname()[1]},
        "lan_switch": {"host": "127.0.0.1", "port": lan.sockets[0].getsockname()[1]},
    }
    config = write_config(tmp_path, port=broker.port, devices=[link])
    async with lan, running_agent(config) as agent:
        started = (await central.until(_event("cabinet_outage_started"), timeout=15)).json()
        assert started["cause"] == "network_carrier"
        telemetry = await central.until(f"{ROOT}/device/uplink/telemetry")
        assert telemetry.json()["values"]["lan_up"] is True
        blackhole.close()  # the carrier is back: the port now refuses, so the host answers
        ended = (await central.until(_event("cabinet_outage_ended"), timeout=15)).json()
        assert ended["cause"] == "network_carrier"
        totals = agent.health.service.core.ledger.totals("_cabinet", "2000-01-01", "2100-01-01")
        assert totals.offline_cause_s["network_carrier"] > 0


async def test_a_silent_broker_is_evidence_within_the_polls_timeout(
    tmp_path: Path, blackhole: socket.socket
) -> None:
    """Attempts that could just fit are cut by the probe's own budget: the poll returns
    `uplink_up` false instead of timing out (which would make the probe itself `offline`)."""
    config = LinkConfig.model_validate(
        {
            "type": "link", "device_id": "uplink", "timeout_s": 1.0, "attempts": 3, "connect_timeout_s": 0.32,
            "broker": {"host": "127.0.0.1", "port": blackhole.getsockname()[1]},
        }
    )  # fmt: skip
    poller = LinkPoller(config, DeviceContext(tmp_path, SharedResources()))
    async with asyncio.timeout(config.timeout_s):  # as the device runner runs every poll
        result = await poller.poll()
    assert result.values["uplink_up"] is False and result.values["loss_percent"] == 100.0


@pytest.fixture
def silent_resolver_namespace() -> Iterator[str]:
    """A network namespace (name unique to this run) whose resolv.conf names 127.0.0.1 inside it;
    `ip netns exec` puts /etc/netns/<name>/resolv.conf in place for what it runs. Removed after."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    name = f"ea-dns-{os.getpid()}-{secrets.token_hex(3)}"
    folder = Path("/etc/netns") / name
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        subprocess.run(
            ["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, timeout=30
        )
        folder.mkdir(parents=True)
        (folder / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
        yield name
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # only when no other namespace keeps its folder there
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30, check=False)


async def test_a_hung_resolver_is_not_the_carrier(silent_resolver_namespace: str, tmp_path: Path) -> None:
    """A broker given by name, a resolver that never answers (a real glibc lookup, hanging 10 s):
    every poll stays bounded, publishes no `uplink_up` (no evidence, so no network_carrier),
    says `name_unresolved` (cause cabinet), and the agent's shared worker threads stay free."""
    script = SUPPORT / "hung_resolver_probe.py"
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", silent_resolver_namespace, sys.executable, str(script), str(tmp_path), "5",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()[-3000:]
    *polls, shared = json.loads(out)
    print("hung resolver:", [p["poll_s"] for p in polls], "s per poll;", shared)
    for poll in polls:
        assert "uplink_up" not in poll["values"] and poll["values"]["broker_rtt_ms"] is None
        assert poll["values"]["lan_up"] is True  # the LAN is still judged
        assert [(f["code"], f["cause"]) for f in poll["faults"]] == [("name_unresolved", "cabinet")]
    assert shared["shared_worker_wait_s"] < 5  # (bounded by the script's timeout: it would raise)
