"""The link probe under a resolver that never answers. Run by tests/integration/test_link_probe.py
with `ip netns exec` in a namespace made for it, whose /etc/resolv.conf names 127.0.0.1 (inside
that namespace) where this script holds a UDP socket that takes DNS queries and never answers:
the system resolver (glibc) really hangs. Prints each poll as one JSON document.
Usage: python hung_resolver_probe.py DATA_DIR POLLS
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.link.config import LinkConfig
from edge_agent.devices.link.poller import LinkPoller
from edge_agent.devices.shared_resources import SharedResources

BROKER_NAME = "broker.centre.test"  # not in /etc/hosts: the lookup goes to the silent DNS server


async def main(data_dir: Path, polls: int) -> list[dict[str, Any]]:
    silent_dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent_dns.bind(("127.0.0.1", 53))  # queries arrive and are never read: no answer, no ICMP
    lan = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = lan.sockets[0].getsockname()[1]
    config = LinkConfig.model_validate(
        {
            "type": "link", "device_id": "uplink", "timeout_s": 2, "attempts": 2, "connect_timeout_s": 0.4,
            "broker": {"host": BROKER_NAME, "port": port}, "lan_switch": {"host": "127.0.0.1", "port": port},
        }
    )  # fmt: skip
    poller = LinkPoller(config, DeviceContext(data_dir, SharedResources()))
    await poller.open()
    report = []
    for _ in range(polls):
        started = time.monotonic()
        async with asyncio.timeout(config.timeout_s):  # as the device runner runs every poll
            result = await poller.poll()
        faults = [{"code": f.code, "cause": f.cause, "message": f.message} for f in result.faults]
        report.append(
            {"poll_s": round(time.monotonic() - started, 3), "values": result.values, "faults": faults}
        )
    shared_started = time.monotonic()
    async with asyncio.timeout(5):  # the agent's shared workers (host poller, audit, liveness)
        await asyncio.to_thread(int)
    report.append({"shared_worker_wait_s": round(time.monotonic() - shared_started, 3)})
    await poller.close()
    lan.close()
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))))
