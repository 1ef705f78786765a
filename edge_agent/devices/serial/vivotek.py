"""Vivotek CAMATE-style illuminator protocol: `FF addr cmd d1 d2 d3 d4 chk`, request and reply alike.

chk = sum of bytes 2..7 (addr, cmd, d1..d4) mod 256 (inferred from the manual's examples).
Read commands and how we read their data bytes (the multi-byte layout is inferred):
30 temperatures: d1 LED, d2 MCU, signed bytes in °C; 31 supply voltage, mV (d1..d4 big-endian);
35 power-on hours; 36 LED-on hours; 37 ambient light %; 38 boot count; 3A..3D LED string 1-4
voltage, mV; 3F error bits (b0 watchdog reset, b2 EEPROM write fail, b8-b11 LED driver 1-4
voltage out of range, b17 temperature sensor fail).
"""

from __future__ import annotations

from edge_agent.devices.serial.codec import Decoded, IlluminatorReply
from edge_agent.readings import Severity

START = 0xFF
FRAME_BYTES = 8
TEMPERATURES, SUPPLY_MV, POWER_ON_H, LED_ON_H, AMBIENT, BOOTS, ERRORS = (
    0x30,
    0x31,
    0x35,
    0x36,
    0x37,
    0x38,
    0x3F,
)
LED_STRINGS = (0x3A, 0x3B, 0x3C, 0x3D)
ERROR_BITS: dict[int, tuple[str, Severity, str]] = {
    0: ("watchdog_reset", "warning", "the illuminator's watchdog reset it"),
    2: ("eeprom_write_failed", "warning", "EEPROM write failed"),
    8: ("led_driver_1_voltage", "critical", "LED driver 1 voltage out of range"),
    9: ("led_driver_2_voltage", "critical", "LED driver 2 voltage out of range"),
    10: ("led_driver_3_voltage", "critical", "LED driver 3 voltage out of range"),
    11: ("led_driver_4_voltage", "critical", "LED driver 4 voltage out of range"),
    17: ("temperature_sensor_failed", "critical", "temperature sensor failed"),
}


def chk(body: bytes) -> int:
    return sum(body) & 0xFF


def request(address: int, command: int, data: bytes = b"\x00\x00\x00\x00") -> bytes:
    body = bytes([address & 0xFF, command & 0xFF]) + data[:4].ljust(4, b"\x00")
    return bytes([START]) + body + bytes([chk(body)])


def decode(buffer: bytes) -> Decoded:
    out = Decoded()
    i = 0
    while i < len(buffer):
        if buffer[i] != START:
            out.garbage += 1
            i += 1
            continue
        frame = buffer[i : i + FRAME_BYTES]
        if len(frame) < FRAME_BYTES:
            out.rest = frame
            return out
        if chk(frame[1:7]) != frame[7]:
            out.garbage += 1
            i += 1
            continue
        out.frames.append(IlluminatorReply(frame[1], frame[2], bytes(frame[3:7])))
        i += FRAME_BYTES
    return out


def unsigned(data: bytes) -> int:
    return int.from_bytes(data, "big")


def signed_byte(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def temperatures(data: bytes) -> tuple[int, int]:
    """(LED °C, MCU °C) from a 0x30 reply."""
    return signed_byte(data[0]), signed_byte(data[1])
