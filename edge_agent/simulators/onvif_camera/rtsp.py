"""A minimal RTSP responder: OPTIONS and DESCRIBE (with digest auth) answered with an SDP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from edge_agent.simulators.onvif_camera import http_digest

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Media Presentation\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n"
)
MAX_REQUEST_BYTES = 8192


class RtspResponder:
    """Answers on its own port; `serves_video()` decides between an SDP and 503."""

    def __init__(self, user: str, password: Callable[[], str], serves_video: Callable[[], bool]) -> None:
        self.user = user
        self.password = password
        self.serves_video = serves_video
        self.nonces: set[str] = set()
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_REQUEST_BYTES:
                    break
                writer.write(self._answer(head.decode("latin-1")).encode())
                await writer.drain()
        writer.close()

    def _answer(self, head: str) -> str:
        self.requests += 1
        lines = head.split("\r\n")
        method, _, rest = lines[0].partition(" ")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        cseq = headers.get("cseq", "0")
        if method == "OPTIONS":
            return f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"
        if method != "DESCRIBE":
            return f"RTSP/1.0 405 Method Not Allowed\r\nCSeq: {cseq}\r\n\r\n"
        authorization = headers.get("authorization")
        if not http_digest.authorized(authorization, "DESCRIBE", self.user, self.password(), self.nonces):
            nonce = http_digest.new_nonce()
            self.nonces.add(nonce)
            return (
                f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                f"WWW-Authenticate: {http_digest.challenge(nonce)}\r\n\r\n"
            )
        if not self.serves_video():
            return f"RTSP/1.0 503 Service Unavailable\r\nCSeq: {cseq}\r\n\r\n"
        return (
            f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Base: {rest.split(' ')[0]}/\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n{SDP}"
        )
