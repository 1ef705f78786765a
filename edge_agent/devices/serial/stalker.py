"""Stalker speed sensor output (manual 011-0080-00 Rev E).

Enhanced binary frame: EF (start), FF (destination), 02 (source), 01 (packet type), payload length
LSB MSB, payload, then a 16-bit checksum LSB MSB: the 16-bit sum of the little-endian byte pairs
over header and payload (an odd count pads a zero high byte; inferred from the manual's worked
example). The speed payload (13 bytes): command 00, antenna, target / fast / locked / patrol speed
as 16-bit LE, direction, status, config. The simpler "D4" frame is 02 84 01 <speed> 01 AA 03.
"""

from __future__ import annotations

import struct

from edge_agent.devices.serial.codec import Decoded, Direction, IdleFrame, SpeedFrame

START = 0xEF
HEADER = b"\xef\xff\x02\x01"
HEADER_BYTES = 6
MAX_PAYLOAD = 64
SPEED_PAYLOAD = 13
D4_START = b"\x02\x84\x01"
D4_END = b"\x01\xaa\x03"
_DIRECTION: dict[int, Direction] = {0: "away", 1: "closing"}


def checksum(data: bytes) -> int:
    padded = data + b"\x00" if len(data) % 2 else data
    words: tuple[int, ...] = struct.unpack(f"<{len(padded) // 2}H", padded)
    return sum(words) & 0xFFFF


def decode(buffer: bytes) -> Decoded:
    out = Decoded()
    i = 0
    while i < len(buffer):
        if buffer[i] == START:
            step = _enhanced(buffer, i, out)
        elif buffer[i] == D4_START[0]:
            step = _d4(buffer, i, out)
        else:
            step = -1
        if step == 0:  # a frame may be starting here: wait for more bytes
            out.rest = buffer[i:]
            return out
        if step < 0:
            out.garbage += 1
            step = 1
        i += step
    return out


def _enhanced(buffer: bytes, i: int, out: Decoded) -> int:
    """Bytes consumed by a valid frame at i; 0 = incomplete; -1 = not a frame."""
    head = buffer[i : i + HEADER_BYTES]
    if not HEADER.startswith(head[:4]):
        return -1
    if len(head) < HEADER_BYTES:
        return 0
    length = head[4] | head[5] << 8
    if length > MAX_PAYLOAD:
        return -1
    total = HEADER_BYTES + length + 2
    frame = buffer[i : i + total]
    if len(frame) < total:
        return 0
    if checksum(frame[:-2]) != frame[-2] | frame[-1] << 8:
        return -1
    payload = frame[HEADER_BYTES:-2]
    if length == SPEED_PAYLOAD and payload[0] == 0:
        target = payload[2] | payload[3] << 8
        direction = _DIRECTION.get(payload[10], "unknown")
        out.frames.append(SpeedFrame(target, direction) if target else IdleFrame())
    return total  # other packet types are valid but carry nothing we report


def _d4(buffer: bytes, i: int, out: Decoded) -> int:
    frame = buffer[i : i + 7]
    if not D4_START.startswith(frame[:3]):
        return -1
    if len(frame) < 7:
        return 0 if D4_END.startswith(frame[4:]) else -1
    if frame[4:] != D4_END:
        return -1
    out.frames.append(SpeedFrame(frame[3]) if frame[3] else IdleFrame())
    return 7


def encode(target_kmh: int, *, direction: Direction = "closing", antenna: int = 0) -> bytes:
    """An enhanced-output speed frame (for simulators and tests)."""
    code = {"away": 0, "closing": 1}.get(direction, 2)
    speed = struct.pack("<HHHH", target_kmh, target_kmh, 0, 0)
    payload = bytes([0, antenna]) + speed + bytes([code, 0, 0])
    body = HEADER + struct.pack("<H", len(payload)) + payload
    return body + struct.pack("<H", checksum(body))


def encode_d4(speed_kmh: int) -> bytes:
    return D4_START + bytes([speed_kmh & 0xFF]) + D4_END
