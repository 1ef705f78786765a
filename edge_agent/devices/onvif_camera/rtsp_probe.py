"""RTSP DESCRIBE of a stream URI over TCP, with digest auth: proof that the camera serves video."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from edge_agent.errors import AuthFailed, RtspError

MAX_HEAD_BYTES = 16384
MAX_SDP_BYTES = 65536
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


@dataclass(frozen=True, slots=True)
class RtspAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


async def describe(uri: str, user: str, password: str, *, timeout_s: float) -> int:
    """DESCRIBE `uri`; returns the number of media (m=) lines of the SDP. Raises RtspError,
    AuthFailed, TimeoutError or OSError."""
    parts = urlsplit(uri)
    if parts.scheme != "rtsp" or not parts.hostname:
        raise RtspError("not an rtsp:// URI")
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 554)
        try:
            answer = await _exchange(reader, writer, uri, 1, None)
            if answer.status == 401:
                authorization = _digest(answer.headers.get("www-authenticate", ""), uri, user, password)
                answer = await _exchange(reader, writer, uri, 2, authorization)
        finally:
            writer.close()
    if answer.status == 401:
        raise AuthFailed("RTSP server refused the credentials")
    if answer.status != 200:
        raise RtspError(f"DESCRIBE answered {answer.status}")
    media = answer.body.count(b"\nm=") + answer.body.startswith(b"m=")
    if not media:
        raise RtspError("SDP without media")
    return media


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uri: str, cseq: int, authorization: str | None
) -> RtspAnswer:
    request = (
        f"DESCRIBE {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\nUser-Agent: edge-agent\r\n"
    )
    if authorization:
        request += f"Authorization: {authorization}\r\n"
    writer.write((request + "\r\n").encode())
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise RtspError("RTSP header too long") from None
    if len(head) > MAX_HEAD_BYTES:
        raise RtspError("RTSP header too long")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("RTSP/") or not status_line[1].isdigit():
        raise RtspError("not an RTSP answer")
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    length = (
        int(headers.get("content-length", "0") or 0) if headers.get("content-length", "0").isdigit() else 0
    )
    if length > MAX_SDP_BYTES:
        raise RtspError("SDP too large")
    body = await reader.readexactly(length) if length else b""
    return RtspAnswer(int(status_line[1]), headers, body)


def _digest(challenge: str, uri: str, user: str, password: str) -> str:
    if not challenge.lower().startswith("digest "):
        raise AuthFailed("RTSP server asks for an unsupported authentication scheme")
    params = {key.lower(): quoted or bare for key, quoted, bare in _PARAM.findall(challenge[7:])}
    realm, nonce = params.get("realm", ""), params.get("nonce", "")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RTSP digest is MD5 by definition

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"DESCRIBE:{uri}")
    header = f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    if "auth" in params.get("qop", "").split(","):
        cnonce = secrets.token_hex(8)
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        return header + f', qop=auth, nc=00000001, cnonce="{cnonce}", response="{response}", algorithm=MD5'
    return header + f', response="{md5(f"{ha1}:{nonce}:{ha2}")}", algorithm=MD5'
