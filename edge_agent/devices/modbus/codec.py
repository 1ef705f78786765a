"""Pure conversions between Modbus registers and values. No IO.

Registers are 16-bit words as the wire carries them (big-endian bytes "AB"). The order names the
position of each byte of the value, most significant first: ABCD is big-endian throughout, CDAB
swaps the words (common on meters), BADC swaps the bytes in each word, DCBA is little-endian.
64-bit values extend the same rule over four words.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from edge_agent.devices.modbus.profile import BIT_FUNCTIONS, Order, ValueDef
from edge_agent.errors import DecodeError
from edge_agent.readings import Value

_STRUCT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f", "float64": ">d"}


def registers_to_bytes(registers: Sequence[int], order: Order) -> bytes:
    """Wire words -> the value's bytes, most significant first."""
    words = list(registers)
    if order in ("CDAB", "DCBA"):
        words.reverse()
    data = b"".join((word & 0xFFFF).to_bytes(2, "big") for word in words)
    if order in ("BADC", "DCBA"):
        data = bytes(b for pair in zip(data[1::2], data[0::2], strict=True) for b in pair)
    return data


def bytes_to_registers(data: bytes, order: Order) -> list[int]:
    """The value's bytes -> wire words; the inverse of `registers_to_bytes`."""
    if order in ("BADC", "DCBA"):
        data = bytes(b for pair in zip(data[1::2], data[0::2], strict=True) for b in pair)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    return words


def raw_value(value: ValueDef, words: Sequence[int] | Sequence[bool]) -> float | int | bool | str:
    """The raw number (or text) before scale and offset. `words` starts at the value's address."""
    if len(words) < value.width:
        raise DecodeError(f"{value.name}: needs {value.width} words, got {len(words)}")
    if value.function in BIT_FUNCTIONS:
        return bool(words[0])
    if value.type == "bool":
        bit = value.bit or 0
        return bool((int(words[0]) >> bit) & 1)
    data = registers_to_bytes([int(w) for w in words[: value.width]], value.order)
    if value.type == "string":
        return data.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
    number: float | int = struct.unpack(_STRUCT[value.type], data)[0]
    return number


def decode(value: ValueDef, words: Sequence[int] | Sequence[bool]) -> dict[str, Value]:
    """Telemetry values from a value's words: the value itself plus any bit-map flags."""
    raw = raw_value(value, words)
    out: dict[str, Value] = {}
    if isinstance(raw, int) and not isinstance(raw, bool) and value.bits:
        out.update({name: bool((raw >> bit) & 1) for name, bit in value.bits.items()})
    if value.enum is not None and isinstance(raw, int) and not isinstance(raw, bool):
        out[value.name] = value.enum.get(raw, f"unknown({raw})")
        return out
    out[value.name] = _scaled(value, raw)
    return out


def _scaled(value: ValueDef, raw: float | int | bool | str) -> Value:
    if isinstance(raw, bool | str):
        return raw
    if isinstance(raw, float) and not math.isfinite(raw):
        return None  # NaN/inf from a meter is "no reading", and JSON cannot carry it
    if value.scale == 1.0 and value.offset == 0.0 and value.decimals is None:
        return raw
    result = raw * value.scale + value.offset
    if value.decimals is not None:
        return round(result, value.decimals)
    return result


def encode(value: ValueDef, engineering: Value) -> list[int] | list[bool]:
    """Engineering value -> words (inverse of `decode`); used by simulators and tests."""
    if value.function in BIT_FUNCTIONS:
        return [bool(engineering)]
    if value.type == "bool":
        return [(1 << (value.bit or 0)) if engineering else 0]
    if value.type == "string":
        data = str(engineering or "").encode("ascii")[: value.length * 2].ljust(value.length * 2, b"\x00")
        return bytes_to_registers(data, value.order)
    raw = _raw_from_engineering(value, engineering)
    return bytes_to_registers(struct.pack(_STRUCT[value.type], raw), value.order)


def _raw_from_engineering(value: ValueDef, engineering: Value) -> float | int:
    if isinstance(engineering, str) and value.enum:
        labels = {label: number for number, label in value.enum.items()}
        return labels[engineering]
    number = float(engineering or 0) if not isinstance(engineering, bool) else float(engineering)
    raw = (number - value.offset) / value.scale if value.scale else 0.0
    if value.type.startswith("float"):
        return raw
    return round(raw)
