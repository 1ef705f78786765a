"""Pure conversions between Modbus registers and values. No IO.

Registers are 16-bit words as the wire carries them (big-endian bytes "AB"). The order names the
position of each byte of the value, most significant first: ABCD is big-endian throughout, CDAB
swaps the words (common on meters), BADC swaps the bytes in each word, DCBA is little-endian.
64-bit values extend the same rule over four words.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Sequence

from edge_agent.devices.modbus.profile import BIT_FUNCTIONS, Order, ValueDef
from edge_agent.errors import DecodeError
from edge_agent.readings import Value

_STRUCT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f", "float64": ">d"}
FLOAT32_DIGITS = 7  # significant decimal digits a float32 register holds


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
    return finish(value, raw_value(value, words))


def finish(value: ValueDef, raw: float | int | bool | str) -> dict[str, Value]:
    """Telemetry values from a value's raw number: scaled, labelled, at the register's precision."""
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
    result = raw * value.scale + value.offset if value.scale != 1.0 or value.offset != 0.0 else raw
    decimals = value.decimals
    if decimals is None and isinstance(raw, int):
        decimals = _implied_decimals(value.scale, value.offset)
    if decimals is not None:
        return round(result, decimals)
    if value.type == "float32":  # not the 17 digits of the float64 it was widened to
        return float(f"{result:.{FLOAT32_DIGITS}g}")
    return result


@functools.cache
def _implied_decimals(scale: float, offset: float) -> int | None:
    """Decimals an integer register scaled by `scale` (e.g. 0.1 -> 1) can hold; None if unscaled."""
    if scale == 1.0 and offset == 0.0:
        return None
    places = [len(repr(float(n)).split(".")[1].rstrip("0")) for n in (scale, offset)]
    if "e" in repr(scale) + repr(offset) or max(places) > 9:
        return None  # 1e-05 or a scale like 1/3: no exact decimal places, keep the computed float
    return max(places)


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


class BlockDecoder:
    """Decodes one contiguous register read with one precompiled `struct` format.

    Built once per planned read. Values in their own registers go through the block format (other
    byte orders are first brought to big-endian by one precomputed byte permutation); values that
    share a register with another (bits of a status word) are decoded one by one. A plain number
    (no bits, no labels) goes straight from its field through a conversion chosen once (`_converter`):
    per poll, the general `finish` costs several times the struct unpack.
    """

    def __init__(self, address: int, count: int, values: Sequence[ValueDef]) -> None:
        self.count = count
        self._words = struct.Struct(f">{count}H")
        fields, permutation, self._block, self._single = [">"], list(range(2 * count)), [], []
        cursor = address
        for value in sorted(values, key=lambda v: (v.address, v.width)):
            if value.address < cursor or value.address + value.width > address + count:
                self._single.append(value)
                continue
            start = 2 * (value.address - address)
            if value.order != "ABCD" and value.type != "bool":  # a bit is read from the word as sent
                permutation[start : start + 2 * value.width] = _to_big_endian(start, value.width, value.order)
            fields.append(f"{2 * (value.address - cursor)}x" if value.address > cursor else "")
            fields.append(_FIELD.get(value.type, "H") if value.type != "string" else f"{2 * value.length}s")
            self._block.append(value)
            cursor = value.address + value.width
        fields.append(f"{2 * (address + count - cursor)}x")  # the format spans the whole reply
        self._format = struct.Struct("".join(fields))
        self._fields = [(value, value.name, _converter(value)) for value in self._block]
        self._permute = None if permutation == sorted(permutation) else permutation
        self._address = address

    def decode(self, words: Sequence[int]) -> dict[str, Value]:
        """All values of the read (raises DecodeError when the reply is short)."""
        if len(words) != self.count:
            raise DecodeError(f"read of {self.count} registers answered with {len(words)}")
        data = self._words.pack(*words)
        if self._permute is not None:
            data = bytes(data[i] for i in self._permute)
        out: dict[str, Value] = {}
        for (value, name, convert), raw in zip(self._fields, self._format.unpack(data), strict=True):
            if convert is not None:
                out[name] = convert(raw)
            else:
                out.update(finish(value, _raw_of_field(value, raw)))
        for value in self._single:
            start = value.address - self._address
            out.update(decode(value, words[start : start + value.width]))
        return out


_FIELD = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d"}
_FIELD["bool"] = "H"  # a bit of a register: the whole word, the bit picked afterwards


def _converter(value: ValueDef) -> Callable[[float | int], Value] | None:
    """What `finish` does to a plain number's field, chosen once; None: a value `finish` must take."""
    if value.type in ("bool", "string") or value.bits or value.enum is not None:
        return None
    if value.scale != 1.0 or value.offset != 0.0:
        return functools.partial(_scaled, value)
    if value.type in ("float32", "float64") and value.decimals is not None:  # a meter's usual value
        return functools.partial(_rounded, value.decimals)
    if value.type == "float32" and value.decimals is None:
        return _float32
    return functools.partial(_scaled, value)


def _rounded(decimals: int, raw: float | int) -> Value:
    """`_scaled` of an unscaled float with its decimals given; NaN/inf is "no reading"."""
    return round(raw, decimals) if math.isfinite(raw) else None


def _float32(raw: float | int) -> Value:
    """`_scaled` of an unscaled float32: 7 significant digits; NaN/inf is "no reading"."""
    return float(f"{raw:.{FLOAT32_DIGITS}g}") if math.isfinite(raw) else None


def _to_big_endian(start: int, width: int, order: Order) -> list[int]:
    """Positions in the block of a value's bytes, most significant first (see `registers_to_bytes`)."""
    words = [start + 2 * i for i in range(width)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BADC", "DCBA"):
        return [b for word in words for b in (word + 1, word)]
    return [b for word in words for b in (word, word + 1)]


def _raw_of_field(value: ValueDef, raw: float | int | bytes) -> float | int | bool | str:
    if isinstance(raw, bytes):
        return raw.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
    if value.type == "bool":
        return bool((int(raw) >> (value.bit or 0)) & 1)
    return raw
