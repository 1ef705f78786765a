"""Firmware images of the simulated camera, and what it records of each upload.

An image is `SIMCAM-FW` + `version=<version>` on the first two lines, then any padding: the
camera takes its new version from the image it was sent, so a test proves the agent uploaded
the right file, not just some bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aiohttp import web

MAGIC = b"SIMCAM-FW\n"
MAX_IMAGE_BYTES = 64 * 2**20  # a larger upload is refused (and never buffered)


def make_image(version: str, size_bytes: int = 64 * 1024) -> bytes:
    """An image that installs `version`, padded to `size_bytes` (at least the header)."""
    head = MAGIC + f"version={version}\n".encode()
    return head + b"\0" * max(0, size_bytes - len(head))


def image_version(image: bytes) -> str | None:
    """The version an image installs, or None when it is not an image of this camera."""
    if not image.startswith(MAGIC):
        return None
    line = image[len(MAGIC) : len(MAGIC) + 200].split(b"\n", 1)[0]
    if not line.startswith(b"version="):
        return None
    version = line[len(b"version=") :].decode("ascii", "replace").strip()
    return version[:64] or None


@dataclass(frozen=True)
class Upload:
    """One firmware upload the camera received."""

    size_bytes: int
    sha256: str
    version: str | None
    accepted: bool


def describe(image: bytes, accepted: bool) -> Upload:
    return Upload(len(image), hashlib.sha256(image).hexdigest(), image_version(image), accepted)


async def read_upload(request: web.Request) -> bytes:
    """The uploaded image, refused beyond `MAX_IMAGE_BYTES` before it is buffered."""
    declared = request.content_length or 0
    if declared > MAX_IMAGE_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_IMAGE_BYTES, actual_size=declared)
    image = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        image += chunk
        if len(image) > MAX_IMAGE_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_IMAGE_BYTES, actual_size=len(image))
    return bytes(image)
