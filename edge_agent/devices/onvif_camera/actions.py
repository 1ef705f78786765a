"""Operator actions on a camera: reboot, and time sync (NTP when configured, else set directly).

The commands that call these (`edge_agent/commands/camera.py`) are marked as acting on hardware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from edge_agent.devices.onvif_camera.failures import classify, describe
from edge_agent.errors import CommandError
from edge_agent.readings import iso_ts, utc_now

if TYPE_CHECKING:
    from edge_agent.devices.onvif_camera.client import OnvifSession
    from edge_agent.devices.onvif_camera.config import OnvifCameraConfig


class Camera(Protocol):
    """What an action needs of the camera's poller (which calls these): its config and session."""

    @property
    def config(self) -> OnvifCameraConfig: ...

    @property
    def session(self) -> OnvifSession: ...


async def run(poller: Camera, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
    handlers = {"reboot": _reboot, "sync_time": _sync_time}
    if action not in handlers:
        raise CommandError("unsupported_action", f"onvif_camera devices do not support {action!r}")
    try:
        async with asyncio.timeout(poller.config.timeout_s):
            result = await handlers[action](poller)
    except CommandError:
        raise
    except Exception as exc:
        code = classify(exc)
        raise CommandError(
            "auth_failed" if code == "auth_failed" else "device_error", describe(code, exc)
        ) from exc
    finally:
        await poller.session.reset()  # the camera restarts or its clock moved: rediscover, re-measure
    return result


async def _reboot(poller: Camera) -> dict[str, Any]:
    answer = await poller.session.call("devicemgmt", "SystemReboot")
    return {"device_id": poller.config.device_id, "message": str(answer or "")[:200]}


async def _sync_time(poller: Camera) -> dict[str, Any]:
    ntp = poller.config.ntp_server
    if ntp:
        manual = [{"Type": "IPv4", "IPv4Address": ntp}]
        await poller.session.call("devicemgmt", "SetNTP", {"FromDHCP": False, "NTPManual": manual})
        await poller.session.call(
            "devicemgmt", "SetSystemDateAndTime", {"DateTimeType": "NTP", "DaylightSavings": False}
        )
        return {"device_id": poller.config.device_id, "mode": "ntp", "ntp_server": ntp}
    now = utc_now()
    utc = {
        "Date": {"Year": now.year, "Month": now.month, "Day": now.day},
        "Time": {"Hour": now.hour, "Minute": now.minute, "Second": now.second},
    }
    await poller.session.call(
        "devicemgmt",
        "SetSystemDateAndTime",
        {"DateTimeType": "Manual", "DaylightSavings": False, "UTCDateTime": utc},
    )
    return {"device_id": poller.config.device_id, "mode": "manual", "set_to": iso_ts(now)}
