"""`edge-agent fleet collect`: stores what the fleet publishes, with as many collectors as needed.

Each collector subscribes to `$share/<group>/<prefix>/v1/#` (MQTT 5 shared subscription): the
broker hands each message to one collector of the group, so they split the load, and when one
dies the others get everything. Messages are acknowledged (PUBACK) only after the transaction
that stored them committed; what a collector had received but not stored when it died is not
acknowledged, and what the broker then drops shows up as a `seq` gap that `gaps.sweep` asks the
cabinet to fill (`resend_events`).

Threads: paho's network thread queues messages; the collector's thread stores them in batches
(one transaction each), acknowledges, and sweeps for gaps every `sweep_interval_s`.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge_agent.fleet.connection import new_client
from edge_agent.fleet.gaps import RESEND_COMMAND, GapPolicy, apply_reply, sweep
from edge_agent.fleet.ingest import Incoming, Ingestor
from edge_agent.fleet.store import Store
from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.payloads import CommandRequest
from edge_agent.mqtt.topics import Topics, subscription

log = logging.getLogger(__name__)

Batch = list[tuple[paho.MQTTMessage, float]]
MAX_RETRY_S = 10.0


@dataclass
class CollectorStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    resend_requests: int = 0
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "resend_requests": self.resend_requests,
            "messages_per_s": round(self.received / elapsed, 1),
        }


@dataclass(frozen=True, slots=True)
class CollectorOptions:
    group: str = "edge-collectors"
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    batch_max: int = 500
    sweep_interval_s: float = 5.0
    gaps: GapPolicy = field(default_factory=GapPolicy)
    stats_interval_s: float = 0  # 0: no periodic figures
    on_stats: Callable[[dict[str, Any]], None] | None = None


class Collector:
    def __init__(self, store: Store, mqtt: MqttConfig, options: CollectorOptions | None = None) -> None:
        self.store = store
        self.mqtt = mqtt
        self.options = options or CollectorOptions()
        self.ingestor = Ingestor(store, mqtt.prefix)
        self.stats = CollectorStats()
        self.connected = threading.Event()
        self._inbox: queue.Queue[tuple[paho.MQTTMessage, float]] = queue.Queue()
        self._client = new_client(
            mqtt, mqtt.client_id or f"fleet-collect-{self.options.name}", manual_ack=True
        )
        self._pending: Batch = []  # a batch the database refused, tried again before new ones
        self._failures = 0
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def run(self, stop: threading.Event) -> CollectorStats:
        """Collect until `stop` is set. Raises OSError when the broker cannot be reached at all."""
        self._client.connect(self.mqtt.host, self.mqtt.effective_port, keepalive=self.mqtt.keepalive_s)
        self._client.loop_start()
        next_sweep = time.monotonic() + self.options.sweep_interval_s
        next_stats = time.monotonic() + (self.options.stats_interval_s or float("inf"))
        try:
            while not stop.is_set():
                if not self._guarded(self._store_batch, self._pending or self._take_batch(timeout_s=0.2)):
                    stop.wait(min(0.2 * 2**self._failures, MAX_RETRY_S))
                    continue
                if time.monotonic() >= next_stats and self.options.on_stats is not None:
                    next_stats = time.monotonic() + self.options.stats_interval_s
                    self.options.on_stats({"collector": self.options.name, **self.stats.summary()})
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.options.sweep_interval_s
                    self._guarded(self._sweep, [])
        finally:
            self._client.disconnect()
            self._client.loop_stop()
        return self.stats

    def _guarded(self, step: Callable[[Batch], None], batch: Batch) -> bool:
        """Run a database step; on an error keep the batch (not acknowledged) to try again later.

        The database may be restarting, or two collectors' transactions may have collided: both
        pass. A streak of failures is logged once, with the first error, and once when it ends.
        """
        try:
            step(batch)
        except Exception:  # the collector's loop is the boundary: it must outlive any database error
            if not self._failures:
                log.exception("collector %s: database step failed; retrying", self.options.name)
            self._failures += 1
            self._pending = batch
            return False
        if self._failures:
            log.warning("collector %s: database back after %d failure(s)", self.options.name, self._failures)
        self._failures, self._pending = 0, []
        return True

    def _sweep(self, _batch: Batch) -> None:
        self.stats.resend_requests += sweep(
            self.store, time.time(), self.options.gaps, self.options.name, self._request_resend
        )

    def _take_batch(self, timeout_s: float) -> Batch:
        try:
            batch = [self._inbox.get(timeout=timeout_s) if timeout_s else self._inbox.get_nowait()]
        except queue.Empty:
            return []
        while len(batch) < self.options.batch_max:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store_batch(self, batch: Batch) -> None:
        if not batch:
            return
        now = time.time()
        stats = self.ingestor.ingest(Incoming(m.topic, bytes(m.payload), now, m.retain) for m, _ in batch)
        for message, _ in batch:
            if message.qos:
                self._client.ack(message.mid, message.qos)
        self.stats.received += len(batch)
        self.stats.stored += stats.stored
        self.stats.duplicates += stats.duplicates
        self.stats.invalid += stats.invalid
        for cabinet_id, reply in stats.replies:
            apply_reply(self.store, cabinet_id, reply)

    def _request_resend(self, cabinet_id: str, first: int, last: int, transaction: str) -> None:
        arguments = {"from_seq": first, "to_seq": last}
        request = CommandRequest(transaction=transaction, operator=None, args=arguments)
        topic = f"{Topics(self.mqtt.prefix, cabinet_id).root}/cmd/{RESEND_COMMAND}"
        self._client.publish(topic, request.model_dump_json(), qos=1)

    # --- paho's network thread ------------------------------------------------------------------

    def _on_connect(self, client: paho.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            log.error("broker refused the collector: %s", reason)
            return
        options = SubscribeOptions(qos=1)
        client.subscribe(subscription(self.mqtt.prefix, self.options.group), options=options)
        log.info("collector %s subscribed (group %s)", self.options.name, self.options.group)
        self.connected.set()

    def _on_message(self, _c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        self._inbox.put((message, time.time()))
