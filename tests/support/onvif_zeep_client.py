"""The stock `onvif-zeep` 0.2.12 client doing what integrators do first with a camera.

Runs under the separate venv made by `dev.sh setup` (.venv-onvif-zeep), never the agent's: both
packages are called `onvif`. Prints one JSON document: each call's result, or its error.
Usage: python onvif_zeep_client.py HOST PORT USER [clock] < password (never on the command line)
`clock`: what a client can do with a strict camera whose clock is far off (see `clock_from_refusal`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import zeep
from onvif import ONVIFCamera, ONVIFService
from requests.auth import HTTPDigestAuth
from zeep.helpers import serialize_object

DEVICE_BINDING = "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"


def plain(value: Any) -> Any:
    return json.loads(json.dumps(serialize_object(value), default=str))


def attempt(results: dict[str, Any], name: str, call: Any) -> Any:
    try:
        value = call()
    except Exception as exc:  # reported, not raised: the test reads which calls failed and how
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return None
    results[name] = plain(value)
    return value


def anonymous_clock(host: str, port: int, wsdl_dir: str) -> Any:
    """GetSystemDateAndTime without any WS-Security header (plain zeep, as ONVIF Core allows)."""
    client = zeep.Client(os.path.join(wsdl_dir, "devicemgmt.wsdl"))
    service = client.create_service(DEVICE_BINDING, f"http://{host}:{port}/onvif/device_service")
    return service.GetSystemDateAndTime()


def main(host: str, port: int, user: str, password: str) -> dict[str, Any]:
    import onvif

    wsdl_dir = os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl")
    results: dict[str, Any] = {}
    attempt(results, "anonymous_GetSystemDateAndTime", lambda: anonymous_clock(host, port, wsdl_dir))
    camera = attempt(results, "ONVIFCamera", lambda: ONVIFCamera(host, port, user, password, wsdl_dir))
    if camera is None:
        return results
    results["ONVIFCamera"] = {"xaddrs": camera.xaddrs}
    device = camera.devicemgmt
    for operation in ("GetSystemDateAndTime", "GetDeviceInformation", "GetScopes", "GetHostname",
                      "GetNTP", "GetNetworkInterfaces", "GetServices"):  # fmt: skip
        params = {"IncludeCapability": False} if operation == "GetServices" else None
        attempt(results, operation, lambda op=operation, p=params: getattr(device, op)(p))
    attempt(results, "GetCapabilities", lambda: device.GetCapabilities({"Category": "All"}))
    media = camera.create_media_service()
    profiles = attempt(results, "GetProfiles", media.GetProfiles)
    attempt(results, "GetVideoSources", media.GetVideoSources)
    if profiles:
        token = profiles[0].token
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        stream = {"StreamSetup": setup, "ProfileToken": token}
        attempt(results, "GetStreamUri", lambda: media.GetStreamUri(stream))
        snapshot = attempt(results, "GetSnapshotUri", lambda: media.GetSnapshotUri({"ProfileToken": token}))
        if snapshot is not None:
            answer = requests.get(snapshot.Uri, auth=HTTPDigestAuth(user, password), timeout=5)
            body = answer.content
            results["snapshot"] = {
                "status": answer.status_code,
                "type": answer.headers.get("Content-Type"),
                "jpeg_markers": [body[:2].hex(), body[-2:].hex()],
            }
    return results


class DateHeader(zeep.Plugin):
    """Keeps the HTTP Date of the last answer (zeep runs ingress plugins before it raises a Fault)."""

    def __init__(self) -> None:
        self.date: str | None = None

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> tuple[Any, Any]:
        self.date = http_headers.get("Date")
        return envelope, http_headers


def device_service(host: str, port: int, user: str, password: str, wsdl_dir: str, dt_diff: Any) -> Any:
    url = f"http://{host}:{port}/onvif/device_service"
    wsdl = os.path.join(wsdl_dir, "devicemgmt.wsdl")
    return ONVIFService(url, user, password, wsdl, dt_diff=dt_diff, binding_name=DEVICE_BINDING)


def clock_from_refusal(host: str, port: int, user: str, password: str) -> dict[str, Any]:
    """Signed in this machine's clock (the library's default), then once more in the camera's
    clock as the refusal's HTTP Date tells it: the stock library's own `dt_diff` mechanism."""
    import onvif

    wsdl_dir = os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl")
    results: dict[str, Any] = {}
    attempt(results, "ONVIFCamera", lambda: ONVIFCamera(host, port, user, password, wsdl_dir).xaddrs)
    service = device_service(host, port, user, password, wsdl_dir, None)
    witness = DateHeader()
    service.zeep_client.plugins.append(witness)
    attempt(results, "signed_GetSystemDateAndTime", service.GetSystemDateAndTime)
    results["refusal_date"] = witness.date
    if witness.date is None:
        return results
    camera_now = parsedate_to_datetime(witness.date).replace(tzinfo=None)
    dt_diff = camera_now - dt.datetime.utcnow()
    results["dt_diff_s"] = dt_diff.total_seconds()
    corrected = device_service(host, port, user, password, wsdl_dir, dt_diff)
    attempt(results, "resigned_GetSystemDateAndTime", corrected.GetSystemDateAndTime)
    attempt(results, "resigned_GetDeviceInformation", corrected.GetDeviceInformation)
    return results


if __name__ == "__main__":
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    password = sys.stdin.readline().rstrip("\n")
    if sys.argv[4:] == ["clock"]:
        print(json.dumps(clock_from_refusal(host, port, user, password)))
    else:
        print(json.dumps(main(host, port, user, password)))
