"""Before the demo starts anything: are its ports and serial links free? Say who holds them if not.

A demo that half-starts next to another one (its broker refused, its simulators answering the
other demo's agent) is worse than one that refuses with a clear message, so every port is tried
first and the whole start is refused when any is taken.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Need:
    """A port or pty link the demo is about to take, and what takes it (for the message)."""

    what: str
    port: int | None = None
    host: str = "127.0.0.1"
    path: Path | None = None


def taken(needs: list[Need]) -> list[str]:
    """One line per need that is not free, naming the holder when this user may see it."""
    problems = []
    for need in needs:
        if need.port is not None and not _port_free(need.host, need.port):
            problems.append(f"port {need.port} ({need.what}) is in use{_holder(need.port)}")
        if need.path is not None and _link_alive(need.path):
            problems.append(f"{need.path} ({need.what}) is a live serial link of another process")
    return problems


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the servers we start: a listener in TIME_WAIT leftovers must not count as "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _holder(port: int) -> str:
    """' by NAME (pid N): CMDLINE' when the listening process can be seen, else ''."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return ""
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            if connection.pid is None:
                return ""
            try:
                process = psutil.Process(connection.pid)
                return f" by {process.name()} (pid {process.pid}): {' '.join(process.cmdline())[:120]}"
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return f" by pid {connection.pid}"
    return ""


def _link_alive(path: Path) -> bool:
    """A pty link left by a killed demo dangles (and is replaced); one to an open pty is in use."""
    return path.is_symlink() and Path(path).exists()
