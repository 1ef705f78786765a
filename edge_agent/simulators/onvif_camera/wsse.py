"""Server side of WS-Security UsernameToken (digest) as ONVIF cameras check it.

`refusal` names why a token is refused, so tests (and the demo's counters) can tell a wrong
password from a clock outside the camera's freshness window: both are the same `ter:NotAuthorized`
on the wire, as on real cameras.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)
DEFAULT_WINDOW_S = 300.0  # what most cameras accept between the token's Created and their own clock

Refusal = Literal["no_token", "unknown_user", "malformed_token", "stale_created", "bad_digest"]


def has_token(envelope: etree._Element) -> bool:
    """Whether the request carries credentials at all (a WS-Security header)."""
    return envelope.find(f".//{{{WSSE}}}Security") is not None


def refusal(
    envelope: etree._Element,
    user: str,
    password: str,
    camera_now: datetime,
    window_s: float = DEFAULT_WINDOW_S,
) -> Refusal | None:
    """Why the envelope's UsernameToken is refused, or None when it carries `user` with a digest
    of `password`, created within `window_s` of the camera's own clock."""
    token = envelope.find(f".//{{{WSSE}}}UsernameToken")
    if token is None:
        return "no_token"
    password_node = token.find(f"{{{WSSE}}}Password")
    nonce = token.findtext(f"{{{WSSE}}}Nonce")
    created = token.findtext(f"{{{WSU}}}Created")
    if token.findtext(f"{{{WSSE}}}Username") != user:
        return "unknown_user"
    if password_node is None or not nonce or not created:
        return "malformed_token"
    if password_node.get("Type", DIGEST_TYPE) != DIGEST_TYPE:  # PasswordText: no clock involved
        same = hmac.compare_digest((password_node.text or "").encode(), password.encode())
        return None if same else "bad_digest"
    try:
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
        nonce_bytes = base64.b64decode(nonce, validate=True)
    except ValueError:
        return "malformed_token"
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if abs((created_at - camera_now).total_seconds()) > window_s:
        return "stale_created"  # checked before the digest, as cameras do: the password is not tried
    digest = base64.b64encode(hashlib.sha1(nonce_bytes + created.encode() + password.encode()).digest())  # noqa: S324 - the WS-Security profile mandates SHA-1
    return None if hmac.compare_digest(digest, (password_node.text or "").encode()) else "bad_digest"
