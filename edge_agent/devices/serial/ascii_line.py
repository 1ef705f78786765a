"""Line-based ASCII radars (Houston DR500 style): `nnn\\r\\n`, `000\\r\\n` with no vehicle.

A line is an optional sign and 1-4 digits, ended by LF (CR optional). Anything else on a line is
garbage; a line longer than `MAX_LINE` without an end is dropped so noise cannot grow memory.
"""

from __future__ import annotations

import re

from edge_agent.devices.serial.codec import Decoded, Direction, IdleFrame, SpeedFrame

MAX_LINE = 32
_LINE = re.compile(rb"^\s*([+-]?)(\d{1,4})\s*$")
_SIGN: dict[bytes, Direction] = {b"+": "closing", b"-": "away"}


def decode(buffer: bytes) -> Decoded:
    out = Decoded()
    start = 0
    while True:
        end = buffer.find(b"\n", start)
        if end < 0:
            break
        _line(buffer[start:end], out)
        start = end + 1
    tail = buffer[start:]
    if len(tail) > MAX_LINE:
        out.garbage += len(tail)
        tail = b""
    out.rest = tail
    return out


def _line(line: bytes, out: Decoded) -> None:
    match = _LINE.match(line.rstrip(b"\r"))
    if match is None:
        out.garbage += len(line) + 1
        return
    speed = int(match.group(2))
    direction = _SIGN.get(match.group(1))
    out.frames.append(SpeedFrame(speed, direction) if speed else IdleFrame())


def encode(speed_kmh: int) -> bytes:
    return f"{max(0, speed_kmh):03d}\r\n".encode()
