"""The connection to the broker: paho-mqtt driven by the event loop, our reconnect policy.

paho runs in its external-loop mode: the socket is watched by the event loop (`add_reader`; a
writer only while paho has bytes it could not write at once), paho's `loop_read`/`loop_write` run
there and `loop_misc` (keepalive pings, the PINGRESP deadline) every `MISC_INTERVAL_S`. So paho's
callbacks (CONNACK, PUBACKs, incoming commands) run on the loop itself: no network thread, no
hand-off between threads. Only the connect runs on a worker thread, as paho's `connect` blocks in
DNS, the TCP connect and the TLS handshake; the socket it leaves is non-blocking (paho reads TLS
records with `SSLWantRead` handled, and what TLS has decrypted but not handed out yet is read at
once, as the event loop cannot see it). A fresh paho client is made for every connection: the
outbox, not paho's in-memory session, is what guarantees delivery, so nothing half-sent is carried
over by paho behind our back.

Reconnect: exponential backoff from `reconnect_min_s` to `reconnect_max_s` with full jitter, so a
fleet of cabinets does not reconnect in lock-step after a broker restart.

Version (`protocol: auto`): MQTT 5 first. A 3.1.1-only broker may refuse 5 with a return code, or
never answer it (it misreads the CONNECT and waits, or closes the connection): both switch to the
other version. The version a broker accepted is remembered (`ProtocolMemory`), so a connection that
fails without CONNACK once does not demote a broker already known to speak 5.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, wait_random_exponential

from edge_agent.errors import ConnectionLost
from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.protocol_memory import ProtocolMemory

log = logging.getLogger(__name__)

RESERVED_INFLIGHT = 4
UNSUPPORTED_PROTOCOL = (132, 1)  # MQTT 5 "Unsupported Protocol Version"; 3.1.1 CONNACK return code 1
# Connections that got no CONNACK before the version is switched: one while the broker's version is
# unknown, more once it accepted this version (a broker restarting also drops connections unanswered).
SILENT_TRIES_UNKNOWN = 1
SILENT_TRIES_CONFIRMED = 3
MISC_INTERVAL_S = 1.0  # paho's loop_misc: keepalive pings and the PINGRESP deadline, as its own thread does


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    correlation_data: bytes | None


class MqttLink:
    """Keeps one connection to the broker up. `run()` is the supervisor task."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        client_id: str,
        will: Will,
        on_connected: Callable[[], None],
        on_message: Callable[[Incoming], None],
        subscriptions: list[str],
        protocol_file: Path | None = None,
    ) -> None:
        self.config = config
        self._wait = wait_random_exponential(
            multiplier=config.reconnect_min_s, min=config.reconnect_min_s, max=config.reconnect_max_s
        )
        self.client_id = client_id
        self.will = will
        self._on_connected = on_connected
        self._on_message = on_message
        self._subscriptions = subscriptions
        self.connected = asyncio.Event()
        self._auto = config.protocol == "auto"
        self._memory = ProtocolMemory(protocol_file, f"{config.host}:{config.effective_port}")
        self._confirmed = self._memory.recall() if self._auto else None
        self.protocol: MQTTProtocolVersion = self._confirmed or (
            MQTTProtocolVersion.MQTTv311 if config.protocol == "3.1.1" else MQTTProtocolVersion.MQTTv5
        )
        self._silent_failures = 0  # consecutive connections without CONNACK
        self._client: paho.Client | None = None
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._lost = asyncio.Event()
        self._connack: asyncio.Future[int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._generation = 0  # callbacks of an abandoned client carry an old generation and are ignored
        self._misc: asyncio.TimerHandle | None = None  # the next loop_misc of the current client
        self.last_error: str | None = None
        self.connect_attempts = 0
        self.window = config.max_inflight  # QoS 1 messages we may have unacknowledged on this connection

    # --- public ---------------------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int,
        retain: bool = False,
        correlation_data: bytes | None = None,
    ) -> asyncio.Future[int]:
        """Send one message. The future resolves to the broker's reason code (0 = accepted) on PUBACK
        (QoS 1) or when written (QoS 0), and fails with ConnectionLost if the link drops first."""
        assert self._loop is not None
        future: asyncio.Future[int] = self._loop.create_future()
        client = self._client
        if client is None or not self.connected.is_set():
            future.set_exception(ConnectionLost("not connected"))
            return future
        properties = None
        if correlation_data is not None and self.protocol == MQTTProtocolVersion.MQTTv5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho's Properties is untyped
            properties.CorrelationData = correlation_data
        info = client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            future.set_exception(ConnectionLost(paho.error_string(info.rc)))
            return future
        # Registered before the loop can run the PUBACK callback, which is only queued to the loop.
        self._pending[info.mid] = future
        return future

    async def wait_lost(self) -> None:
        """Return when the current connection drops."""
        await self._lost.wait()

    async def run(self) -> None:
        """Connect, and after every failure or loss reconnect with jittered exponential backoff."""
        self._loop = asyncio.get_running_loop()
        lost_before = False
        while not self._stopping:
            if lost_before:
                await asyncio.sleep(self._backoff_delay(1))  # a lost link waits too: no reconnect storm
            if await self._reconnecting()(self._connect_unless_closed):
                await self._lost.wait()
                self._teardown()
            lost_before = True

    async def _connect_unless_closed(self) -> bool:
        return False if self._stopping else await self._connect_once()

    def _reconnecting(self) -> AsyncRetrying:
        """Retries a connect until it succeeds, or the link is closed."""
        return AsyncRetrying(
            wait=self._wait,
            retry=retry_if_result(lambda connected: not connected),
            stop=lambda _state: self._stopping,
            retry_error_callback=lambda _state: False,
            before_sleep=lambda state: log.debug(
                "reconnecting to %s in %.1f s", self.config.host, state.upcoming_sleep
            ),
        )

    async def close(self) -> None:
        """Disconnect cleanly (the broker then does not send our last will)."""
        self._stopping = True
        client = self._client
        if client is not None and self.connected.is_set():
            client.disconnect()
            try:
                async with asyncio.timeout(self.config.connect_timeout_s):
                    await self._lost.wait()
            except TimeoutError:
                log.warning("broker did not confirm the disconnect in time")
        self._teardown()

    # --- connection ---------------------------------------------------------------------------

    def _backoff_delay(self, attempt: int) -> float:
        """The wait before reconnect attempt `attempt` (1, 2, ...): uniform in [min, min * 2^(n-1)],
        capped at `reconnect_max_s`, so a fleet does not reconnect in lock-step."""
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = attempt
        return self._wait(state)

    async def _connect_once(self) -> bool:
        assert self._loop is not None
        self.connect_attempts += 1
        client = self._new_client()
        self._client = client
        self._lost.clear()
        self._connack = self._loop.create_future()
        connect_sent = False
        try:
            async with asyncio.timeout(self.config.connect_timeout_s):
                await asyncio.to_thread(self._connect_blocking, client)
                connect_sent = True  # TCP and TLS are up and paho has written the CONNECT
                self._attach(client)
                code = await self._connack
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            self._note_error(f"cannot connect to {self.config.host}:{self.config.effective_port}: {exc!r}")
            if connect_sent:
                self._no_connack()
            self._teardown()
            return False
        self._silent_failures = 0
        if code != 0:
            self._handle_refusal(code)
            self._teardown()
            return False
        self._remember()
        self._subscribe(client)
        if self.last_error is not None:
            log.info("connected to broker %s:%s again", self.config.host, self.config.effective_port)
        else:
            log.info(
                "connected to broker %s:%s (MQTT %s)",
                self.config.host,
                self.config.effective_port,
                _name(self.protocol),
            )
        self.last_error = None
        self.connected.set()
        self._on_connected()
        return True

    def _connect_blocking(self, client: paho.Client) -> None:
        # DNS, TCP and the TLS handshake block; they run on a worker thread, bounded by connect_timeout.
        # No socket callbacks are set yet, so paho writes the CONNECT itself, here.
        client.connect(self.config.host, self.config.effective_port, keepalive=self.config.keepalive_s)
        if client is not self._client:  # the connect timed out meanwhile: nobody will read this socket
            _close_socket(client)

    def _handle_refusal(self, code: int) -> None:
        if (
            code in UNSUPPORTED_PROTOCOL
            and self.config.protocol == "auto"
            and self.protocol == MQTTProtocolVersion.MQTTv5
        ):
            log.info("broker does not speak MQTT 5; falling back to 3.1.1")
            self.protocol = MQTTProtocolVersion.MQTTv311
            return
        self._note_error(f"broker refused the connection: {paho.connack_string(code) if code < 6 else code}")

    def _no_connack(self) -> None:
        if not self._auto:
            return
        self._silent_failures += 1
        limit = SILENT_TRIES_CONFIRMED if self.protocol == self._confirmed else SILENT_TRIES_UNKNOWN
        if self._silent_failures >= limit:
            self._silent_failures = 0
            self.protocol = _other(self.protocol)
            log.info("no CONNACK to the CONNECT; trying MQTT %s", _name(self.protocol))

    def _remember(self) -> None:
        if self._auto and self._confirmed != self.protocol:
            self._confirmed = self.protocol
            self._memory.store(self.protocol)

    def _note_error(self, message: str) -> None:
        # Logged once per outage, not at every retry.
        if message != self.last_error:
            log.warning("%s", message)
        self.last_error = message

    def _new_client(self) -> paho.Client:
        self._generation += 1
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,
            reconnect_on_failure=False,
            userdata=self._generation,
        )
        client.connect_timeout = self.config.connect_timeout_s
        client.max_inflight_messages_set(self.config.max_inflight)
        client.max_queued_messages_set(0)
        client.will_set(self.will.topic, self.will.payload, qos=1, retain=True)
        if self.config.username is not None:
            password = self.config.password.get_secret_value() if self.config.password else None
            client.username_pw_set(self.config.username, password)
        if self.config.uses_tls:
            client.tls_set_context(self._tls_context())
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_publish = self._cb_publish
        client.on_message = self._cb_message
        return client

    def _tls_context(self) -> ssl.SSLContext:
        tls = self.config.tls or None
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls and tls.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls and tls.cert_file and tls.key_file:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        return context  # hostname check and CERT_REQUIRED are the defaults of create_default_context

    def _subscribe(self, client: paho.Client) -> None:
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)

    def _teardown(self) -> None:
        self._fail_pending()
        client, self._client = self._client, None
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None
        if client is not None:
            self._forget_socket(client.socket())
            _close_socket(client)

    # --- paho on the event loop -----------------------------------------------------------------

    def _attach(self, client: paho.Client) -> None:
        """Drive `client` from the loop: its socket is connected and the CONNECT written."""
        assert self._loop is not None
        sock = client.socket()
        if not isinstance(sock, socket.socket):
            raise ConnectionError("paho has no socket after connecting")
        client.on_socket_register_write = self._cb_want_write
        client.on_socket_close = self._cb_socket_close
        self._loop.add_reader(sock, self._readable, client)
        self._misc = self._loop.call_later(MISC_INTERVAL_S, self._run_misc, client)
        if client.want_write():
            self._writable(client)

    def _readable(self, client: paho.Client) -> None:
        client.loop_read()
        # TLS may have decrypted more than paho took: the loop cannot see those bytes in the socket.
        while (sock := client.socket()) is not None and getattr(sock, "pending", _nothing)():
            if client.loop_read() != paho.MQTT_ERR_SUCCESS:
                break

    def _writable(self, client: paho.Client) -> None:
        """Write what paho has queued; watch the socket for room only while some is left."""
        if client is not self._client or client.socket() is None:
            return
        client.loop_write()
        sock = client.socket()
        if sock is None or self._loop is None:
            return
        if client.want_write():
            self._loop.add_writer(sock, self._writable, client)
        else:
            self._loop.remove_writer(sock)

    def _run_misc(self, client: paho.Client) -> None:
        if client is not self._client or self._loop is None:
            return
        client.loop_misc()
        if client.socket() is not None:
            self._misc = self._loop.call_later(MISC_INTERVAL_S, self._run_misc, client)

    def _forget_socket(self, sock: object) -> None:
        if isinstance(sock, socket.socket) and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    # --- paho callbacks (on the event loop, inside loop_read / loop_write / loop_misc) ----------

    def _cb_want_write(self, client: paho.Client, gen: object, _sock: object) -> None:
        # A publish queued bytes: write them once this turn of the loop is done, so a batch of
        # publishes goes out together, after the caller has registered its PUBACK future.
        if gen == self._generation and self._loop is not None:
            self._loop.call_soon(self._writable, client)

    def _cb_socket_close(self, _client: paho.Client, _gen: object, sock: object) -> None:
        self._forget_socket(sock)  # before paho closes it: the fd number may be reused at once

    def _cb_connect(
        self, client: paho.Client, gen: object, _f: object, reason: ReasonCode, properties: Properties | None
    ) -> None:
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
        if gen == self._generation:
            self._connack_arrived(_code(reason), receive_maximum)

    def _cb_disconnect(
        self, _c: paho.Client, gen: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if gen == self._generation:
            self._disconnected(_code(reason))

    def _cb_publish(self, _c: paho.Client, gen: object, mid: int, reason: ReasonCode, _p: object) -> None:
        if gen == self._generation:
            self._published(mid, _code(reason))

    def _cb_message(self, _c: paho.Client, gen: object, message: paho.MQTTMessage) -> None:
        if gen != self._generation:
            return
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        self._on_message(Incoming(message.topic, bytes(message.payload), correlation))

    # --- what the callbacks change ------------------------------------------------------------

    def _connack_arrived(self, code: int, receive_maximum: int | None) -> None:
        # paho does not honour the broker's Receive Maximum (mosquitto: 20) and cannot change its
        # own limit on an open connection; exceeding it is a protocol error. So the outbox window
        # stays below it, leaving room for presence and command replies, which bypass the window.
        limit = max(1, receive_maximum - RESERVED_INFLIGHT) if receive_maximum else self.config.max_inflight
        self.window = min(self.config.max_inflight, limit)
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(code)

    def _disconnected(self, code: int) -> None:
        if self.connected.is_set() and not self._stopping:
            self._note_error(f"connection to broker lost (reason {code})")
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(ConnectionError(f"disconnected before CONNACK (reason {code})"))
        self._lost.set()
        self._fail_pending()

    def _fail_pending(self) -> None:
        self.connected.clear()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLost("connection lost before PUBACK"))

    def _published(self, mid: int, code: int) -> None:
        future = self._pending.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(code)


def _other(protocol: MQTTProtocolVersion) -> MQTTProtocolVersion:
    v5 = MQTTProtocolVersion.MQTTv5
    return MQTTProtocolVersion.MQTTv311 if protocol == v5 else v5


def _name(protocol: MQTTProtocolVersion) -> str:
    return "5" if protocol == MQTTProtocolVersion.MQTTv5 else "3.1.1"


def _code(reason: ReasonCode | int) -> int:
    return int(reason.value) if isinstance(reason, ReasonCode) else int(reason)


def _nothing() -> int:
    return 0


def _close_socket(client: paho.Client) -> None:
    sock = client.socket()
    if sock is not None:
        sock.close()  # the client is abandoned: nothing else uses its socket
