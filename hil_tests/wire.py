"""An impaired cable between two namespaces: frames between two TAP devices, lost and delayed at will.

    python hil_tests/wire.py SETTINGS.json NS_A DEV_A NS_B DEV_B

What `tc qdisc ... netem loss 20% delay 150ms` does, for kernels built without sch_netem: every
Ethernet frame crossing the wire is dropped with the given probability, else delivered the given
delay later (in order). The impairment is read from SETTINGS.json at start and on SIGHUP, so a
test can degrade and restore the uplink while the TCP connections on it live on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import random
import signal
import struct
import sys
from pathlib import Path

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
MAX_FRAME = 65536


def open_tap(namespace: str, device: str) -> int:
    """Attach to the TAP device `device` of `namespace` (this thread moves into it for the open)."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{namespace}", "rb") as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {namespace}")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Wire:
    def __init__(self, settings: Path, a: int, b: int) -> None:
        self.settings = settings
        self.fds = (a, b)
        self.loss = 0.0
        self.delay_s = 0.0
        self.reload()

    def reload(self) -> None:
        document = json.loads(self.settings.read_text(encoding="utf-8"))
        self.loss = float(document.get("loss_percent", 0)) / 100
        self.delay_s = float(document.get("delay_ms", 0)) / 1000

    def forward(self, source: int, target: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            frame = os.read(source, MAX_FRAME)
        except BlockingIOError:
            return
        if random.random() < self.loss:  # noqa: S311  # simulated line noise, not a secret
            return
        if self.delay_s:
            loop.call_later(self.delay_s, self._write, target, frame)
        else:
            self._write(target, frame)

    @staticmethod
    def _write(fd: int, frame: bytes) -> None:
        with contextlib.suppress(OSError):  # a full queue on the far side: lost, as on a congested link
            os.write(fd, frame)


async def main(argv: list[str]) -> None:
    settings, ns_a, dev_a, ns_b, dev_b = argv
    wire = Wire(Path(settings), open_tap(ns_a, dev_a), open_tap(ns_b, dev_b))
    loop = asyncio.get_running_loop()
    a, b = wire.fds
    loop.add_reader(a, wire.forward, a, b)
    loop.add_reader(b, wire.forward, b, a)
    loop.add_signal_handler(signal.SIGHUP, wire.reload)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("wire ready", flush=True)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
