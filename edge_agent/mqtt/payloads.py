"""Payload types of the MQTT contract, version 1. JSON Schemas in `schemas/` are generated from these.

Compatibility rule for v1: fields may be added (subscribers ignore what they do not know); a field
is never removed, renamed or given another meaning without a new topic version (`v2`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from edge_agent.readings import Cause, DeviceStateName, Severity, iso_ts

Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(iso_ts, return_type=str, when_used="json"),
    Field(
        description="RFC 3339 UTC with milliseconds, e.g. 2026-11-22T08:00:00.000Z.",
        json_schema_extra={"format": "date-time", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"},
    ),
]
MessageId = Annotated[
    str, Field(min_length=8, max_length=64, description="Stable unique id; repeats mean a duplicate.")
]
Seq = Annotated[
    int,
    Field(
        ge=1,
        description="Per-cabinet sequence over event, state, report and audit messages; a gap means loss.",
    ),
]
JsonValue = float | int | bool | str | None


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StatusPayload(Payload):
    """`status` (retained): birth, last will and clean stop of the agent."""

    state: Literal["online", "offline"]
    reason: Literal["lost", "shutdown"] | None = Field(
        None, description="Why offline: `lost` = last will (connection dropped), `shutdown` = clean stop."
    )
    cabinet_id: str
    site: str | None = None
    boot_id: str = Field(description="New at every start of the agent.")
    agent_version: str
    config_hash: str = Field(description="Digest of the effective configuration, secrets excluded.")
    ts: Timestamp


class FaultItem(Payload):
    code: str = Field(description="Stable machine-readable fault code, e.g. `disk_full`.")
    severity: Severity
    message: str
    since: Timestamp


class DeviceStatePayload(Payload):
    """`device/<device_id>/state` (retained): the device's state after each change."""

    id: MessageId
    seq: Seq
    ts: Timestamp
    device_id: str
    kind: str = Field(description="Device kind, the `type` of its config.")
    name: str | None = None
    state: DeviceStateName
    since: Timestamp
    cause: Cause | None = Field(description="Why the device is offline or in fault; null when ok.")
    reason: str = Field(description="One line for people: the worst fault or the last error.")
    faults: list[FaultItem]


class TelemetryPayload(Payload):
    """`device/<device_id>/telemetry`: changed values (beyond their deadband), or all of them when `full`."""

    ts: Timestamp
    device_id: str
    full: bool = Field(description="True on a periodic full refresh: every value is present.")
    values: dict[str, JsonValue]
    units: dict[str, str] | None = Field(
        None,
        description=(
            "Unit per value name, for the values present that have one (`mqtt.telemetry_units: inline`). "
            "Absent in the compact form (`meta`, v1.1): the units are in the retained `device/<id>/meta`."
        ),
    )


class DeviceMetaPayload(Payload):
    """`device/<device_id>/meta` (retained, v1.1): what compact telemetry leaves out; re-sent on change."""

    ts: Timestamp
    device_id: str
    kind: str = Field(description="Device kind, the `type` of its config.")
    name: str | None = None
    units: dict[str, str] = Field(description="Unit per value name, for every value that has one.")


class EventPayload(Payload):
    """`event`: something happened. Types are listed in docs/mqtt.md."""

    id: MessageId
    seq: Seq
    ts: Timestamp
    device_id: str | None = Field(
        description="The device concerned; null for the cabinet or the agent itself."
    )
    type: str
    severity: Severity
    cause: Cause | None
    detail: dict[str, Any]


class CommandRequest(Payload):
    """`cmd/<name>` (to the cabinet): a request. MQTT 5 correlation data is echoed on the reply."""

    transaction: Annotated[str, Field(min_length=1, max_length=128, description="Echoed on the reply.")]
    operator: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="Who asked; recorded with the action."
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Command arguments; see docs/mqtt.md.")


class CommandErrorItem(Payload):
    code: str = Field(description="e.g. malformed_json, invalid_request, unknown_command, invalid_args.")
    message: str


class CommandReplyPayload(Payload):
    """`cmd-reply`: the answer to one request."""

    transaction: str | None = Field(description="The request's transaction; null if it could not be read.")
    command: str | None
    status: Literal["ok", "error"]
    data: dict[str, Any] | None
    error: CommandErrorItem | None
    ts: Timestamp


class AuditPayload(Payload):
    """`audit`: one operator or remote action, or config change, as written to the audit log."""

    id: MessageId
    seq: Seq
    n: int = Field(ge=1, description="Position in the cabinet's audit chain (1, 2, 3, ...).")
    ts: Timestamp
    operator: str | None = Field(description="Who acted; null when the request named no one.")
    source: Literal["mqtt", "web", "cli", "agent"]
    module: str = Field(description="What acted: `cmd/<name>`, `web/<action>`, `config`, ...")
    target: str | None = Field(description="The device acted on; null for the cabinet.")
    params: dict[str, Any] = Field(description="Parameters, secrets written as `***`.")
    result: str = Field(description="`ok` or `error: <code>`.")
    prev_hash: str = Field(description="`hash` of the previous record (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of the record's canonical JSON without `hash`.")
    mac: str | None = Field(
        None, description="HMAC-SHA256 of `hash` with the cabinet's audit key; absent without a key."
    )


class CauseSeconds(Payload):
    state_s: dict[str, float] = Field(
        description="Seconds per state (ok, degraded, fault, offline, unknown)."
    )
    offline_cause_s: dict[str, float] = Field(description="Offline seconds per cause.")
    online_rate: float | None = Field(
        description="online / (scheduled - excluded causes), 0..1; null with nothing scheduled."
    )


class ReportDevice(Payload):
    device_id: str
    kind: str
    state: DeviceStateName = Field(description="State when the report was made.")
    cause: Cause | None
    day: CauseSeconds = Field(description="The report's day.")
    month: CauseSeconds = Field(description="From the 1st of the month to the end of the report's day.")
    faults_raised: list[str] = Field(description="Fault codes raised during the day.")
    faults_cleared: list[str] = Field(description="Fault codes cleared during the day.")
    faults_active: list[str]
    replace_recommended: list[str] = Field(description="Fault codes that recurred too often.")
    values: dict[str, JsonValue] = Field(
        description="Latest inspection figures: SD card, retention, clock drift, link latency/loss."
    )


class DailyReportPayload(Payload):
    """`report/daily`: the daily inspection report (巡检台账) of the cabinet."""

    id: MessageId
    seq: Seq
    ts: Timestamp
    cabinet_id: str
    day: str = Field(description="Local calendar day reported, YYYY-MM-DD.")
    timezone: str
    excluded_causes: list[Cause]
    unknown_time: Literal["online", "excluded"] = Field(
        "online", description="Contract rule for `unknown` seconds in `online_rate` (docs/health.md)."
    )
    devices: list[ReportDevice]


# Schema file name -> model; the files in schemas/ are generated from this table.
SCHEMAS: dict[str, type[Payload]] = {
    "status": StatusPayload,
    "device-state": DeviceStatePayload,
    "device-telemetry": TelemetryPayload,
    "device-meta": DeviceMetaPayload,
    "event": EventPayload,
    "cmd-request": CommandRequest,
    "cmd-reply": CommandReplyPayload,
    "audit": AuditPayload,
    "report-daily": DailyReportPayload,
}


def json_schema(name: str) -> dict[str, Any]:
    """The published schema: like the model, except that it accepts fields added within v1.

    The models forbid unknown fields (a producer's typo fails at once); a subscriber validating
    with the schema must not refuse what a newer v1 agent adds, so `additionalProperties: false`
    is left out of every object.
    """
    schema: dict[str, Any] = _open_objects(SCHEMAS[name].model_json_schema(mode="serialization"))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"edge-agent/v1/{name}.schema.json"
    return schema


def _open_objects(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _open_objects(value)
            for key, value in node.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(node, list):
        return [_open_objects(item) for item in node]
    return node
