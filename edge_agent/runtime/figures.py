"""The agent's own identity and figures: `agent_info` (get_status, the page), the stats devices
read (the host's agent memory, outbox depth) and the liveness record."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil

from edge_agent import __version__
from edge_agent.config import AgentConfig
from edge_agent.mqtt.link import MqttLink
from edge_agent.mqtt.reporter import Reporter
from edge_agent.readings import Value, utc_now
from edge_agent.runtime.liveness_file import Liveness
from edge_agent.runtime.outbox import Outbox


@dataclass(frozen=True)
class Identity:
    """Who this agent run is: fixed for the life of the process run."""

    config: AgentConfig
    boot_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=utc_now)
    started_monotonic: float = field(default_factory=time.monotonic)


class Figures:
    def __init__(self, identity: Identity, outbox: Outbox, link: MqttLink, reporter: Reporter) -> None:
        self.identity = identity
        self.outbox, self.link, self.reporter = outbox, link, reporter
        self._process = psutil.Process(os.getpid())

    def agent_stats(self) -> dict[str, Value]:
        stats = self.outbox.stats()
        return {
            "agent_rss_bytes": self._process.memory_info().rss,
            "outbox_depth": stats.depth,
            "outbox_bytes": stats.stored_bytes,
            "outbox_held": stats.held,  # in memory: the disk refused them (see `storage_full`)
            "storage_full": not stats.storage_ok,
        }

    def agent_info(self) -> dict[str, Any]:
        stats, config = self.outbox.stats(), self.identity.config
        return {
            "cabinet_id": config.cabinet.id,
            "site": config.cabinet.site,
            "version": __version__,
            "boot_id": self.identity.boot_id,
            "config_hash": config.config_hash(),
            "uptime_s": round(time.monotonic() - self.identity.started_monotonic, 1),
            "broker_connected": self.link.connected.is_set(),
            "broker_last_error": self.link.last_error,
            "outbox": {
                "depth": stats.depth,
                "bytes": stats.stored_bytes,
                "max_bytes": stats.max_bytes,
                "thinned_total": stats.thinned_total,
                "rejected_total": stats.rejected_total,
            },
            "published_total": self.reporter.published_total,
        }

    def liveness(self) -> Liveness:
        """The record of the liveness file (read by `edge-agent health`, the upgrade gate)."""
        return Liveness(
            version=__version__,
            boot_id=self.identity.boot_id,
            pid=os.getpid(),
            started_at=self.identity.started_at,
            updated_at=utc_now(),
            broker_connected=self.link.connected.is_set(),
            outbox_depth=self.outbox.stats().depth,
        )
