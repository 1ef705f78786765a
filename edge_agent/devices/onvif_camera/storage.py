"""SD-card status from the vendor's web API. ONVIF has no standard for it, so one backend per
vendor, picked by the ONVIF Manufacturer (or fixed by `storage_api`). A backend is a path and a
parser; adding a vendor is adding one entry to `BACKENDS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from edge_agent.devices.onvif_camera import codec
from edge_agent.devices.onvif_camera.client import read_capped
from edge_agent.devices.onvif_camera.codec import StorageStatus
from edge_agent.devices.onvif_camera.web_auth import CameraWebAuth
from edge_agent.errors import AuthFailed, HttpStatusError


@dataclass(frozen=True)
class StorageBackend:
    name: str
    path: str  # with its query
    parse: Callable[[bytes], StorageStatus]
    manufacturers: tuple[str, ...]  # lower-case fragments of the ONVIF Manufacturer


BACKENDS: dict[str, StorageBackend] = {
    backend.name: backend
    for backend in (
        StorageBackend(
            "hikvision", "/ISAPI/ContentMgmt/Storage", codec.parse_hikvision, ("hikvision", "hikv")
        ),
        StorageBackend(
            "dahua",
            "/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo",
            codec.parse_dahua,
            ("dahua", "amcrest"),
        ),
        StorageBackend("axis", "/axis-cgi/disks/list.cgi?diskid=SD_DISK", codec.parse_axis, ("axis",)),
    )
}


def backend_for(storage_api: str, manufacturer: str | None) -> StorageBackend | None:
    """The backend to ask: the configured one, or the one matching the camera's Manufacturer."""
    if storage_api == "none":
        return None
    if storage_api != "auto":
        return BACKENDS[storage_api]
    name = (manufacturer or "").lower()
    for backend in BACKENDS.values():
        if any(fragment in name for fragment in backend.manufacturers):
            return backend
    return None


async def read_storage(
    session: aiohttp.ClientSession,
    base_url: str,
    backend: StorageBackend,
    auth: CameraWebAuth,
    *,
    max_bytes: int,
) -> StorageStatus:
    """GET the vendor's storage status (HTTP Digest or Basic, as the camera asks) and parse it."""
    async with session.get(base_url + backend.path, middlewares=(auth,), allow_redirects=False) as response:
        body = await read_capped(response, max_bytes)
        if response.status == 401:
            raise AuthFailed(f"{backend.name} storage API refused the credentials")
        if response.status != 200:
            raise HttpStatusError(response.status)
    return backend.parse(body)
