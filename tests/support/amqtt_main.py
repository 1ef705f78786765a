"""Run an amqtt broker (MQTT 3.1.1 only) on 127.0.0.1; prints `PORT <n>` once it listens.

Started by `support.amqtt_broker` as a separate process, so a test can kill it like a crashed broker.
Usage: python amqtt_main.py PORT (0: the OS chooses).
"""

from __future__ import annotations

import asyncio
import sys

from amqtt.broker import Broker


async def main(port: int) -> None:
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    server = broker._servers["default"].instance  # amqtt has no public accessor for the bound port
    assert server is not None
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
