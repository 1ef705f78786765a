"""What a simulated camera is like right now, and the scripted states that set it.

`CameraState` is mutable on purpose: a test (or the scenario file) flips a running camera from
healthy to "missing card" and the next request sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from edge_agent.simulators.onvif_camera.profile_s import PRE_AUTH
from edge_agent.simulators.onvif_camera.wsse import DEFAULT_WINDOW_S

Vendor = Literal["hikvision", "dahua", "axis", "generic"]
CardState = Literal["ok", "missing", "unformatted", "error"]
# How the camera misbehaves on the wire (all SOAP services), for hostile-input tests.
WireMode = Literal[
    "normal", "hung", "malformed_xml", "soap_fault", "xml_bomb", "external_entity", "huge", "http_500"
]

GIB = 2**30
# What the camera does with a firmware upload (scripted failures for the upgrade tests).
FirmwareOutcome = Literal["ok", "stays_down", "old_version", "reject_image"]
# How the vendor web API (SD card, snapshot) asks for credentials.
WebAuth = Literal["digest", "basic"]


@dataclass
class CameraState:
    vendor: Vendor = "hikvision"
    model: str = "DS-2CD2T47G2-L"
    firmware: str = "V5.7.3 build 220112"
    serial: str = "DS-2CD2T47G2-L20220101AACH000000001"
    clock_skew_s: float = 0.0  # camera clock minus true time
    card: CardState = "ok"
    card_capacity_bytes: int = 119 * GIB  # what a "128 GB" card reports
    card_free_bytes: int = 2 * GIB  # loop recording keeps a card nearly full
    retention_days: float = 3.5
    recording: bool = True
    stopped_for_s: float = 0.0  # how long ago recording stopped (when `recording` is False)
    profile_g: bool = True  # serves the recording and search services
    wire: WireMode = "normal"
    rtsp_serves_video: bool = True
    reboot_s: float = 3.0  # how long the camera is unreachable after SystemReboot
    ntp_server: str | None = None
    firmware_outcome: FirmwareOutcome = "ok"
    # SOAP operations answered without credentials (a wrong token is refused even there, as
    # cameras do). ONVIF Core's PRE_AUTH class by default; some vendors want login for all.
    open_operations: frozenset[str] = PRE_AUTH
    # How far a token's Created may be from the camera's clock (WS-UsernameToken freshness).
    auth_window_s: float = DEFAULT_WINDOW_S
    web_auth: WebAuth = "digest"
    web_password: str | None = None  # the web API's own account (Hikvision keeps ONVIF users apart)


# Scripted states: name -> how it differs from a healthy camera. The agent's expected verdict for
# each is written next to it (tests hold the agent to it).
STATES: dict[str, dict[str, object]] = {
    "healthy": {},  # ok
    "missing_card": {"card": "missing", "card_capacity_bytes": 0, "card_free_bytes": 0},  # sd_missing
    "small_card": {"card_capacity_bytes": 29 * GIB, "card_free_bytes": GIB},  # sd_too_small (32 GB)
    "full_card": {"card_free_bytes": 0},  # sd_full (warning)
    "card_error": {"card": "error"},  # sd_error
    "unformatted_card": {"card": "unformatted", "card_free_bytes": 0},  # sd_unformatted
    "recording_stopped": {"recording": False, "stopped_for_s": 3 * 3600},  # recording_stopped
    "short_retention": {"retention_days": 1.2},  # retention_short (wireless cameras)
    "skewed_clock": {"clock_skew_s": 900.0},  # clock_drift; queries still authenticate
    "hung": {"wire": "hung"},  # offline (timeout)
    "no_profile_g": {"profile_g": False},  # retention unknown
    "no_video": {"rtsp_serves_video": False},  # stream_unavailable (when the RTSP probe is on)
    # Firmware upgrade failures (the agent's verdict: firmware_upgrade_failed, batch stopped).
    "firmware_stays_down": {"firmware_outcome": "stays_down"},  # never returns after the upload
    "firmware_old_version": {"firmware_outcome": "old_version"},  # returns with the old version
    "firmware_rejects": {"firmware_outcome": "reject_image"},  # refuses the image (its own check)
    # Authentication as some vendors do it (the agent's verdict: ok, with the right password).
    "strict_auth": {"open_operations": frozenset()},  # login even for GetSystemDateAndTime
    # Both at once: login for everything and 15 minutes off (the agent's verdict: clock_drift only).
    "strict_auth_skewed": {"open_operations": frozenset(), "clock_skew_s": 900.0},
    "basic_web_auth": {"web_auth": "basic"},  # the SD-card web API wants HTTP Basic, not Digest
}
# "wrong password" is not a camera state but a mismatch: start the camera with another password.
# "reboot" is the SystemReboot operation: the camera refuses connections for `reboot_s`.


def state_named(name: str, **overrides: object) -> CameraState:
    """A fresh state from a scripted name (see `STATES`), with optional field overrides."""
    if name not in STATES:
        raise ValueError(f"unknown camera state {name!r}; known: {', '.join(sorted(STATES))}")
    return replace(CameraState(), **{**STATES[name], **overrides})  # type: ignore[arg-type]  # scripted states are plain dicts of field values


VENDOR_IDENTITY: dict[Vendor, tuple[str, str]] = {
    "hikvision": ("HIKVISION", "DS-2CD2T47G2-L"),
    "dahua": ("Dahua", "IPC-HFW5442E-ZE"),
    "axis": ("AXIS", "P1455-LE"),
    "generic": ("Generic", "IPC-1000"),
}
