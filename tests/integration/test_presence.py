"""Presence on `status`: retained birth, last will on kill -9, clean stop, as central subscribers see it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.agent import AgentProcess, write_config

pytestmark = pytest.mark.integration

STATUS = "edge/v1/cab-test/status"


def _status(state: str, reason: str | None = None):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    def matches(message) -> bool:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
        if message.topic != STATUS:
            return False
        body = message.json()
        return body["state"] == state and (reason is None or body["reason"] == reason)

    return matches


def test_birth_is_retained_with_identity(broker, subscriber_factory, tmp_path: Path) -> None:
    config = write_config(tmp_path, port=broker.port)
    with AgentProcess(config) as agent:
        live = subscriber_factory(broker.host, broker.port, [STATUS])
        live.wait_for(_status("online"), timeout=15)
        late = subscriber_factory(broker.host, broker.port, [STATUS])  # joins after the birth
        birth = late.wait_for(_status("online"))
        assert birth.retain
        body = birth.json()
        assert body["cabinet_id"] == "cab-test" and body["reason"] is None
        assert len(body["boot_id"]) == 32 and len(body["config_hash"]) == 16
        assert agent.terminate() == 0


def test_last_will_arrives_within_one_and_a_half_keepalives_after_kill_9(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    keepalive_s = 5
    config = write_config(tmp_path, port=broker.port, mqtt={"keepalive_s": keepalive_s})
    watcher = subscriber_factory(broker.host, broker.port, [STATUS])
    watcher.wait_connected()
    with AgentProcess(config) as agent:
        online = watcher.wait_for(_status("online"), timeout=15).json()
        agent.kill()
        killed_at = time.monotonic()
        will = watcher.wait_for(_status("offline", "lost"), timeout=keepalive_s * 1.5 + 2)
        # The broker notices the dead socket at once (the kernel closes it) or after 1.5 keepalives.
        assert will.at - killed_at <= keepalive_s * 1.5 + 0.5
        assert will.json()["boot_id"] == online["boot_id"]
    retained = subscriber_factory(broker.host, broker.port, [STATUS]).wait_for(STATUS)
    assert retained.json()["state"] == "offline" and retained.retain


def test_clean_stop_publishes_offline_shutdown_and_no_will(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    config = write_config(tmp_path, port=broker.port)
    watcher = subscriber_factory(broker.host, broker.port, ["edge/v1/cab-test/#"])
    watcher.wait_connected()
    with AgentProcess(config) as agent:
        watcher.wait_for(_status("online"), timeout=15)
        assert agent.terminate() == 0
    watcher.wait_for(_status("offline", "shutdown"))
    stopping = [m for m in watcher.messages("edge/v1/cab-test/event") if m.json()["type"] == "agent_stopping"]
    assert len(stopping) == 1
    assert not [m for m in watcher.messages(STATUS) if m.json().get("reason") == "lost"]
    assert "stopping" in agent.log_text()
