"""What the camera stack would cost without aiohttp: a projection for issue 16, not the agent's code.

onvif-zeep-async 4.3 is built on aiohttp (its client module imports it, its transport posts with
it), so every cabinet with a camera loads aiohttp (10 MB) even without the page. zeep has its own
async transport on httpx, which zeep and onvif already bring. This script measures that route
with the agent's pieces that do not depend on the library's client: the agent's runtime imported
first (as in onvif_cameras.py), then zeep + httpx, the four services' WSDLs cut as the agent cuts
them (`wsdl_trim`), a WS-Security client, and one camera of the simulator asked
GetDeviceInformation and GetProfiles. onvif itself is not imported (its package `__init__` imports
the aiohttp client): its WSDL files and service table are read from its installed directory.

    .venv/bin/python benchmarks/camera_stack_without_aiohttp.py

Last measured (2026-11-30, this shared machine, three runs): 15.5-15.6 MB (imports 9.4, first
camera 6.0-6.2, of which httpcore + anyio + h11, imported on the first request, are part), against
24.3 MB for the agent's stack (onvif_cameras.py, same basis). Not counted here: the agent's own
camera modules (poller, rules, codec, vendor APIs: about 1 MB), so such a stack would land near
16.5 MB, with the vendor web APIs and WS-Security handshake moved from aiohttp to httpx.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
from table import emit

logging.basicConfig(level=logging.WARNING)
PROCESS = psutil.Process()


def _rss_mb() -> float:
    return PROCESS.memory_info().rss / 2**20


def _onvif_files() -> tuple[str, ModuleType]:
    """The library's WSDL directory and its `definition` module, without importing `onvif`."""
    spec = importlib.util.find_spec("onvif")
    assert spec is not None and spec.submodule_search_locations
    package = spec.submodule_search_locations[0]
    definition_spec = importlib.util.spec_from_file_location("onvif_definition", f"{package}/definition.py")
    assert definition_spec is not None and definition_spec.loader is not None
    definition = importlib.util.module_from_spec(definition_spec)
    definition_spec.loader.exec_module(definition)
    return os.path.join(package, "wsdl"), definition


def _document(wsdl_dir: str, services: dict[str, Any]) -> Any:
    """One zeep Document of the four services, cut as the agent cuts them (client.py does the same
    through the library's Document class)."""
    import zeep
    from zeep.wsdl import Document

    from edge_agent.devices.onvif_camera import wsdl_trim

    trimmed = wsdl_trim.trimmed_documents(wsdl_dir, {n: services[n]["wsdl"] for n in wsdl_trim.OPERATIONS})

    class Trimmed(zeep.transports.Transport):  # type: ignore[misc]  # untyped library
        def load(self, url: str) -> bytes:
            return trimmed.get(os.path.normpath(url)) or Path(url).read_bytes()

    imports = "".join(
        f'<wsdl:import namespace="{services[n]["ns"]}" location="{services[n]["wsdl"]}"/>'
        for n in wsdl_trim.OPERATIONS
    )
    wsdl = "http://schemas.xmlsoap.org/wsdl/"
    wrapper = f'<wsdl:definitions xmlns:wsdl="{wsdl}" targetNamespace="urn:x">{imports}</wsdl:definitions>'
    base = os.path.join(wsdl_dir, "projection.wsdl")
    document = Document(
        io.BytesIO(wrapper.encode()), Trimmed(), base=base, settings=zeep.Settings(strict=False)
    )
    for definition in list(document._definitions.values()):
        document.bindings.update(definition.bindings)
    return document


async def _first_camera(document: Any, port: int, password: str) -> str:
    import httpx
    import zeep
    from zeep.client import AsyncClient
    from zeep.proxy import AsyncServiceProxy
    from zeep.transports import AsyncTransport
    from zeep.wsse.username import UsernameToken

    async with httpx.AsyncClient(verify=False, timeout=5) as http:  # noqa: S501  # plain-HTTP simulator
        transport = AsyncTransport(client=http, wsdl_client=http)
        token = UsernameToken("admin", password, use_digest=True)
        client = AsyncClient(
            wsdl=document, transport=transport, wsse=token, settings=zeep.Settings(strict=False)
        )

        def service(binding: str, path: str) -> Any:
            address = f"http://127.0.0.1:{port}/onvif/{path}"
            return AsyncServiceProxy(client, document.bindings[binding], address=address)

        info = await service(
            "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding", "device_service"
        ).GetDeviceInformation()
        media = service("{http://www.onvif.org/ver10/media/wsdl}MediaBinding", "media_service")
        profiles = await media.GetProfiles()
        return f"{info.Manufacturer}, {len(profiles)} profiles"


async def _measure(port: int, password: str) -> None:
    import edge_agent.cli
    import edge_agent.runtime.agent  # noqa: F401  # the agent's runtime, as onvif_cameras.py
    from edge_agent.memory_trim import release_free_memory

    start = _rss_mb()
    for name in ("httpx._main", "charset_normalizer", "chardet"):  # kept out as soap_stack.py does
        sys.modules[name] = None  # type: ignore[assignment]  # None marks a module absent
    import httpx  # noqa: F401  # imported for the memory measured
    import zeep  # noqa: F401  # imported for the memory measured

    wsdl_dir, definition = _onvif_files()
    imported = _rss_mb()
    document = _document(wsdl_dir, definition.SERVICES)
    release_free_memory()
    answer = await _first_camera(document, port, password)
    one = _rss_mb()
    assert "aiohttp" not in sys.modules and "onvif.client" not in sys.modules
    emit(
        "camera stack without aiohttp (projection): imports",
        f"{imported - start:.1f} MB",
        "zeep, httpx, lxml, requests",
    )
    emit("camera stack without aiohttp (projection): first camera", f"{one - imported:.1f} MB", answer)
    emit(
        "camera stack without aiohttp (projection): fixed cost",
        f"{one - start:.1f} MB",
        "over the agent's runtime; goal <= 15 MB",
    )


def main() -> None:
    from onvif_cameras import PASSWORD, _start_simulators

    with tempfile.TemporaryDirectory() as tmp:
        process, ports = _start_simulators(Path(tmp), 1)
        try:
            asyncio.run(_measure(ports[0], PASSWORD))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
