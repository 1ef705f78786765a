"""How long after a silent uplink cut the centre sees a cabinet's last will, per MQTT keepalive.

    sudo python benchmarks/last_will_delay.py 25 30

Two network namespaces joined by a veth pair (tests/support/netns.py): mosquitto and a subscriber
in one, a paho client with a last will (QoS 1) in the other. After a few publishes, every packet
between them is dropped (nftables DROP: no RST, no ICMP, as when a carrier's link dies or the
cabinet loses power) and the time until the subscriber receives the will is printed. Needs root.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.mosquitto import Broker
from support.netns import NamespacePair, run_in_namespace
from support.ports import free_port
from support.subscriber import Subscriber


def measure(keepalive_s: int, workdir: Path) -> float:
    pair = NamespacePair("wc", "wb").start()
    try:
        port = run_in_namespace(pair.a, free_port)
        broker = Broker(workdir=workdir, port=port, extra_conf=f"listener {port} {pair.ADDRESS_A}")
        run_in_namespace(pair.a, broker.start)
        central = run_in_namespace(pair.a, lambda: Subscriber("127.0.0.1", port, ["lw/#"]))
        central.wait_connected()

        def connect() -> mqtt.Client:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="lw", protocol=mqtt.MQTTv5)
            client.will_set("lw/status", b"lost", qos=1)
            client.connect(pair.ADDRESS_A, port, keepalive=keepalive_s)
            client.loop_start()
            return client

        client = run_in_namespace(pair.b, connect)
        for _ in range(3):
            client.publish("lw/telemetry", b"x", qos=1).wait_for_publish(5)
            time.sleep(1)
        pair.cut()
        cut = time.monotonic()
        will = central.wait_for("lw/status", timeout=4 * keepalive_s + 10)
        client.loop_stop()
        central.close()
        broker.stop()
        return will.at - cut
    finally:
        pair.stop()


def main() -> None:
    for argument in sys.argv[1:] or ["25"]:
        keepalive_s = int(argument)
        with tempfile.TemporaryDirectory(prefix="ea-will-") as work:
            delay = measure(keepalive_s, Path(work))
        nominal = 1.5 * keepalive_s
        print(f"keepalive {keepalive_s} s: last will {delay:.1f} s after the cut (1.5 x: {nominal:.1f} s)")


if __name__ == "__main__":
    main()
