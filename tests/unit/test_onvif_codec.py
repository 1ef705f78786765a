"""Vendor SD-card answers and ONVIF values: parsing, hostile input, nominal card size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.devices.onvif_camera import codec
from edge_agent.devices.onvif_camera.codec import StorageStatus
from edge_agent.errors import CodecError
from edge_agent.simulators.onvif_camera import soap, vendor
from edge_agent.simulators.onvif_camera.states import state_named

GIB = 2**30
PARSERS = [codec.parse_hikvision, codec.parse_dahua, codec.parse_axis]


@pytest.mark.parametrize("name", ["hikvision", "dahua", "axis"])
@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("healthy", "ok"),
        ("missing_card", "missing"),
        ("card_error", "error"),
        ("unformatted_card", "unformatted"),
    ],
)
def test_vendor_answers_as_the_simulator_renders_them(name: str, state: str, expected: str) -> None:
    body, _ = vendor.RENDER[name](state_named(state))
    status = getattr(codec, f"parse_{name}")(body.encode())
    assert status.state == expected
    if expected == "ok":
        assert 118 * GIB <= status.capacity_bytes <= 119 * GIB
        assert 0 < status.free_bytes < status.capacity_bytes


def test_hikvision_real_shape() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<storage version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><hddList size="1">
<hdd version="2.0"><id>1</id><hddName>hdd1</hddName><hddPath></hddPath><hddType>SD</hddType>
<status>ok</status><capacity>121856</capacity><freeSpace>256</freeSpace><property>RW</property></hdd>
</hddList></storage>"""
    assert codec.parse_hikvision(body) == StorageStatus("ok", 121856 * 2**20, 256 * 2**20)


@pytest.mark.parametrize(
    ("reported_bytes", "nominal"),
    [(116 * GIB, 128), (119 * GIB, 128), (29 * GIB, 32), (58 * GIB, 64), (238 * GIB, 256), (0, None)],
)
def test_nominal_size_judges_the_label(reported_bytes: int, nominal: int | None) -> None:
    assert codec.nominal_size_gb(reported_bytes) == nominal


@pytest.mark.parametrize("parse", [codec.parse_hikvision, codec.parse_axis])
@pytest.mark.parametrize("payload", [soap.XML_BOMB, soap.EXTERNAL_ENTITY, soap.MALFORMED, "", "<storage>"])
def test_hostile_xml_refused(parse: object, payload: str) -> None:
    with pytest.raises(CodecError):
        parse(payload.encode())  # type: ignore[operator]  # the callable comes from a strategy typed as object


def test_dahua_garbage_refused() -> None:
    with pytest.raises(CodecError):
        codec.parse_dahua(b"\xff\xfe\x00garbage")
    with pytest.raises(CodecError):
        codec.parse_dahua(b"list.info[0].Detail[0].TotalBytes=nan\r\nlist.info[0].State=Success")
    with pytest.raises(CodecError):
        codec.parse_dahua(b"<html>login page</html>")


@given(st.binary(max_size=2048))
def test_parsers_raise_only_codec_errors(data: bytes) -> None:
    for parse in PARSERS:
        try:
            status = parse(data)
        except CodecError:
            continue
        assert status.state in ("ok", "missing", "unformatted", "error")
        assert status.free_bytes >= 0


@given(st.integers(min_value=0, max_value=2**20), st.integers(min_value=0, max_value=2**20))
def test_hikvision_numbers_round_trip(capacity_mb: int, free_mb: int) -> None:
    body = (
        f"<storage><hddList><hdd><status>ok</status><capacity>{capacity_mb}</capacity>"
        f"<freeSpace>{free_mb}</freeSpace></hdd></hddList></storage>"
    ).encode()
    status = codec.parse_hikvision(body)
    assert status.capacity_bytes == capacity_mb * 2**20
    assert status.free_bytes == min(free_mb, capacity_mb) * 2**20


@pytest.mark.parametrize(
    ("uri", "clean"),
    [
        ("rtsp://admin:pw@10.0.0.5:554/Streaming/101", "rtsp://10.0.0.5:554/Streaming/101"),
        ("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"),
    ],
)
def test_stream_uri_loses_credentials(uri: str, clean: str) -> None:
    assert codec.strip_userinfo(uri) == clean


def test_camera_utc_refuses_missing_fields() -> None:
    with pytest.raises(CodecError):
        codec.camera_utc(None)
