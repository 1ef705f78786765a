"""Modbus codec: data types, the four byte/word orders, scale/offset, enums and bit maps."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.devices.modbus.codec import BlockDecoder, decode, encode, registers_to_bytes
from edge_agent.devices.modbus.profile import ValueDef
from edge_agent.errors import DecodeError


def _value(**fields: Any) -> ValueDef:
    return ValueDef.model_validate({"name": "x", "address": 0, **fields})


@pytest.mark.parametrize(
    ("order", "words"),
    [
        ("ABCD", [0x4366, 0x8000]),
        ("CDAB", [0x8000, 0x4366]),
        ("BADC", [0x6643, 0x0080]),
        ("DCBA", [0x0080, 0x6643]),
    ],
)
def test_float32_in_every_order(order: str, words: list[int]) -> None:
    assert decode(_value(type="float32", order=order), words) == {"x": 230.5}


def test_bytes_of_each_order() -> None:
    words = [0x0102, 0x0304]
    assert registers_to_bytes(words, "ABCD") == bytes([1, 2, 3, 4])
    assert registers_to_bytes(words, "CDAB") == bytes([3, 4, 1, 2])
    assert registers_to_bytes(words, "BADC") == bytes([2, 1, 4, 3])
    assert registers_to_bytes(words, "DCBA") == bytes([4, 3, 2, 1])


def test_integer_types_and_scaling() -> None:
    assert decode(_value(type="int16", scale=0.1, decimals=1), [0xFF85]) == {"x": -12.3}
    assert decode(_value(type="uint16"), [0xFF85]) == {"x": 65413}
    assert decode(_value(type="int32"), [0xFFFF, 0xFFFE]) == {"x": -2}
    assert decode(_value(type="uint32", order="CDAB"), [0x0002, 0x0001]) == {"x": 0x10002}
    assert decode(_value(type="uint16", scale=2, offset=-10), [15]) == {"x": 20}


def test_float64_string_enum_bits_and_bool() -> None:
    words = encode(_value(type="float64"), 12345.678)
    assert decode(_value(type="float64"), words) == {"x": 12345.678}
    assert decode(_value(type="string", length=3), [0x5344, 0x4D36, 0x3330]) == {"x": "SDM630"}
    assert decode(_value(type="uint16", enum={0: "off", 1: "on"}), [1]) == {"x": "on"}
    assert decode(_value(type="uint16", enum={0: "off"}), [7]) == {"x": "unknown(7)"}
    flagged = decode(_value(type="uint16", bits={"door_open": 0, "leak": 3}), [0b1001])
    assert flagged == {"x": 9, "door_open": True, "leak": True}
    assert decode(_value(type="bool", function="holding", bit=4), [0x10]) == {"x": True}
    assert decode(_value(type="bool", function="coil"), [False]) == {"x": False}


def test_nan_is_no_reading_and_short_input_is_an_error() -> None:
    assert decode(_value(type="float32"), [0x7FC0, 0x0000]) == {"x": None}
    with pytest.raises(DecodeError):
        decode(_value(type="float32"), [0x4366])


def test_profile_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="type must be bool"):
        _value(function="coil", type="uint16")


@given(
    number=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    order=st.sampled_from(["ABCD", "CDAB", "BADC", "DCBA"]),
    type_=st.sampled_from(["float32", "float64"]),
)
@settings(max_examples=200, deadline=None)
def test_encode_decode_round_trip(number: float, order: str, type_: str) -> None:
    value = _value(type=type_, order=order)
    got = decode(value, encode(value, number))["x"]
    assert isinstance(got, float)
    assert math.isclose(got, number, rel_tol=1e-6, abs_tol=1e-30 if type_ == "float64" else 1e-6)


@given(words=st.lists(st.integers(0, 0xFFFF), min_size=4, max_size=4))
@settings(max_examples=100, deadline=None)
def test_any_words_decode_without_raising(words: list[int]) -> None:
    for type_ in ("int16", "uint16", "int32", "uint32", "float32", "float64", "string"):
        decode(_value(type=type_, length=4), words)


_LAYOUT = st.lists(
    st.tuples(
        st.integers(0, 12),  # address
        st.sampled_from(["int16", "uint16", "int32", "uint32", "float32", "float64", "string", "bool"]),
        st.sampled_from(["ABCD", "CDAB", "BADC", "DCBA"]),
        st.sampled_from([1.0, 0.1, 0.01, 2.0]),
        st.sampled_from([{}, {"decimals": 2}, {"offset": 1.5}, {"decimals": 0, "offset": -40.0}]),
    ),
    min_size=1,
    max_size=8,
)


@given(layout=_LAYOUT, data=st.data())
@settings(max_examples=200, deadline=None)
def test_block_decoder_matches_value_by_value_decoding(layout: list[Any], data: st.DataObject) -> None:
    values = [
        _value(
            name=f"v{i}",
            address=a,
            type=t,
            order=o,
            scale=s,
            length=3,
            bit=i if t == "bool" else None,
            **more,
        )
        for i, (a, t, o, s, more) in enumerate(layout)
    ]
    count = max(v.address + v.width for v in values)  # the read starts at address 0
    words = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=count, max_size=count))
    expected: dict[str, Any] = {}
    for value in values:
        expected.update(decode(value, words[value.address : value.address + value.width]))
    got = BlockDecoder(0, count, values).decode(words)
    assert got.keys() == expected.keys()
    for name, number in got.items():
        assert type(number) is type(expected[name])  # 230 and 230.0 are not the same JSON
        assert number == expected[name] or (number != number and expected[name] != expected[name])
    with pytest.raises(DecodeError):
        BlockDecoder(0, count, values).decode(words[:-1])


def test_float32_is_sent_at_its_own_precision() -> None:
    words = encode(_value(type="float32"), 229.87)
    assert decode(_value(type="float32"), words) == {"x": 229.87}  # not 229.8699951171875
    assert decode(_value(type="uint16", scale=0.1), [2301]) == {"x": 230.1}  # not 230.10000000000002
