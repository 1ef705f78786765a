"""Server side of WS-Security UsernameToken (digest) as ONVIF cameras check it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from lxml import etree

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)
MAX_SKEW_S = 300.0  # what cameras accept between the token's Created and their own clock


def has_token(envelope: etree._Element) -> bool:
    """Whether the request carries credentials at all (a WS-Security header)."""
    return envelope.find(f".//{{{WSSE}}}Security") is not None


def token_valid(envelope: etree._Element, user: str, password: str, camera_now: datetime) -> bool:
    """Whether the envelope carries a UsernameToken for `user` with a digest of `password`,
    created within `MAX_SKEW_S` of the camera's own clock."""
    token = envelope.find(f".//{{{WSSE}}}UsernameToken")
    if token is None:
        return False
    name = token.findtext(f"{{{WSSE}}}Username")
    password_node = token.find(f"{{{WSSE}}}Password")
    nonce = token.findtext(f"{{{WSSE}}}Nonce")
    created = token.findtext(f"{{{WSU}}}Created")
    if name != user or password_node is None or not nonce or not created:
        return False
    if password_node.get("Type", DIGEST_TYPE) != DIGEST_TYPE:
        return hmac.compare_digest((password_node.text or "").encode(), password.encode())
    try:
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
        nonce_bytes = base64.b64decode(nonce, validate=True)
    except ValueError:
        return False
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if abs((created_at - camera_now).total_seconds()) > MAX_SKEW_S:
        return False
    digest = base64.b64encode(hashlib.sha1(nonce_bytes + created.encode() + password.encode()).digest())  # noqa: S324 - the WS-Security profile mandates SHA-1
    return hmac.compare_digest(digest, (password_node.text or "").encode())
