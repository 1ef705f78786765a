"""Request planning: cover the profile's values with as few reads as the protocol allows.

Values of one table are sorted by address and merged into one read while the span stays within
the per-request limit (125 registers / 2000 bits, or the device's own lower limit) and the hole
between two values is at most `max_gap` words. Reading a small gap is cheaper than a second
round trip at 9600 baud; devices that refuse reads over unmapped addresses get `max_gap: 0`.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.devices.modbus.profile import BIT_FUNCTIONS, Function, ValueDef


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One Modbus read: table, first address, count, and the values it carries."""

    function: Function
    address: int
    count: int
    values: tuple[ValueDef, ...]

    def words_of(self, value: ValueDef, words: list[int] | list[bool]) -> list[int] | list[bool]:
        """The slice of a reply that belongs to `value`."""
        start = value.address - self.address
        return words[start : start + value.width]


def plan(
    values: list[ValueDef], *, max_registers: int = 125, max_bits: int = 2000, max_gap: int = 10
) -> list[ReadRequest]:
    """Group values into reads, in a stable order (by table, then address)."""
    requests: list[ReadRequest] = []
    for function in ("coil", "discrete_input", "holding", "input"):
        table = sorted((v for v in values if v.function == function), key=lambda v: (v.address, v.width))
        limit = max_bits if function in BIT_FUNCTIONS else max_registers
        requests.extend(_merge(function, table, limit, max_gap))
    return requests


def _merge(function: Function, table: list[ValueDef], limit: int, max_gap: int) -> list[ReadRequest]:
    requests: list[ReadRequest] = []
    group: list[ValueDef] = []
    start = end = 0  # the group covers [start, end)
    for value in table:
        value_end = value.address + value.width
        if group and value.address - end <= max_gap and max(end, value_end) - start <= limit:
            group.append(value)
            end = max(end, value_end)
            continue
        if group:
            requests.append(ReadRequest(function, start, end - start, tuple(group)))
        group, start, end = [value], value.address, value_end
    if group:
        requests.append(ReadRequest(function, start, end - start, tuple(group)))
    return requests
