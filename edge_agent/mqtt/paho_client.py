"""paho's client, its TCP connect given an ASCII broker host as bytes.

CPython's `getaddrinfo` encodes a host given as text with the `idna` codec, whatever the text (an
address too); the codec's first use imports `encodings.idna`, `stringprep` and `unicodedata`, which
stay for the life of the agent (0.25-0.3 MB RSS, issue 16). For ASCII the codec only checks label
lengths and returns the same bytes, so the resolver, the address and the socket are the same; a
malformed name (an empty label) fails as a resolver error (an `OSError`, retried like any failed
connect) instead of a `UnicodeError`. A non-ASCII name, and a connect through a proxy (PySocks),
take paho's own path. tests/integration/test_paho_client.py fails if paho stops connecting
through the method replaced here.
"""

from __future__ import annotations

import socket

import paho.mqtt.client as paho


class Client(paho.Client):
    def _create_socket_connection(self) -> socket.socket:
        host = self.host
        if not host.isascii() or self._get_proxy() is not None:
            return super()._create_socket_connection()
        return socket.create_connection(
            (host.encode("ascii"), self.port),  # type: ignore[arg-type]  # getaddrinfo takes bytes; typeshed lists only str
            timeout=self.connect_timeout,
            source_address=(self._bind_address, self._bind_port),
        )
