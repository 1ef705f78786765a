"""CSR / Hikvision CSR-I radar output (9600 8N1).

Three output formats, one per function:
- `decode_byte`: one byte per reading, 0x02..0xF0 = 2..240 km/h, 0x00 = no target.
- `decode_direction`: two bytes, direction (F9 closing, F8 away, F7 unknown) then speed.
- `decode_ascii`: four ASCII bytes, a sign then three digits: `+125` closing, `-089` away,
  `*089` unknown (sign meanings inferred from the manual's examples).
All three recognise the boot signature FE FD FD FE (power-up or reset).
"""

from __future__ import annotations

from collections.abc import Callable

from edge_agent.devices.serial.codec import BootFrame, Decoded, Direction, IdleFrame, SpeedFrame

BOOT = b"\xfe\xfd\xfd\xfe"
SPEED_MIN, SPEED_MAX = 0x02, 0xF0
_DIRECTIONS: dict[int, Direction] = {0xF9: "closing", 0xF8: "away", 0xF7: "unknown"}
_SIGNS: dict[int, Direction] = {ord("+"): "closing", ord("-"): "away", ord("*"): "unknown"}


def _boot_at(buffer: bytes, index: int) -> str:
    """'yes' if the boot signature starts here, 'maybe' if the buffer ends in a prefix of it."""
    window = buffer[index : index + len(BOOT)]
    if window == BOOT:
        return "yes"
    if len(window) < len(BOOT) and BOOT.startswith(window):
        return "maybe"
    return "no"


def decode_byte(buffer: bytes) -> Decoded:
    return _scan(buffer, _one_byte)


def decode_direction(buffer: bytes) -> Decoded:
    return _scan(buffer, _direction_and_speed)


def decode_ascii(buffer: bytes) -> Decoded:
    return _scan(buffer, _ascii_reading)


# A step decodes the reading at buffer[i]: it returns how many bytes it used, or None when the
# buffer ends inside the reading (kept as `rest` for the next read).
Step = Callable[[bytes, int, Decoded], int | None]


def _scan(buffer: bytes, step: Step) -> Decoded:
    """Walk the buffer: a boot signature wherever it starts, otherwise one reading per `step`."""
    out = Decoded()
    i = 0
    while i < len(buffer):
        boot = _boot_at(buffer, i)
        if boot == "yes":
            out.frames.append(BootFrame())
            i += len(BOOT)
            continue
        used = None if boot == "maybe" else step(buffer, i, out)
        if used is None:
            out.rest = buffer[i:]
            return out
        i += used
    return out


def _one_byte(buffer: bytes, i: int, out: Decoded) -> int:
    _speed(buffer[i], None, out)
    return 1


def _direction_and_speed(buffer: bytes, i: int, out: Decoded) -> int | None:
    direction = _DIRECTIONS.get(buffer[i])
    if direction is None:
        out.garbage += 1
        return 1
    if i + 1 >= len(buffer):
        return None
    if not _speed(buffer[i + 1], direction, out):
        return 1  # only the direction byte is garbage: the next byte may start a frame
    return 2


def _ascii_reading(buffer: bytes, i: int, out: Decoded) -> int | None:
    direction = _SIGNS.get(buffer[i])
    if direction is None:
        out.garbage += 1
        return 1
    digits = buffer[i + 1 : i + 4]
    if len(digits) < 3 and (not digits or digits.isdigit()):  # may still complete
        return None
    if len(digits) < 3 or not digits.isdigit():
        out.garbage += 1
        return 1
    speed = int(digits)
    out.frames.append(SpeedFrame(speed, direction) if speed else IdleFrame())
    return 4


def _speed(byte: int, direction: Direction | None, out: Decoded) -> bool:
    """One speed byte: a reading, no target (0), or garbage (False)."""
    if byte == 0:
        out.frames.append(IdleFrame())
    elif SPEED_MIN <= byte <= SPEED_MAX:
        out.frames.append(SpeedFrame(byte, direction))
    else:
        out.garbage += 1
        return False
    return True


def encode_byte(speed_kmh: int) -> bytes:
    """A one-byte reading (for simulators): 0 = no target."""
    return bytes([0 if speed_kmh <= 0 else max(SPEED_MIN, min(SPEED_MAX, speed_kmh))])


def encode_direction(speed_kmh: int, direction: Direction = "closing") -> bytes:
    code = {v: k for k, v in _DIRECTIONS.items()}[direction]
    return bytes([code]) + encode_byte(speed_kmh)


def encode_ascii(speed_kmh: int, direction: Direction = "closing") -> bytes:
    sign = {v: chr(k) for k, v in _SIGNS.items()}[direction]
    return f"{sign}{max(0, min(999, speed_kmh)):03d}".encode()
