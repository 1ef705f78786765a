"""One paho-mqtt client driven by the asyncio event loop (paho's external-loop mode).

The loop watches the socket: `loop_read` when it is readable; `loop_write` on the next turn of the
loop after a publish queued bytes (so the publishes of one turn go out together), and while paho
has bytes the socket would not take yet, when it is writable; `loop_misc` (keepalive pings, the
PINGRESP deadline) every `MISC_INTERVAL_S`, as paho's own thread does. paho's callbacks therefore
run on the loop. paho reads TLS records with `SSLWantRead` handled; what TLS has decrypted but
paho not taken yet is read at once, as the loop cannot see it in the socket.
"""

from __future__ import annotations

import asyncio
import socket

import paho.mqtt.client as paho

MISC_INTERVAL_S = 1.0


class PahoOnLoop:
    """Drives `client` from `loop` between `attach` (connected, CONNECT written) and `detach`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: paho.Client) -> None:
        self.client = client
        self._loop = loop
        self._misc: asyncio.TimerHandle | None = None
        self._detached = False

    def attach(self) -> None:
        sock = self.client.socket()
        if self._detached or not isinstance(sock, socket.socket):
            raise ConnectionError("the connection was given up while it was made")
        self.client.on_socket_register_write = self._want_write
        self.client.on_socket_close = self._socket_closing
        self._loop.add_reader(sock, self._readable)
        self._misc = self._loop.call_later(MISC_INTERVAL_S, self._run_misc)
        if self.client.want_write():
            self._writable()

    def detach(self) -> None:
        """Stop driving the client and close its socket (it is abandoned: nothing else uses it)."""
        self._detached = True
        if self._misc is not None:
            self._misc.cancel()
        sock = self.client.socket()
        if sock is not None:
            self._forget(sock)
            sock.close()

    def _readable(self) -> None:
        client = self.client
        client.loop_read()
        while (sock := client.socket()) is not None and getattr(sock, "pending", _nothing)():
            if client.loop_read() != paho.MQTT_ERR_SUCCESS:
                break

    def _writable(self) -> None:
        """Write what paho has queued; watch the socket for room only while some is left."""
        client = self.client
        if self._detached or client.socket() is None:
            return
        client.loop_write()
        sock = client.socket()
        if sock is None:
            return
        if client.want_write():
            self._loop.add_writer(sock, self._writable)
        else:
            self._loop.remove_writer(sock)

    def _run_misc(self) -> None:
        if self._detached:
            return
        self.client.loop_misc()
        if self.client.socket() is not None:
            self._misc = self._loop.call_later(MISC_INTERVAL_S, self._run_misc)

    def _forget(self, sock: object) -> None:
        if isinstance(sock, socket.socket) and sock.fileno() >= 0 and not self._loop.is_closed():
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    # paho's socket callbacks, on the loop (inside publish, loop_read, loop_write, loop_misc)

    def _want_write(self, _client: paho.Client, _userdata: object, _sock: object) -> None:
        # After the caller of publish has registered its PUBACK future.
        if not self._detached:
            self._loop.call_soon(self._writable)

    def _socket_closing(self, _client: paho.Client, _userdata: object, sock: object) -> None:
        self._forget(sock)  # before paho closes it: the fd number may be reused at once


def _nothing() -> int:
    return 0
