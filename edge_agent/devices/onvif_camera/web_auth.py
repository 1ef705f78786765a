"""HTTP authentication for camera web APIs (SD-card status): Digest or Basic, as the camera asks.

Hikvision, Dahua and Axis ship with Digest, but installers often switch the web server to Basic
(or an old firmware only has Basic). aiohttp does both: `DigestAuthMiddleware` answers Digest
challenges, `encode_basic_auth` encodes Basic; this middleware picks by the 401's `WWW-Authenticate`
scheme and remembers the camera's choice, so later requests authenticate at the first try.
Basic credentials are only ever sent to a server that asked for Basic.
"""

from __future__ import annotations

import aiohttp
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, hdrs


class CameraWebAuth:
    """An aiohttp client middleware (pass in `middlewares=`); one per camera."""

    def __init__(self, user: str, password: str) -> None:
        self._digest = aiohttp.DigestAuthMiddleware(user, password)
        self._basic = aiohttp.encode_basic_auth(user, password)
        self.scheme = "digest"  # until a camera's challenge says otherwise

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        if self.scheme == "basic":
            request.headers[hdrs.AUTHORIZATION] = self._basic
            response = await handler(request)
            if response.status != 401 or "digest" not in _schemes(response):
                return response
            self.scheme = "digest"  # the camera changed its mind (new firmware, new setting)
            response.release()
            request.headers.pop(hdrs.AUTHORIZATION, None)
        response = await self._digest(request, handler)
        if response.status != 401 or _schemes(response) != {"basic"}:
            return response
        response.release()
        self.scheme = "basic"
        request.headers[hdrs.AUTHORIZATION] = self._basic
        return await handler(request)


def _schemes(response: ClientResponse) -> set[str]:
    """The authentication schemes a 401 offers (each challenge's first word, lower-case)."""
    return {
        value.strip().split(" ", 1)[0].lower()
        for value in response.headers.getall(hdrs.WWW_AUTHENTICATE, [])
        if value.strip()
    }
