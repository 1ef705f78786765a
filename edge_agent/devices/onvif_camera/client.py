"""The ONVIF library, hardened: safe XML settings, a response size cap, clock-skew compensation.

Importing this module imports `onvif` (and zeep): only the poller does, lazily. The agent has set
up logging by then, so the library's `logging.basicConfig` call on import is a no-op.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import os
from typing import Any

import aiohttp

from edge_agent.devices.onvif_camera import codec, wsdl_trim
from edge_agent.devices.onvif_camera.failures import classify
from edge_agent.devices.onvif_camera.signing import DateWitness, read_clock
from edge_agent.devices.onvif_camera.soap_stack import (
    SERVICES,
    WSDL_PATH,
    AsyncTransportProtocolErrorHandler,
    ONVIFCamera,
    ONVIFService,
    onvif,
    zeep,
)
from edge_agent.errors import AuthFailed, HttpStatusError, ResponseTooLarge
from edge_agent.memory_trim import release_free_memory

_CHUNK = 65536


def _harden_xml_settings() -> None:
    """The library parses answers with `xml_huge_tree=True` and allows DTDs; camera answers are
    hostile input, so forbid DTDs, entities and external references and keep libxml2's limits.
    The bundled WSDLs need none of these (they load fine with the same settings)."""
    settings = onvif.settings.DEFAULT_SETTINGS
    settings.xml_huge_tree = False
    settings.forbid_dtd = True
    settings.forbid_entities = True
    settings.forbid_external = True


_harden_xml_settings()
# At DEBUG the library's transport logs whole envelopes, WS-Security digest and nonce included:
# enough for an offline guess at the password. Never below INFO, whatever the agent's level.
logging.getLogger("onvif.zeep_aiohttp").setLevel(max(logging.INFO, logging.getLogger().level))

# The services the poller uses. Their WSDLs all import the same large onvif.xsd; loaded one by one,
# each would parse its own copy of it (about 6 MB of zeep types each). They are loaded instead as
# ONE document, once per process, on first use, cut to the operations the agent calls
# (`wsdl_trim`): the types are built once and shared by every service and camera. Other services
# (if any caller asks) go through the library's own loading.
USED_SERVICES = tuple(wsdl_trim.OPERATIONS)
_USED_WSDLS = {os.path.join(WSDL_PATH, SERVICES[name]["wsdl"]) for name in USED_SERVICES}
_library_document = onvif.client._cached_document
_shared: Any = None  # the shared zeep Document, once loaded
_shared_lock: asyncio.Lock | None = None


async def _document(url: str) -> Any:  # a zeep Document (zeep is untyped)
    """The WSDL document for `url`: the shared one for the services the checks use."""
    global _shared, _shared_lock
    if url not in _USED_WSDLS:
        return await _library_document(url)
    _shared_lock = _shared_lock or asyncio.Lock()
    async with _shared_lock:
        if _shared is None:  # parsing takes a while: off the event loop, as the library does
            _shared = await asyncio.get_running_loop().run_in_executor(None, _load_shared_document)
            release_free_memory()  # the parse's garbage (XML trees) is several MB: give it back
    return _shared


class _TrimmedTransport(type(onvif.client.ASYNC_TRANSPORT)):  # type: ignore[misc]  # untyped library
    """The library's local-file transport, answering the trimmed bytes for the files cut."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.documents = documents

    def load(self, url: str) -> bytes:
        trimmed = self.documents.get(os.path.normpath(url))
        return trimmed if trimmed is not None else bytes(super().load(url))


def _load_shared_document() -> Any:
    files = {name: SERVICES[name]["wsdl"] for name in USED_SERVICES}
    transport = _TrimmedTransport(wsdl_trim.trimmed_documents(WSDL_PATH, files))
    imports = "".join(
        f'<wsdl:import namespace="{SERVICES[name]["ns"]}" location="{SERVICES[name]["wsdl"]}"/>'
        for name in USED_SERVICES
    )
    wrapper = (
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:edge-agent">'
        f"{imports}</wsdl:definitions>"
    ).encode()
    base = os.path.join(WSDL_PATH, "edge-agent-used.wsdl")  # resolves the imports; never read
    document = onvif.client.DocumentWithDeferredLoad(
        io.BytesIO(wrapper), transport, base=base, settings=onvif.settings.DEFAULT_SETTINGS
    )
    # The library's own fixes for cameras' date and time formats (see onvif.client._cached_document).
    schema = document.types.documents.get_by_namespace("http://www.w3.org/2001/XMLSchema", False)[0]
    for fixed in (onvif.client.FastDateTime, onvif.client.ForgivingTime):
        schema.register_type(fixed._default_qname, fixed(is_global=True))
    document.types.add_documents([None], base)
    document.original_load(io.BytesIO(wrapper))
    # The wrapper defines nothing itself: expose what the imported service definitions define.
    for definition in list(document._definitions.values()):
        document.messages.update(definition.messages)
        document.port_types.update(definition.port_types)
        document.bindings.update(definition.bindings)
    transport.documents.clear()  # the document keeps its transport: not the ~120 KB of XML too
    return document


onvif.client._cached_document = _document


async def load_wsdls() -> None:
    """Build the shared document of `USED_SERVICES` now (later calls return at once)."""
    await _document(next(iter(_USED_WSDLS)))


async def read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, or ResponseTooLarge as soon as it passes `max_bytes` (never buffered beyond)."""
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        response.close()
        raise ResponseTooLarge(f"answer of {declared} bytes exceeds {max_bytes}")
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            response.close()
            raise ResponseTooLarge(f"answer exceeds {max_bytes} bytes")
    return bytes(body)


class CappedTransport(AsyncTransportProtocolErrorHandler):  # type: ignore[misc]  # untyped library
    """The library's transport with a size cap, and HTTP errors without a SOAP body raised as such.
    Every answer's HTTP `Date` goes to the camera's `DateWitness` (refusals carry one too)."""

    def __init__(self, session: aiohttp.ClientSession, max_bytes: int, witness: DateWitness) -> None:
        super().__init__(session=session, verify_ssl=False, cache=None)
        self.max_bytes = max_bytes
        self.witness = witness

    async def _post_internal(
        self, address: str, message: str | bytes, headers: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        headers = dict(headers or {})
        headers.setdefault("Content-Type", 'application/soap+xml; charset="utf-8"')
        data = message.encode("utf-8") if isinstance(message, str) else message
        sent = dt.datetime.now(dt.UTC)
        response = await self.session.post(address, data=data, headers=headers, timeout=self._client_timeout)
        self.witness.saw(response.headers.get("Date"), sent, dt.datetime.now(dt.UTC))
        try:
            content = await read_capped(response, self.max_bytes)
        finally:
            response.release()
        if response.status >= 400 and "xml" not in (response.content_type or ""):
            raise HttpStatusError(response.status)
        return response, content


class HardenedCamera(ONVIFCamera):  # type: ignore[misc]  # the library is untyped
    """`ONVIFCamera` whose every service uses `CappedTransport`, and whose clock handshake
    (`adjust_time`) survives a camera that refuses the cabinet's clock (see `signing`)."""

    def __init__(
        self,
        *args: Any,
        max_response_bytes: int,
        witness: DateWitness,
        clock_hint: dt.timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_response_bytes = max_response_bytes
        self.witness = witness
        self.clock_hint = clock_hint  # an offset that authenticated before: the first one tried
        self.dt_diff = clock_hint

    async def create_onvif_service(self, name: str, *args: Any, **kwargs: Any) -> ONVIFService:
        known = self.services.get((name.lower(), kwargs.get("port_type", args[0] if args else None)))
        service = await super().create_onvif_service(name, *args, **kwargs)
        if service is not known:
            capped = CappedTransport(service.transport.session, self.max_response_bytes, self.witness)
            service.transport = capped
            for client in (service.zeep_client, service.zeep_client_authless):
                client.transport = capped
        return service

    async def signing_with(self, offset: dt.timedelta | None) -> ONVIFService:
        """The devicemgmt service again, its tokens signed with `offset` (camera minus agent)."""
        self.dt_diff = offset
        stale = self.services.pop(("devicemgmt", None), None)
        if stale is not None:
            await stale.close()
        return await self.create_devicemgmt_service()

    async def _adjust_time(self, devicemgmt: ONVIFService) -> ONVIFService:
        # Overrides the library's handshake (pinned version): it signs its fallback with the
        # cabinet's clock only, which a strict camera far off refuses (see `signing`).
        if not self.adjust_time:
            return devicemgmt
        if self.clock_hint is not None:
            devicemgmt = await self.signing_with(self.clock_hint)
        answer, devicemgmt = await read_clock(self, devicemgmt, self.witness)
        return await self.signing_with(codec.camera_utc(answer) - dt.datetime.now(dt.UTC))


class OnvifSession:
    """One camera's ONVIF services, created on first use and rebuilt after a failure or a clock jump."""

    def __init__(self, host: str, port: int, user: str, password: str, *, max_response_bytes: int) -> None:
        self._args = (host, port, user, password)
        self._max_response_bytes = max_response_bytes
        self._camera: HardenedCamera | None = None
        self._witness = DateWitness()
        self._hint: dt.timedelta | None = None  # the signing offset that last authenticated

    @property
    def clock_offset(self) -> dt.timedelta | None:
        """The camera-minus-agent offset the library signs WS-Security tokens with."""
        return self._camera.dt_diff if self._camera is not None else None

    @property
    def seen_offset(self) -> dt.timedelta | None:
        """Camera minus agent as the HTTP `Date` of the camera's latest answer showed it (a
        refusal's included): the clock evidence there is when the camera answers nothing else."""
        return self._witness.offset

    def _new_camera(self, *, adjust_time: bool) -> HardenedCamera:
        return HardenedCamera(
            *self._args,
            adjust_time=adjust_time,
            no_cache=True,
            max_response_bytes=self._max_response_bytes,
            witness=self._witness,
            clock_hint=self._hint,
        )

    async def camera(self) -> HardenedCamera:
        """The connected camera; discovers its services (GetServices) on first use."""
        if self._camera is None:
            camera = self._new_camera(adjust_time=True)
            try:
                await camera.update_xaddrs()
            except BaseException:
                await _quiet_close(camera)
                raise
            self._camera, self._hint = camera, camera.dt_diff
        return self._camera

    async def system_date_and_time(self) -> Any:
        """GetSystemDateAndTime, without login as ONVIF Core allows, then with it for the cameras
        that insist (some vendors do). Before a session exists a throw-away device client asks, so
        the clock is read even when other calls would fail. A refusal is an auth failure only when
        the call made with the configured credentials, signed in the camera's clock, is refused."""
        if self._camera is not None:
            try:
                return await _clock(await self._camera.create_devicemgmt_service())
            except zeep.exceptions.Fault as exc:
                if classify(exc) != "auth_failed":
                    raise
                await self.reset()  # refused in the session's offset: the camera clock jumped
        probe = self._new_camera(adjust_time=False)
        try:
            answer, _ = await read_clock(probe, await probe.create_devicemgmt_service(), self._witness)
            self._hint = probe.dt_diff
            return answer
        finally:
            await _quiet_close(probe)

    async def call(self, service: str, operation: str, params: dict[str, Any] | None = None) -> Any:
        """One authenticated operation; NotAuthorized becomes AuthFailed. Only the operations the
        WSDLs are cut to (`wsdl_trim.OPERATIONS`) exist: any other is the agent's bug, refused
        before the camera is asked, never a camera fault."""
        if operation not in wsdl_trim.OPERATIONS.get(service, ()):
            raise NotImplementedError(f"{service}.{operation} is not in wsdl_trim.OPERATIONS")
        camera = await self.camera()
        proxy = await camera.create_onvif_service(service)
        try:
            return await getattr(proxy, operation)(params)
        except Exception as exc:
            if classify(exc) == "auth_failed":
                raise AuthFailed(f"{operation}: camera refused the credentials") from exc
            raise

    def supports(self, service: str) -> bool:
        """Whether the camera advertised a service in GetServices (known after `camera()`)."""
        return self._camera is not None and SERVICES[service]["ns"] in self._camera.xaddrs

    async def reset(self) -> None:
        """Forget the services (next use rediscovers them and re-measures the clock offset)."""
        camera, self._camera = self._camera, None
        if camera is not None:
            await _quiet_close(camera)


async def _clock(device: ONVIFService) -> Any:
    try:
        return await device.authless_GetSystemDateAndTime()
    except zeep.exceptions.Fault:
        return await device.GetSystemDateAndTime()  # signed with the configured credentials


async def _quiet_close(camera: HardenedCamera) -> None:
    try:
        async with asyncio.timeout(2):
            await camera.close()
    except Exception:  # noqa: S110 - closing a broken session must not mask the real error
        pass
