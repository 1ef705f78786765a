"""Server side of HTTP Digest authentication (RFC 7616, MD5, qop=auth), as camera web APIs use it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

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
