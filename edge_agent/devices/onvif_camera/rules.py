"""Judging evidence: pure functions from readings to values and faults. No IO here."""

from __future__ import annotations

from datetime import datetime

from edge_agent.devices.onvif_camera.codec import StorageStatus, nominal_size_gb
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
from edge_agent.devices.onvif_camera.schedule import Evidence
from edge_agent.readings import Fault, Value

UNITS = {
    "onvif_rtt_ms": "ms",
    "clock_drift_s": "s",
    "sd_capacity_bytes": "B",
    "sd_free_bytes": "B",
    "sd_used_percent": "%",
    "sd_nominal_gb": "GB",
    "retention_days": "d",
    "recording_age_s": "s",
    "rtsp_rtt_ms": "ms",
}


def clock(drift_s: float, config: OnvifCameraConfig) -> list[Fault]:
    if abs(drift_s) <= config.clock_tolerance_s:
        return []
    return [
        Fault(
            "clock_drift",
            "critical",
            f"camera clock is {drift_s:+.1f} s off (tolerance {config.clock_tolerance_s:g} s): "
            "evidence timestamps are wrong",
        )
    ]


def storage(status: StorageStatus, config: OnvifCameraConfig) -> Evidence:
    nominal = nominal_size_gb(status.capacity_bytes)
    values: dict[str, Value] = {
        "sd_state": status.state,
        "sd_capacity_bytes": status.capacity_bytes,
        "sd_free_bytes": status.free_bytes,
        "sd_used_percent": status.used_percent,
        "sd_nominal_gb": nominal,
    }
    faults: list[Fault] = []
    if status.state == "missing":
        faults.append(Fault("sd_missing", "critical", "no SD card: nothing is recorded locally"))
    elif status.state == "unformatted":
        faults.append(Fault("sd_unformatted", "critical", "SD card is not formatted"))
    elif status.state == "error":
        faults.append(Fault("sd_error", "critical", "SD card reports an error"))
    if nominal is not None and nominal < config.min_sd_capacity_gb:
        faults.append(
            Fault(
                "sd_too_small",
                "critical",
                f"{nominal} GB card; at least {config.min_sd_capacity_gb:g} GB required",
            )
        )
    used = status.used_percent
    if status.state == "ok" and used is not None and used >= config.sd_full_percent:
        faults.append(Fault("sd_full", "warning", f"SD card {used:.1f} % used"))
    return Evidence(values, faults)


def retention(
    data_from: datetime | None,
    data_until: datetime | None,
    camera_now: datetime,
    job_states: list[str],
    config: OnvifCameraConfig,
) -> Evidence:
    """`camera_now` is the camera's own clock (agent time plus measured drift): the summary is in it."""
    values: dict[str, Value] = {
        "recording_active": any(state.lower() == "active" for state in job_states) if job_states else None,
        "recording_job_state": ",".join(job_states) if job_states else None,
    }
    if data_from is None or data_until is None:
        return Evidence(values, [Fault("recording_stopped", "critical", "no recorded data on the camera")])
    retention_days = max((data_until - data_from).total_seconds(), 0) / 86400
    age_s = max((camera_now - data_until).total_seconds(), 0.0)
    values.update({"retention_days": round(retention_days, 3), "recording_age_s": round(age_s)})
    faults: list[Fault] = []
    if age_s > config.recording_stale_after_s:
        jobs = f" (jobs: {values['recording_job_state']})" if job_states else ""
        faults.append(
            Fault("recording_stopped", "critical", f"newest recording is {age_s / 60:.0f} min old{jobs}")
        )
    if config.link == "wireless" and retention_days < config.min_retention_days:
        faults.append(
            Fault(
                "retention_short",
                "critical",
                f"{retention_days:.1f} days of local video; {config.min_retention_days:g} required",
            )
        )
    return Evidence(values, faults)
