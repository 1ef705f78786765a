"""WS-Security tokens signed in the camera's clock, learnt even from a refusal.

A UsernameToken's `Created` must fall within the camera's freshness window (300 s on most
firmwares) of the camera's own clock. A camera that wants login even for `GetSystemDateAndTime`
and whose clock is further off refuses every token the cabinet signs, with the same
`ter:NotAuthorized` as for a wrong password: counted as such, the right password read as
`auth_failed`. Real cameras (Hikvision, Dahua, Axis) stamp every answer, refusals included, with
an HTTP `Date` in their clock: that is enough to sign again, once, in the camera's time. Only a
refusal of that corrected call is an authentication failure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from edge_agent.devices.onvif_camera.failures import classify
from edge_agent.devices.onvif_camera.soap_stack import zeep

# Below this a new offset cannot be the reason of a refusal: `Date` has whole seconds and windows
# are minutes wide. A wrong password on a camera in time costs no extra request.
RESIGN_MIN_S = 2.0
_DATE_CHARS = 64  # a Date header is ~29 characters; longer is not a date


def http_date_offset(header: str | None, sent: datetime, received: datetime) -> timedelta | None:
    """Camera-minus-agent clock offset from an HTTP `Date` header, or None when there is none
    or it is not a date. The header truncates to the second (+0.5 s centres it) and was written
    somewhere between `sent` and `received` (the middle is taken)."""
    if not header or len(header) > _DATE_CHARS:
        return None
    try:
        camera = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if camera.tzinfo is None:  # "-0000": UTC by RFC 5322, with the origin's zone unknown
        camera = camera.replace(tzinfo=UTC)
    middle = sent + (received - sent) / 2
    return camera + timedelta(seconds=0.5) - middle


class DateWitness:
    """The camera's clock as the `Date` of its latest answer showed it (refusals included).
    Shared by every transport of one camera: any answer of the camera tells its clock."""

    def __init__(self) -> None:
        self.offset: timedelta | None = None

    def saw(self, header: str | None, sent: datetime, received: datetime) -> None:
        offset = http_date_offset(header, sent, received)
        if offset is not None:
            self.offset = offset


class SigningCamera(Protocol):
    """What `read_clock` needs of a camera (client.HardenedCamera)."""

    dt_diff: timedelta | None

    async def signing_with(self, offset: timedelta | None) -> Any:  # the new devicemgmt service
        ...


async def read_clock(camera: SigningCamera, device: Any, witness: DateWitness) -> tuple[Any, Any]:
    """GetSystemDateAndTime and the devicemgmt service that got it: without login as ONVIF Core
    allows, then signed for the cameras that insist, then (refused) signed once more with the
    clock of the refusal's `Date`. The last refusal is raised as it came (NotAuthorized)."""
    try:
        return await device.authless_GetSystemDateAndTime(), device
    except zeep.exceptions.Fault:
        pass
    try:
        return await device.GetSystemDateAndTime(), device
    except zeep.exceptions.Fault as exc:
        corrected = _corrected(camera.dt_diff, witness.offset)
        if corrected is None or classify(exc) != "auth_failed":
            raise
    device = await camera.signing_with(corrected)
    return await device.GetSystemDateAndTime(), device


def _corrected(used: timedelta | None, seen: timedelta | None) -> timedelta | None:
    """The offset to sign with again, or None when the camera's Date gives no better one."""
    if seen is None:
        return None
    if abs((seen - (used or timedelta())).total_seconds()) < RESIGN_MIN_S:
        return None
    return seen
