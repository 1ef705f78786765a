"""`type: onvif_camera` configuration. Light on purpose: no onvif / zeep import here."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge_agent.config_base import Secret, StrictModel
from edge_agent.devices.base import DeviceConfig, TelemetryConfig

# Readings that jitter at every poll would otherwise be sent every poll; these are the changes
# worth a message (a whole-config `telemetry.deadband` replaces them).
DEFAULT_DEADBANDS = {
    "onvif_rtt_ms": 100.0,
    "rtsp_rtt_ms": 100.0,
    "clock_drift_s": 1.0,
    "recording_age_s": 300.0,
    "sd_free_bytes": 2**30,
    "sd_used_percent": 1.0,
    "retention_days": 0.1,
}

StorageApi = Literal["auto", "hikvision", "dahua", "axis", "none"]


class CheckIntervals(StrictModel):
    """How often each check runs. Reachability and clock run at every poll (`poll_interval_s`)."""

    identity_s: float = Field(3600, gt=0, description="Manufacturer, model, firmware, serial.")
    streams_s: float = Field(900, gt=0, description="Media profiles, stream URI and the RTSP probe.")
    storage_s: float = Field(900, gt=0, description="SD card status from the vendor API.")
    retention_s: float = Field(300, gt=0, description="Profile G recording summary and job state.")


class OnvifCameraConfig(DeviceConfig):
    type: Literal["onvif_camera"]
    host: str = Field(
        min_length=1, max_length=253, description="Camera address (IP or name) on the cabinet LAN."
    )
    scheme: Literal["http", "https"] = Field(
        "http",
        description="https: TLS to ONVIF and the web API (self-signed camera certificates: not verified).",
    )
    port: int = Field(80, ge=1, le=65535, description="ONVIF port.")
    http_port: int | None = Field(None, ge=1, le=65535, description="Vendor web API port; default `port`.")
    username: str = Field(min_length=1, max_length=64, description="ONVIF / web API user.")
    password: Secret
    link: Literal["wired", "wireless"] = Field(
        "wired", description="Wirelessly linked cameras must keep `min_retention_days` of local video."
    )
    poll_interval_s: float = Field(30, gt=0, le=86400, description="Reachability and clock check period.")
    timeout_s: float = Field(
        15, gt=0, le=3600, description="A whole poll taking longer than this has failed."
    )
    request_timeout_s: float = Field(5, gt=0, le=60, description="Limit for one check's requests.")
    telemetry: TelemetryConfig = Field(
        default_factory=lambda: TelemetryConfig(deadband=DEFAULT_DEADBANDS)  # type: ignore[call-arg]  # pydantic fills the other defaults
    )
    checks: CheckIntervals = Field(default_factory=CheckIntervals)  # type: ignore[arg-type]  # pydantic's stubs reject a model class as default_factory
    clock_tolerance_s: float = Field(2, gt=0, description="Camera clock drift above this is a fault.")
    storage_api: StorageApi = Field(
        "auto",
        description="Vendor SD-card API; `auto` picks it from the ONVIF Manufacturer, `none` skips it.",
    )
    min_sd_capacity_gb: float = Field(
        128,
        ge=0,
        description="Minimum nominal card size (a '128 GB' card reports ~119 GiB: judged nominally).",
    )
    sd_full_percent: float = Field(
        99.5, gt=0, le=100, description="Card use at or above this: `sd_full` warning."
    )
    retention_check: bool = Field(
        True, description="Check Profile G local recording (summary and job state)."
    )
    min_retention_days: float = Field(3, ge=0, description="Local video to keep (wireless cameras only).")
    recording_stale_after_s: float = Field(
        600, gt=0, description="Newest recorded data older than this means recording stopped."
    )
    rtsp_probe: bool = Field(
        False, description="Send an RTSP DESCRIBE to the main stream to prove video is served."
    )
    ntp_server: str | None = Field(
        None,
        max_length=253,
        description="NTP server (IPv4) set by `camera_sync_time`; none: set the time directly.",
    )
    max_response_bytes: int = Field(
        2 * 2**20, ge=65536, le=64 * 2**20, description="Larger camera answers are refused (memory bound)."
    )

    @model_validator(mode="after")
    def _request_fits_poll(self) -> OnvifCameraConfig:
        if self.request_timeout_s * 2 > self.timeout_s:
            raise ValueError("timeout_s must be at least twice request_timeout_s (probe, then checks)")
        return self

    @property
    def onvif_host(self) -> str:
        """The host as the ONVIF library takes it (a scheme prefix selects TLS)."""
        return f"https://{self.host}" if self.scheme == "https" else self.host

    @property
    def web_base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.http_port or self.port}"
