"""Names of the probed hosts, resolved apart from the connects.

A connect to a name first asks the system resolver (getaddrinfo, a blocking call run on a worker
thread). A resolver that gets no answer hangs that thread for its own timeouts (resolv.conf: 5 s
x 2 tries per server), whatever the probe's budget: run on the agent's shared workers, every
attempt of every poll would take one more of them until the host poller, the audit log and the
liveness mark wait behind hung lookups. And a name that does not resolve says nothing of the
carrier: the resolver may be on the LAN, misconfigured, or down alone.

So names are looked up here, on this link probe's own daemon threads, one lookup per name at a
time (a hung one is awaited again, never doubled; daemon: a lookup still hanging never holds up
the agent's exit), bounded by the probe's connect timeout; the
connects then go to an address. The last address a name had is kept: while lookups fail, the
connects to it are still the carrier's evidence. A name that never resolved has no evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import time


def _literal(host: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return True
    return False


def _lookup(host: str, port: int) -> str:
    """The first TCP address of `host` (blocking: the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


class Names:
    """Addresses of the probe's host names, from lookups that can never block the probe."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[asyncio.Future[str], float]] = {}  # name -> (lookup, started)
        self.known: dict[str, str] = {}  # name -> the last address it resolved to
        self._errors: dict[str, str] = {}  # name -> why its last lookup failed

    async def address(self, host: str, port: int, timeout_s: float) -> str | None:
        """An address to connect to for `host`: a literal as given; for a name the fresh lookup's
        answer, else (failed or still hanging) the last address it had, else None. Waits for the
        lookup (at most `timeout_s`) only when there is no earlier address to use."""
        if _literal(host):
            return host
        lookup = self._lookup_of(host, port)
        if host not in self.known:
            with contextlib.suppress(TimeoutError, OSError):
                async with asyncio.timeout(timeout_s):
                    await asyncio.shield(lookup)  # a timeout leaves the lookup running for the next poll
        return self.known.get(host)

    def problem(self, host: str, timeout_s: float) -> str | None:
        """Why `host` did not resolve lately (failed, or unanswered for over `timeout_s`), or None."""
        pending = self._pending.get(host)
        if pending is not None and time.monotonic() - pending[1] > timeout_s:
            return f"resolver gave no answer for {time.monotonic() - pending[1]:.0f} s"
        return self._errors.get(host)

    def _lookup_of(self, host: str, port: int) -> asyncio.Future[str]:
        pending = self._pending.get(host)
        if pending is not None:
            return pending[0]
        loop = asyncio.get_running_loop()
        lookup: asyncio.Future[str] = loop.create_future()
        self._pending[host] = (lookup, time.monotonic())

        def run() -> None:  # on its own thread: the blocking resolver
            try:
                answer: str | OSError = _lookup(host, port)
            except OSError as exc:
                answer = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(self._settled, host, lookup, answer)

        threading.Thread(target=run, name=f"link-resolver {host[:40]}", daemon=True).start()
        return lookup

    def _settled(self, host: str, lookup: asyncio.Future[str], answer: str | OSError) -> None:
        self._pending.pop(host, None)
        if isinstance(answer, OSError):
            self._errors[host] = f"resolver: {str(answer)[:120]}"
            if not lookup.done():
                lookup.set_exception(answer)
                lookup.exception()  # retrieved: nobody may be waiting for it any more
            return
        self.known[host] = answer
        self._errors.pop(host, None)
        if not lookup.done():
            lookup.set_result(answer)
