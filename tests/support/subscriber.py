"""A recording paho-mqtt 2.x client for asserting what reaches (or does not reach) a real broker.

Subscriptions are (re)made in ``on_connect``, so a `Subscriber` follows the broker through restarts.
Sessions are clean and the test broker has no persistence: QoS 1 messages published while the subscriber
is disconnected (e.g. during a broker restart) are lost, not queued. Tests that restart the broker call
`Subscriber.wait_connected` again (which waits for the new SUBACK) before publishing anything they expect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

_SUMMARY_MESSAGES = 10
_client_ids = itertools.count(1)


@dataclass(frozen=True)
class Received:
    """One message as delivered to the subscriber; *at* is ``time.monotonic()`` on arrival."""

    topic: str
    payload: bytes
    retain: bool
    qos: int
    at: float
    correlation_data: bytes | None = None

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)

    def __str__(self) -> str:
        flags = f"qos={self.qos}{' retained' if self.retain else ''}"
        return f"{self.topic} [{flags}] {self.payload[:120]!r}"


@dataclass(frozen=True)
class PublishResult:
    """Outcome of `Subscriber.publish`: the broker's PUBACK reason code (MQTT 5; ``Success`` for 3.1.1)."""

    mid: int
    reason_code: ReasonCode

    @property
    def is_failure(self) -> bool:
        """Whether the broker refused the message (reason code >= 0x80, e.g. "Not authorized")."""
        return self.reason_code.is_failure


Predicate = Callable[[Received], bool]


class Subscriber:
    """A paho client on its own network thread that records every message it receives.

    Connection is asynchronous; call `wait_connected` before publishing anything the subscriber must see.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topics: Iterable[str] = ("#",),
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        client_cert: tuple[Path, Path] | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        persistent_session: bool = False,
        transport: Literal["tcp", "websockets", "unix"] = "tcp",
    ) -> None:
        """`transport="unix"`: `host` is the path of the broker's Unix socket (`port` is ignored)."""
        self.topics = list(topics)
        self.client_id = client_id or f"test-subscriber-{next(_client_ids)}"
        self._condition = threading.Condition()
        self._received: list[Received] = []
        self._puback: dict[int, ReasonCode] = {}
        self._connected = False
        self._ready = False
        self._client = self._make_client(protocol, username, password, transport)
        if ca_file is not None or client_cert is not None:
            cert, key = client_cert if client_cert is not None else (None, None)
            # tls_set keeps hostname checking on: the broker certificate must name 127.0.0.1.
            self._client.tls_set(ca_certs=_str(ca_file), certfile=_str(cert), keyfile=_str(key))
        if persistent_session:
            # As a central subscriber should: the broker queues QoS 1 messages while we are away.
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
            self._client.connect_async(host, port, keepalive=30, clean_start=False, properties=properties)
        else:
            self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()

    def _make_client(
        self,
        protocol: MQTTProtocolVersion,
        username: str | None,
        password: str | None,
        transport: Literal["tcp", "websockets", "unix"],
    ) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=protocol,
            transport=transport,
        )
        if username is not None:
            client.username_pw_set(username, password)
        # Small delays so a restarted broker is found again within a second or two.
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    @property
    def client(self) -> mqtt.Client:
        """The underlying paho client, for tests that need something not wrapped here."""
        return self._client

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until connected and the SUBACK for all `topics` has arrived; AssertionError on timeout."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._ready, timeout):
                raise AssertionError(f"{self.client_id} not connected and subscribed within {timeout} s")

    def wait_disconnected(self, timeout: float = 10.0) -> None:
        """Block until paho has noticed the connection is gone; AssertionError on timeout."""
        with self._condition:
            if not self._condition.wait_for(lambda: not self._connected, timeout):
                raise AssertionError(f"{self.client_id} still connected after {timeout} s")

    def wait_for(self, predicate: Predicate | str, timeout: float = 10.0) -> Received:
        """Return the first message (already received or arriving within *timeout*) matching *predicate*.

        *predicate* is a callable, or a topic filter string as shorthand. Raises AssertionError with
        the last few messages on timeout.
        """
        matches = _as_predicate(predicate)
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                # Rescan everything on each wake-up: lists are short, and it stays correct across clear().
                found = next((m for m in self._received if matches(m)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_summary(predicate, timeout))
                self._condition.wait(remaining)

    async def until(self, predicate: Predicate | str, timeout: float = 10.0) -> Received:
        """`wait_for` for tests whose agent runs on the same event loop: waits without blocking it."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    async def apublish(self, topic: str, payload: bytes = b"", qos: int = 1, **kwargs: Any) -> PublishResult:
        """`publish` without blocking the event loop."""
        return await asyncio.to_thread(self.publish, topic, payload, qos, **kwargs)

    def messages(self, topic_filter: str | None = None) -> list[Received]:
        """Messages received so far, optionally only those whose topic matches *topic_filter*."""
        with self._condition:
            snapshot = list(self._received)
        if topic_filter is None:
            return snapshot
        return [m for m in snapshot if mqtt.topic_matches_sub(topic_filter, m.topic)]

    def clear(self) -> None:
        """Forget all recorded messages."""
        with self._condition:
            self._received.clear()

    def publish(
        self,
        topic: str,
        payload: bytes | str = b"",
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
        timeout: float = 10.0,
    ) -> PublishResult:
        """Publish and wait until paho reports it done (PUBACK for QoS 1); return the reason code."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise AssertionError(f"publish to {topic} not completed within {timeout} s (rc={info.rc})")
        with self._condition:
            # on_publish runs before wait_for_publish wakes up, so the code is there for QoS>0 and 0 alike.
            reason = self._puback.pop(info.mid, ReasonCode(PacketTypes.PUBACK, "Success"))
        return PublishResult(info.mid, reason)

    def close(self) -> None:
        """Disconnect and stop the network thread. Idempotent."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _timeout_summary(self, predicate: Predicate | str, timeout: float) -> str:
        last = self._received[-_SUMMARY_MESSAGES:]
        lines = "\n".join(f"  {m}" for m in last) or "  (none)"
        what = predicate if isinstance(predicate, str) else getattr(predicate, "__name__", repr(predicate))
        return (
            f"{self.client_id}: no message matching {what} within {timeout} s; "
            f"{len(self._received)} received, last {len(last)}:\n{lines}"
        )

    # --- paho callbacks (network thread) ---

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            return  # e.g. bad credentials; wait_connected times out and names the client
        with self._condition:
            self._connected = True
            self._ready = not self.topics
            self._condition.notify_all()
        if self.topics:
            # Resubscribe on every connect: the test broker forgets subscriptions when it restarts.
            client.subscribe([(t, 1) for t in self.topics])

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._condition:
            self._connected = self._ready = False
            self._condition.notify_all()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._condition:
            self._ready = self._connected
            self._condition.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        received = Received(
            message.topic,
            bytes(message.payload),
            bool(message.retain),
            message.qos,
            time.monotonic(),
            correlation,
        )
        with self._condition:
            self._received.append(received)
            self._condition.notify_all()

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason_code: ReasonCode, properties: Properties
    ) -> None:
        with self._condition:
            self._puback[mid] = reason_code


def _as_predicate(predicate: Predicate | str) -> Predicate:
    if isinstance(predicate, str):
        topic_filter = predicate
        return lambda message: mqtt.topic_matches_sub(topic_filter, message.topic)
    return predicate


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
