"""Frame codecs for serial devices: pure functions from received bytes to frames. No IO.

Every codec has the signature ``decode(buffer) -> Decoded``: the frames found, the unconsumed
tail (an incomplete frame to prepend to the next chunk) and how many bytes were skipped as
garbage while resynchronising. A codec never raises on any input; garbage only costs bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["closing", "away", "unknown"]

# Bound on the tail kept between reads: a stream that never completes a frame cannot grow memory.
MAX_TAIL_BYTES = 256


@dataclass(frozen=True, slots=True)
class SpeedFrame:
    """A speed reading. ``speed_kmh`` as the radar sent it (range checks are the poller's job)."""

    speed_kmh: int
    direction: Direction | None = None


@dataclass(frozen=True, slots=True)
class IdleFrame:
    """The radar reports no target (CSR 0x00, ASCII 000)."""


@dataclass(frozen=True, slots=True)
class BootFrame:
    """The radar's power-up signature: it has just restarted."""


@dataclass(frozen=True, slots=True)
class IlluminatorReply:
    """One reply of a Vivotek-style illuminator: its address, the command, four data bytes."""

    address: int
    command: int
    data: bytes


Frame = SpeedFrame | IdleFrame | BootFrame | IlluminatorReply


@dataclass(slots=True)
class Decoded:
    frames: list[Frame] = field(default_factory=list)
    rest: bytes = b""
    garbage: int = 0


Codec = Callable[[bytes], Decoded]


def bounded(result: Decoded) -> Decoded:
    """Drop the oldest bytes of an over-long tail, counting them as garbage."""
    excess = len(result.rest) - MAX_TAIL_BYTES
    if excess > 0:
        result.garbage += excess
        result.rest = result.rest[excess:]
    return result


class Deframer:
    """Feeds chunks through a codec, carrying the tail over; counts frames and garbage."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self._tail = b""
        self.garbage_bytes = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        result = bounded(self.codec(self._tail + chunk))
        self._tail = result.rest
        self.garbage_bytes += result.garbage
        return result.frames

    def reset(self) -> None:
        self._tail = b""
