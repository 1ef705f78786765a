"""Serial frame codecs: known frames, and fuzzing with hypothesis (nothing escapes, frames survive)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge_agent.devices.serial import ascii_line, csr, stalker, vivotek
from edge_agent.devices.serial.codec import (
    MAX_TAIL_BYTES,
    BootFrame,
    Codec,
    Deframer,
    Frame,
    IdleFrame,
    IlluminatorReply,
    SpeedFrame,
)

Encoder = Callable[[Frame], bytes]


def _csr_byte(frame: Frame) -> bytes:
    if isinstance(frame, BootFrame):
        return csr.BOOT
    return csr.encode_byte(frame.speed_kmh if isinstance(frame, SpeedFrame) else 0)


def _csr_direction(frame: Frame) -> bytes:
    if isinstance(frame, BootFrame):
        return csr.BOOT
    assert isinstance(frame, SpeedFrame)
    return csr.encode_direction(frame.speed_kmh, frame.direction or "unknown")


def _csr_ascii(frame: Frame) -> bytes:
    if isinstance(frame, BootFrame):
        return csr.BOOT
    assert isinstance(frame, SpeedFrame)
    return csr.encode_ascii(frame.speed_kmh, frame.direction or "unknown")


def _stalker(frame: Frame) -> bytes:
    assert isinstance(frame, SpeedFrame)
    return stalker.encode(frame.speed_kmh, direction=frame.direction or "closing")


def _ascii_line(frame: Frame) -> bytes:
    assert isinstance(frame, SpeedFrame)
    return ascii_line.encode(frame.speed_kmh)


def _vivotek(frame: Frame) -> bytes:
    assert isinstance(frame, IlluminatorReply)
    return vivotek.request(frame.address, frame.command, frame.data)


speeds = st.integers(min_value=2, max_value=240)
directed = st.builds(SpeedFrame, speeds, st.sampled_from(["closing", "away", "unknown"]))
plain = st.builds(SpeedFrame, speeds)
boots = st.just(BootFrame())
replies = st.builds(
    IlluminatorReply, st.integers(0, 255), st.integers(0x30, 0x3F), st.binary(min_size=4, max_size=4)
)

# codec, encoder, frames it can carry, bytes that may start a frame (kept out of embedding garbage)
CODECS: dict[str, tuple[Codec, Encoder, st.SearchStrategy[Frame], bytes]] = {
    "csr": (csr.decode_byte, _csr_byte, st.one_of(plain, boots), b""),
    "csr_direction": (csr.decode_direction, _csr_direction, st.one_of(directed, boots), b"\xf7\xf8\xf9\xfe"),
    "csr_ascii": (csr.decode_ascii, _csr_ascii, st.one_of(directed, boots), b"+-*\xfe"),
    "stalker": (
        stalker.decode,
        _stalker,
        st.builds(SpeedFrame, speeds, st.sampled_from(["closing", "away"])),
        b"\xef\x02",
    ),
    "ascii_line": (ascii_line.decode, _ascii_line, plain, b""),
    "vivotek": (vivotek.decode, _vivotek, replies, b"\xff"),
}


def _frames_of(result_frames: list[Frame]) -> list[Frame]:
    return [f for f in result_frames if not isinstance(f, IdleFrame)]


def _is_subsequence(needle: list[Frame], haystack: list[Frame]) -> bool:
    it = iter(haystack)
    return all(any(item == candidate for candidate in it) for item in needle)


@pytest.mark.parametrize("name", CODECS)
@given(data=st.binary(max_size=600))
@settings(max_examples=150, deadline=None)
def test_random_bytes_never_raise(name: str, data: bytes) -> None:
    codec = CODECS[name][0]
    result = codec(data)
    assert result.garbage <= len(data)
    assert len(result.rest) <= len(data)
    deframer = Deframer(codec)
    for start in range(0, len(data), 7):  # the same bytes in arbitrary chunks
        deframer.feed(data[start : start + 7])
    assert len(deframer._tail) <= MAX_TAIL_BYTES


@pytest.mark.parametrize("name", CODECS)
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_valid_frames_in_garbage_are_found(name: str, data: st.DataObject) -> None:
    codec, encoder, frame_strategy, starters = CODECS[name]
    frames = data.draw(st.lists(frame_strategy, min_size=1, max_size=8))
    garbage_bytes = st.binary(max_size=20).map(lambda b: bytes(x for x in b if x not in starters))
    if name == "ascii_line":  # a line protocol resynchronises at the next line end
        garbage_bytes = garbage_bytes.map(lambda b: b.replace(b"\n", b"") + b"\n")
    stream = b""
    for frame in frames:
        stream += data.draw(garbage_bytes) + encoder(frame)
    cut = data.draw(st.integers(0, len(stream)))
    deframer = Deframer(codec)
    found = deframer.feed(stream[:cut]) + deframer.feed(stream[cut:])  # split anywhere
    assert _is_subsequence(frames, _frames_of(found)), (frames, found)


@pytest.mark.parametrize("name", ["csr_direction", "csr_ascii", "stalker", "vivotek"])
@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_truncated_and_corrupted_frames_do_not_hide_the_next(name: str, data: st.DataObject) -> None:
    codec, encoder, frame_strategy, _ = CODECS[name]
    broken = bytearray(encoder(data.draw(frame_strategy)))
    if data.draw(st.booleans(), label="truncate"):
        broken = broken[: data.draw(st.integers(1, max(1, len(broken) - 1)))]
    else:  # corrupt one byte
        index = data.draw(st.integers(0, len(broken) - 1))
        broken[index] ^= data.draw(st.integers(1, 255))
    broken = bytes(broken)
    good = data.draw(frame_strategy)
    encoded = encoder(good)
    # With an 8-bit checksum a truncated frame plus the next frame's first bytes can be a valid
    # frame by chance: the bytes are then truly ambiguous, and no decoder can tell.
    assume(not _frames_of(codec(broken + encoded[:-1]).frames))
    found = _frames_of(codec(broken + encoded).frames)
    assert found[-1:] == [good] or good in found


def test_known_frames() -> None:
    assert csr.decode_byte(b"\x00\x58\xfe\xfd\xfd\xfe").frames == [IdleFrame(), SpeedFrame(88), BootFrame()]
    assert csr.decode_direction(b"\xf8\x3c").frames == [SpeedFrame(60, "away")]
    assert csr.decode_ascii(b"+125*089").frames == [SpeedFrame(125, "closing"), SpeedFrame(89, "unknown")]
    assert ascii_line.decode(b"087\r\n000\r\n").frames == [SpeedFrame(87), IdleFrame()]
    assert stalker.decode(stalker.encode_d4(55)).frames == [SpeedFrame(55)]
    frame = stalker.encode(87)
    assert len(frame) == 21 and frame[:6] == b"\xef\xff\x02\x01\x0d\x00"
    assert stalker.decode(frame[:-1] + bytes([frame[-1] ^ 1])).frames == []  # checksum checked
    reply = vivotek.request(1, 0x30, b"\x2d\xf6\x00\x00")
    assert reply == bytes.fromhex("ff01302df6000054")
    assert vivotek.temperatures(vivotek.decode(reply).frames[0].data) == (45, -10)  # type: ignore[union-attr]  # known to be present at this point of the test


def test_partial_boot_signature_waits_for_more() -> None:
    deframer = Deframer(csr.decode_byte)
    assert deframer.feed(b"\x50\xfe\xfd") == [SpeedFrame(80)]
    assert deframer.feed(b"\xfd\xfe") == [BootFrame()]
