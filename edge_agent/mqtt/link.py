"""The connection to the broker: paho-mqtt driven by the event loop, our reconnect policy.

paho runs on the event loop (`paho_loop.PahoOnLoop`): its callbacks (CONNACK, PUBACKs, incoming
commands) run there, with no network thread and no hand-off between threads. Only the connect
runs on a worker thread, as paho's `connect` blocks in DNS, the TCP connect and the TLS handshake;
the socket it leaves is non-blocking. A fresh paho client is made for every connection: the
outbox, not paho's in-memory session, is what guarantees delivery, so nothing half-sent is carried
over by paho behind our back; callbacks of an abandoned client are ignored.

Reconnect: exponential backoff from `reconnect_min_s` to `reconnect_max_s` with full jitter, so a
fleet of cabinets does not reconnect in lock-step after a broker restart.

Version (`protocol: auto`): MQTT 5 first, 3.1.1 when the broker refuses or ignores it
(`version_choice.VersionChoice`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, wait_random_exponential

from edge_agent.errors import ConnectionLost
from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.paho_client import Client
from edge_agent.mqtt.paho_loop import PahoOnLoop
from edge_agent.mqtt.protocol_memory import ProtocolMemory
from edge_agent.mqtt.version_choice import VersionChoice, name

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

RESERVED_INFLIGHT = 4


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
        self._version = VersionChoice(
            config.protocol, ProtocolMemory(protocol_file, f"{config.host}:{config.effective_port}")
        )
        self._paho: PahoOnLoop | None = None  # the current connection's client, driven by the loop
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._lost = asyncio.Event()
        self._lost_listeners: list[Callable[[], None]] = []
        self._connack: asyncio.Future[int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self.last_error: str | None = None
        self.connect_attempts = 0
        self.window = config.max_inflight  # QoS 1 messages we may have unacknowledged on this connection

    # --- public ---------------------------------------------------------------------------------

    @property
    def protocol(self) -> MQTTProtocolVersion:
        """The MQTT version of the current (or next) connection."""
        return self._version.current

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
        client = self._current()
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

    def on_lost(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the event loop) whenever a connection drops: no task waits for it."""
        self._lost_listeners.append(listener)

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
        client = self._current()
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
        driver = self._paho = PahoOnLoop(self._loop, client)
        self._lost.clear()
        self._connack = self._loop.create_future()
        connect_sent = False
        try:
            async with asyncio.timeout(self.config.connect_timeout_s):
                await _in_own_thread(self._connect_blocking, client)
                connect_sent = True  # TCP and TLS are up and paho has written the CONNECT
                driver.attach()
                code = await self._connack
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            self._note_error(f"cannot connect to {self.config.host}:{self.config.effective_port}: {exc!r}")
            if connect_sent:
                self._version.unanswered()
            self._teardown()
            return False
        fell_back = self._version.answered(code)  # refused MQTT 5: 3.1.1 next, no error
        if code != 0:
            if not fell_back:
                self._note_error(f"broker refused the connection: {_refusal(code)}")
            self._teardown()
            return False
        self._version.accepted()
        self._subscribe(client)
        if self.last_error is not None:
            log.info("connected to broker %s:%s again", self.config.host, self.config.effective_port)
        else:
            log.info(
                "connected to broker %s:%s (MQTT %s)",
                self.config.host,
                self.config.effective_port,
                name(self.protocol),
            )
        self.last_error = None
        self.connected.set()
        self._on_connected()
        return True

    def _connect_blocking(self, client: paho.Client) -> None:
        # DNS, TCP and the TLS handshake block; they run on a worker thread, bounded by connect_timeout.
        # No socket callbacks are set yet, so paho writes the CONNECT itself, here.
        client.connect(self.config.host, self.config.effective_port, keepalive=self.config.keepalive_s)
        if client is not self._current():  # the connect timed out meanwhile: nobody reads this socket
            sock = client.socket()
            if sock is not None:
                sock.close()

    def _note_error(self, message: str) -> None:
        # Logged once per outage, not at every retry.
        if message != self.last_error:
            log.warning("%s", message)
        self.last_error = message

    def _new_client(self) -> paho.Client:
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,
            reconnect_on_failure=False,
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
        import ssl  # only with TLS: without it the agent may run on an interpreter that never loads ssl

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
        driver, self._paho = self._paho, None
        if driver is not None:
            driver.detach()

    def _current(self) -> paho.Client | None:
        return self._paho.client if self._paho is not None else None

    # --- paho callbacks (on the event loop, inside loop_read / loop_write / loop_misc) ----------

    def _cb_connect(
        self, client: paho.Client, _u: object, _f: object, reason: ReasonCode, properties: Properties | None
    ) -> None:
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
        if client is self._current():
            self._connack_arrived(_code(reason), receive_maximum)

    def _cb_disconnect(
        self, client: paho.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if client is self._current():
            self._disconnected(_code(reason))

    def _cb_publish(self, client: paho.Client, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        if client is self._current():
            self._published(mid, _code(reason))

    def _cb_message(self, client: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        if client is not self._current():
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
        for listener in self._lost_listeners:
            listener()

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


def _refusal(code: int) -> str:
    return paho.connack_string(code) if code < 6 else str(code)


def _code(reason: ReasonCode | int) -> int:
    return int(reason.value) if isinstance(reason, ReasonCode) else int(reason)


async def _in_own_thread(function: Callable[[paho.Client], None], client: paho.Client) -> None:
    """Run `function` on a thread that ends with it: a connect is rare, and a thread of the default
    executor, once started, would stay for the agent's life."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-connect")
    try:
        await asyncio.get_running_loop().run_in_executor(executor, function, client)
    finally:
        executor.shutdown(wait=False)  # a connect given up still ends, within paho's connect timeout
