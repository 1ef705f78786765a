"""The ONVIF WSDLs cut to the operations the agent calls: the same operations, the same types."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

logging.basicConfig(level=logging.WARNING)  # before the onvif import, as the agent does

from edge_agent.devices.onvif_camera import client, wsdl_trim  # noqa: E402  # after logging is set up
from edge_agent.devices.onvif_camera.soap_stack import SERVICES, WSDL_PATH, onvif  # noqa: E402  # same reason

TT = "http://www.onvif.org/ver10/schema"
BINDINGS = {
    "devicemgmt": "DeviceBinding",
    "media": "MediaBinding",
    "recording": "RecordingBinding",
    "search": "SearchBinding",
}


def _operations() -> Iterator[tuple[str, str]]:
    for service, operations in wsdl_trim.OPERATIONS.items():
        for operation in operations:
            yield service, operation


@pytest.fixture(scope="module")
def trimmed() -> Any:
    return client._load_shared_document()


def _binding(document: Any, service: str) -> Any:
    return document.bindings[f"{{{SERVICES[service]['ns']}}}{BINDINGS[service]}"]


def _stock(service: str) -> Any:
    path = f"{WSDL_PATH}/{SERVICES[service]['wsdl']}"
    return onvif.client.Document(path, onvif.client.ASYNC_TRANSPORT, settings=onvif.settings.DEFAULT_SETTINGS)


@pytest.mark.parametrize("service", list(wsdl_trim.OPERATIONS))
def test_each_operation_has_the_stock_signature(trimmed: Any, service: str) -> None:
    stock_document = _stock(service)
    stock = _binding(stock_document, service)
    cut = _binding(trimmed, service)
    assert sorted(cut._operations) == sorted(wsdl_trim.OPERATIONS[service])
    for name in wsdl_trim.OPERATIONS[service]:
        ours, theirs = cut.get(name), stock.get(name)
        for side in ("input", "output"):
            mine, stock_side = getattr(ours, side), getattr(theirs, side)
            assert _spelled_out(mine.signature(), trimmed.types) == _spelled_out(
                stock_side.signature(), stock_document.types
            ), (name, side)
        assert ours.soapaction == theirs.soapaction, name


def test_the_request_sent_is_the_stock_one(trimmed: Any) -> None:
    from lxml import etree

    params = {
        "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
        "ProfileToken": "p0",
    }
    envelopes = []
    for document in (trimmed, _stock("media")):
        operation = _binding(document, "media").get("GetStreamUri")
        envelopes.append(etree.tostring(operation.input.serialize(**params).content))
    assert envelopes[0] == envelopes[1]


def test_only_what_the_operations_reach_is_kept() -> None:
    files = {name: SERVICES[name]["wsdl"] for name in wsdl_trim.OPERATIONS}
    documents = wsdl_trim.trimmed_documents(WSDL_PATH, files)
    schema = next(body for path, body in documents.items() if path.endswith("onvif.xsd"))
    assert b'name="Profile"' in schema and b'name="RecordingJobStateInformation"' in schema
    assert b'name="PTZNode"' not in schema  # the PTZ service's own types
    with open(f"{WSDL_PATH}/onvif.xsd", "rb") as stock:
        assert len(schema) < len(stock.read()) / 3


def test_an_operation_the_files_lack_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(wsdl_trim.OPERATIONS, "media", ("GetProfiles", "GetTeleportation"))  # type: ignore[arg-type]  # a Mapping at rest, a dict here
    files = {name: SERVICES[name]["wsdl"] for name in wsdl_trim.OPERATIONS}
    with pytest.raises(ValueError, match="GetTeleportation"):
        wsdl_trim.trimmed_documents(WSDL_PATH, files)


def test_every_type_kept_is_the_stock_one(trimmed: Any) -> None:
    stock = _stock("devicemgmt").types  # its onvif.xsd is whole
    kept = [t for t in trimmed.types.types if t.qname is not None and t.qname.namespace == TT]
    assert len(kept) > 100
    for xsd_type in kept:
        theirs = stock.get_type(xsd_type.qname)
        ours = _spelled_out(xsd_type.signature(schema=trimmed.types), trimmed.types)
        assert ours == _spelled_out(theirs.signature(schema=stock), stock), xsd_type.qname


def _spelled_out(signature: str, schema: Any) -> str:
    """The signature with zeep's per-document prefixes (ns0, ns1...) replaced by their namespaces."""
    return re.sub(r"\b(ns\d+):", lambda m: "{" + schema.prefix_map[m.group(1)] + "}", signature)


def test_every_operation_the_agent_calls_is_kept() -> None:
    """A call of an operation the WSDLs are not cut to would fail on every camera: none in the code."""
    package = Path(wsdl_trim.__file__).parents[2]
    call = re.compile(r"call\(\s*\"(\w+)\",\s*\"(\w+)\"")
    called = {match.groups() for path in package.rglob("*.py") for match in call.finditer(path.read_text())}
    assert ("devicemgmt", "SetSystemDateAndTime") in called  # the scan sees calls split over lines
    assert {(s, op) for s, op in called if op not in wsdl_trim.OPERATIONS.get(s, ())} == set()


async def test_another_operation_is_refused_before_the_camera_is_asked() -> None:
    session = client.OnvifSession("127.0.0.1", 9, "admin", "pw", max_response_bytes=1024)  # never dialled
    with pytest.raises(NotImplementedError, match=r"devicemgmt\.GetHostname"):
        await session.call("devicemgmt", "GetHostname")
