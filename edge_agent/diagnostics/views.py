"""What the page shows, as JSON-ready dicts: the agent, each device, the cabinet's power and climate.

One place builds these, for the embedded first render, the live stream and `/api/status` alike.
Secrets never get here: device diagnostics are redacted by key name, configs are never shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from edge_agent.devices.base import DeviceConfig
from edge_agent.devices.link import VALUE_NAMES as LINK_VALUE_NAMES
from edge_agent.devices.modbus.config import ModbusConfig
from edge_agent.devices.modbus.profile import output_names
from edge_agent.faults import lookup
from edge_agent.health.tracker import DeviceHealth
from edge_agent.readings import iso_ts
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState

_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "auth", "key")
_STATE_RANK = {"fault": 0, "offline": 1, "degraded": 2, "unknown": 3, "ok": 4}

# Cabinet-wide tiles, filled from whichever device reports these value names. Absent names:
# "not available". Power and environment use names of the shipped profiles (edge_agent/profiles:
# meters, UPS, temperature/humidity sensors); the uplink tile is exactly what the link probe
# declares it publishes. tests/unit/test_page_names.py fails when a name here is published by nobody.
CABINET_VALUES: dict[str, tuple[str, ...]] = {
    "power": (
        "mains_present",
        "voltage_v",
        "voltage_l1_v",
        "voltage_l2_v",
        "voltage_l3_v",
        "input_voltage_v",
        "frequency_hz",
        "on_battery",
        "battery_percent",
        "runtime_min",
    ),
    "environment": ("temperature_c", "humidity_percent"),
    "uplink": LINK_VALUE_NAMES,
}


def device_summary(snapshot: DeviceSnapshot) -> dict[str, Any]:
    """A device tile: state, cause, the one-line reason, its active faults."""
    health = snapshot.health
    faults = sorted(health.faults.values(), key=lambda active: active.since, reverse=True)
    return {
        "device_id": snapshot.device_id,
        "kind": snapshot.kind,
        "name": snapshot.name or snapshot.device_id,
        "state": health.state,
        "since": iso_ts(health.since),
        "cause": health.cause,
        "reason": health.reason or health.last_error or "",
        "reason_code": reason_code(health),
        "faults": [
            {
                "code": active.fault.code,
                "severity": active.fault.severity,
                "message": active.fault.message,
                "since": iso_ts(active.since),
            }
            | catalogued(active.fault.code)
            for active in faults
        ],
        "last_poll": iso_ts(snapshot.last_poll) if snapshot.last_poll else None,
    }


def reason_code(health: DeviceHealth) -> dict[str, Any] | None:
    """The catalogue entry explaining the state: the failure while offline, else the worst fault."""
    code: str | None = None
    if health.state == "offline":
        code = health.error_code
    elif health.state in ("fault", "degraded"):
        worst = [a.fault.code for a in health.faults.values() if a.fault.message == health.reason]
        code = worst[0] if worst else None
    elif health.state == "unknown" and health.reason.startswith("no evidence"):
        code = "no_evidence"
    return {"code": code} | catalogued(code) if code else None


def catalogued(code: str) -> dict[str, str | None]:
    """`key` (the catalogue entry, None if absent) and `subject` (the value a pattern entry names)."""
    found = lookup(code)
    return {"key": found[0], "subject": found[1]} if found else {"key": None, "subject": ""}


def value_order(config: DeviceConfig | None, snapshot: DeviceSnapshot) -> list[str]:
    """Readings in the profile's order for Modbus devices, else in the order the kind reports them."""
    names: Iterable[str] = snapshot.values
    if isinstance(config, ModbusConfig):
        names = [*output_names(config.values()), *snapshot.values]
    return [name for name in dict.fromkeys(names) if name in snapshot.values]


def config_of(configs: Iterable[DeviceConfig], device_id: str) -> DeviceConfig | None:
    return next((config for config in configs if config.device_id == device_id), None)


def value_labels(config: DeviceConfig | None) -> dict[str, dict[str, str]]:
    """name -> {language: words} from a Modbus profile's `label`s (other kinds: the page's words)."""
    if not isinstance(config, ModbusConfig):
        return {}
    return {
        value.name: {str(lang): text for lang, text in value.label.items()}
        for value in config.values()
        if value.label
    }


def device_detail(snapshot: DeviceSnapshot, config: DeviceConfig | None = None) -> dict[str, Any]:
    detail = device_summary(snapshot)
    detail.update(
        order=value_order(config, snapshot),
        labels=value_labels(config),
        values=dict(snapshot.values),
        units=dict(snapshot.units),
        diagnostics=redact(snapshot.diagnostics),
        polls_ok=snapshot.polls_ok,
        polls_failed=snapshot.polls_failed,
        consecutive_failures=snapshot.health.consecutive_failures,
    )
    return detail


def ordered_devices(live: LiveState) -> list[dict[str, Any]]:
    """Worst first; within a state, the newest change first (newest faults on top)."""
    tiles = [device_summary(snapshot) for snapshot in live.devices.values()]
    tiles.sort(key=lambda tile: tile["since"], reverse=True)
    tiles.sort(key=lambda tile: _STATE_RANK.get(tile["state"], 5))
    return tiles


def cabinet_values(live: LiveState) -> dict[str, list[dict[str, Any]]]:
    """group -> [{name, value, unit, device_id}] for the power, environment and uplink tiles."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for group, names in CABINET_VALUES.items():
        found = []
        for snapshot in live.devices.values():
            for name in names:
                if name in snapshot.values:
                    found.append(
                        {
                            "name": name,
                            "value": snapshot.values[name],
                            "unit": snapshot.units.get(name, ""),
                            "device_id": snapshot.device_id,
                        }
                    )
        groups[group] = found
    return groups


def redact(data: Any, _depth: int = 0) -> Any:
    """A copy with the values of secret-looking keys replaced; bounded depth against cycles."""
    if _depth > 6:
        return "…"
    if isinstance(data, dict):
        return {
            str(key): "***" if _is_secret(str(key)) else redact(value, _depth + 1)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact(item, _depth + 1) for item in data[:200]]
    if isinstance(data, bytes):
        return data.hex(" ")
    if data is None or isinstance(data, str | int | float | bool):
        return data
    return str(data)


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS) and not lowered.startswith("keyframe")
