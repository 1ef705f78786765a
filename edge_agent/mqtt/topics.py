"""Topic layout of the MQTT contract, version 1. The only place topics are spelled.

<prefix>/v1/<cabinet_id>/status                      retained  cabinet presence (birth / will)
<prefix>/v1/<cabinet_id>/device/<device_id>/state    retained  device state
<prefix>/v1/<cabinet_id>/device/<device_id>/telemetry          readings
<prefix>/v1/<cabinet_id>/device/<device_id>/meta     retained  units and labels of the readings (v1.1)
<prefix>/v1/<cabinet_id>/event                                 events, from the outbox
<prefix>/v1/<cabinet_id>/report/daily                          daily inspection report
<prefix>/v1/<cabinet_id>/audit                                 operator and remote actions
<prefix>/v1/<cabinet_id>/cmd/<name>                  (in)      command requests
<prefix>/v1/<cabinet_id>/cmd-reply                             command replies
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str
    cabinet_id: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{CONTRACT_VERSION}/{self.cabinet_id}"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    def device_state(self, device_id: str) -> str:
        return f"{self.root}/device/{device_id}/state"

    def device_telemetry(self, device_id: str) -> str:
        return f"{self.root}/device/{device_id}/telemetry"

    def device_meta(self, device_id: str) -> str:
        return f"{self.root}/device/{device_id}/meta"

    @property
    def event(self) -> str:
        return f"{self.root}/event"

    @property
    def report_daily(self) -> str:
        return f"{self.root}/report/daily"

    @property
    def audit(self) -> str:
        return f"{self.root}/audit"

    @property
    def command_filter(self) -> str:
        return f"{self.root}/cmd/+"

    @property
    def command_reply(self) -> str:
        return f"{self.root}/cmd-reply"

    def command_name(self, topic: str) -> str | None:
        """The command name of a request topic, or None if the topic is not a command of ours."""
        head = f"{self.root}/cmd/"
        if not topic.startswith(head):
            return None
        name = topic[len(head) :]
        return name if name and "/" not in name else None


@dataclass(frozen=True, slots=True)
class TopicParts:
    """A received topic taken apart: `kind` is status, state, telemetry, event, report, audit,
    command or command_reply; `device_id` is set for state and telemetry, `command` for command."""

    cabinet_id: str
    kind: str
    device_id: str | None = None
    command: str | None = None


def subscription(prefix: str, share_group: str | None = None) -> str:
    """The filter for every cabinet's messages, shared by `share_group` (MQTT 5) when given."""
    topic = f"{prefix}/{CONTRACT_VERSION}/#"
    return f"$share/{share_group}/{topic}" if share_group else topic


def parse_topic(prefix: str, topic: str) -> TopicParts | None:
    """The parts of a contract topic under `prefix`, or None for anything else."""
    head = f"{prefix}/{CONTRACT_VERSION}/"
    if not topic.startswith(head):
        return None
    cabinet_id, _, rest = topic[len(head) :].partition("/")
    if not cabinet_id or not rest:
        return None
    simple = {"status": "status", "event": "event", "report/daily": "report", "audit": "audit"}
    if rest in simple:
        return TopicParts(cabinet_id, simple[rest])
    if rest == "cmd-reply":
        return TopicParts(cabinet_id, "command_reply")
    levels = rest.split("/")
    if len(levels) == 3 and levels[0] == "device" and levels[2] in ("state", "telemetry") and levels[1]:
        return TopicParts(cabinet_id, levels[2], device_id=levels[1])
    if len(levels) == 2 and levels[0] == "cmd" and levels[1]:
        return TopicParts(cabinet_id, "command", command=levels[1])
    return None
