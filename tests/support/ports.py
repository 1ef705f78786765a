"""Loopback port allocation for tests."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The kernel picks the port; the socket is closed before returning, so another process could in theory
    grab it first. That race is accepted in tests because the alternative (passing open sockets to
    mosquitto) is not possible.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
