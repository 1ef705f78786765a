"""Host limits become faults of the right severity; reconnect delays stay within their bounds."""

from __future__ import annotations

from pathlib import Path

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.host.config import HostConfig
from edge_agent.devices.host.poller import HostPoller
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.link import MqttLink, Will


def test_host_limits_map_to_warning_and_critical(tmp_path: Path) -> None:
    poller = HostPoller(HostConfig(type="host", device_id="h"), DeviceContext(tmp_path, SharedResources()))
    values = {
        "cpu_percent": 95.0,
        "memory_percent": 10.0,
        "disk_percent": 96.0,
        "agent_rss_bytes": 30 * 2**20,
    }
    faults = {fault.code: fault.severity for fault in poller._faults(values)}
    assert faults == {"cpu_high": "warning", "disk_full": "critical"}


def test_reconnect_delay_grows_is_capped_and_jittered() -> None:
    config = MqttConfig(host="127.0.0.1", reconnect_min_s=1, reconnect_max_s=60)
    link = MqttLink(
        config,
        client_id="x",
        will=Will("t", b""),
        on_connected=lambda: None,
        on_message=lambda _m: None,
        subscriptions=[],
    )
    for attempt in range(1, 40):
        delays = {link._backoff_delay(attempt) for _ in range(20)}
        assert all(1 <= delay <= min(60, 2 ** (attempt - 1)) for delay in delays)
        if attempt > 3:
            assert len(delays) > 1  # jittered: a fleet does not reconnect in lock-step
