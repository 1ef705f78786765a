"""What the page shows, as JSON-ready dicts: the agent, each device, the cabinet's power and climate.

One place builds these, for the embedded first render, the live stream and `/api/status` alike.
Secrets never get here: device diagnostics are redacted by key name, configs are never shown.
"""

from __future__ import annotations

from typing import Any

from edge_agent.readings import iso_ts
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState

_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "auth", "key")
_STATE_RANK = {"fault": 0, "offline": 1, "degraded": 2, "unknown": 3, "ok": 4}

# Cabinet-wide tiles, filled from whichever device reports these value names (the Modbus power
# meter, the environment sensor, the door switch, the uplink probe). Absent names: "not available".
CABINET_VALUES: dict[str, tuple[str, ...]] = {
    # Names of the shipped profiles (edge_agent/profiles): meters, UPS / power monitor.
    "power": (
        "mains_present",
        "voltage_v",
        "voltage_l1_v",
        "voltage_l2_v",
        "voltage_l3_v",
        "frequency_hz",
        "on_battery",
        "battery_percent",
        "runtime_min",
    ),
    "environment": ("cabinet_temperature_c", "temperature_c", "humidity_percent", "door_open"),
    "uplink": ("uplink_ok", "uplink_rtt_ms", "uplink_loss_percent", "gateway_reachable", "centre_reachable"),
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
        "faults": [
            {
                "code": active.fault.code,
                "severity": active.fault.severity,
                "message": active.fault.message,
                "since": iso_ts(active.since),
            }
            for active in faults
        ],
        "last_poll": iso_ts(snapshot.last_poll) if snapshot.last_poll else None,
    }


def device_detail(snapshot: DeviceSnapshot) -> dict[str, Any]:
    detail = device_summary(snapshot)
    detail.update(
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
