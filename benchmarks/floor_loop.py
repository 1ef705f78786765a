"""The floor: the least a program can do to move SDM630 readings from Modbus TCP to MQTT.

No configuration, no outbox, no health, no retries: read the meter's two blocks, decode them with
one struct format each, publish one JSON message per meter (QoS 1), sleep to the next second.
`benchmarks/footprint.py` runs it beside the agent on the same simulated meters.

    python benchmarks/floor_loop.py --modbus-port P --broker-port Q --meters 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusTcpClient

# The SDM630 map of edge_agent/profiles/eastron_sdm630.yaml, as (first register, names); "" = a hole.
BLOCKS = (
    (
        0x00,
        "voltage_l1_v voltage_l2_v voltage_l3_v current_l1_a current_l2_a current_l3_a power_l1_w "
        "power_l2_w power_l3_w apparent_power_l1_va apparent_power_l2_va apparent_power_l3_va "
        "reactive_power_l1_var reactive_power_l2_var reactive_power_l3_var power_factor_l1 power_factor_l2 "
        "power_factor_l3 - - - voltage_avg_v - current_avg_a current_sum_a - power_total_w - "
        "apparent_power_total_va",
    ),
    (
        0x3C,
        "reactive_power_total_var power_factor_total - - - frequency_hz import_energy_kwh "
        "export_energy_kwh import_reactive_kvarh export_reactive_kvarh",
    ),
)


async def _poll(client: AsyncModbusTcpClient, unit: int) -> dict[str, float]:
    values: dict[str, float] = {}
    for address, spec in BLOCKS:
        names = spec.split()
        reply = await client.read_input_registers(address, count=2 * len(names), device_id=unit)
        data = struct.pack(f">{len(reply.registers)}H", *reply.registers)
        for name, number in zip(names, struct.unpack(f">{len(names)}f", data), strict=True):
            if name != "-":
                values[name] = round(number, 3)
    return values


async def _run(modbus_port: int, broker_port: int, meters: int) -> None:
    mqtt_client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="floor")
    mqtt_client.connect("127.0.0.1", broker_port)
    mqtt_client.loop_start()
    modbus = AsyncModbusTcpClient("127.0.0.1", port=modbus_port)
    await modbus.connect()
    next_start = time.monotonic()
    while True:
        for unit in range(1, meters + 1):
            values = await _poll(modbus, unit)
            payload = json.dumps({"ts": int(time.time() * 1000), "values": values}, separators=(",", ":"))
            mqtt_client.publish(f"floor/meter{unit}/telemetry", payload, qos=1)
        next_start += 1.0
        await asyncio.sleep(max(0.0, next_start - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modbus-port", type=int, required=True)
    parser.add_argument("--broker-port", type=int, required=True)
    parser.add_argument("--meters", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_run(args.modbus_port, args.broker_port, args.meters))


if __name__ == "__main__":
    main()
