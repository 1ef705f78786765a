"""Server side of HTTP Digest (RFC 7616, MD5, qop=auth) and Basic authentication, as camera web
APIs use them (Hikvision, Dahua and Axis ship with Digest; many installers switch to Basic)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

from aiohttp import web

REALM = "IP Camera"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def challenge(nonce: str) -> str:
    return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'


def new_nonce() -> str:
    return secrets.token_hex(16)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest as cameras speak it


def authorized(header: str | None, method: str, user: str, password: str, nonces: set[str]) -> bool:
    """Whether an Authorization header proves `password` for `user` against one of our nonces."""
    if not header or not header.startswith("Digest "):
        return False
    params = {key: quoted or bare for key, quoted, bare in _PARAM.findall(header[7:])}
    if params.get("username") != user or params.get("nonce") not in nonces:
        return False
    ha1 = _md5(f"{user}:{params.get('realm', '')}:{password}")
    ha2 = _md5(f"{method}:{params.get('uri', '')}")
    if params.get("qop") == "auth":
        expected = _md5(
            f"{ha1}:{params['nonce']}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}"
        )
    else:
        expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
    return hmac.compare_digest(expected, params.get("response", ""))


def basic_challenge() -> str:
    return f'Basic realm="{REALM}"'


def basic_authorized(header: str | None, user: str, password: str) -> bool:
    if not header or not header.startswith("Basic "):
        return False
    try:
        given = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), f"{user}:{password}".encode())


class WebAuthGate:
    """The camera web server's check: Digest (with its nonces) or Basic, as the camera is set."""

    def __init__(self, user: str) -> None:
        self.user = user
        self._nonces: set[str] = set()

    def refusal(self, request: web.Request, scheme: str, password: str) -> web.Response | None:
        """None when the request proves `password`; else the 401 with this scheme's challenge."""
        auth = request.headers.get("Authorization")
        if scheme == "basic":
            if basic_authorized(auth, self.user, password):
                return None
            return web.Response(status=401, headers={"WWW-Authenticate": basic_challenge()})
        if authorized(auth, request.method, self.user, password, self._nonces):
            return None
        nonce = new_nonce()
        self._nonces.add(nonce)
        return web.Response(status=401, headers={"WWW-Authenticate": challenge(nonce)})
