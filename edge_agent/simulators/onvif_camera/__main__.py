"""Run simulated cameras until SIGTERM / SIGINT.

One camera:
    python -m edge_agent.simulators.onvif_camera --port 18081 --rtsp-port 18554 \\
        --state healthy --vendor hikvision --user admin --password-file cam.pass
Several, from a scenario file (YAML):
    python -m edge_agent.simulators.onvif_camera --scenario cameras.yaml
    # user: admin
    # password_file: cam.pass           (relative to the scenario file)
    # cameras:
    #   - {port: 18081, rtsp_port: 18554, state: healthy, vendor: hikvision}
    #   - {port: 18082, state: missing_card, vendor: dahua, clock_skew_s: 30}
    #   - {port: 18083, state: strict_auth}           (login even for GetSystemDateAndTime)
    #   - {port: 18084, open_operations: [GetSystemDateAndTime], web_auth: basic}
    #   - {port: 18085, state: strict_auth_skewed, auth_window_s: 60}  (login for all, 900 s off)
Switch a running camera's state: curl -X PUT http://127.0.0.1:18081/_sim/state/card_error
Reboot it (unreachable for reboot_s):  curl -X POST http://127.0.0.1:18081/_sim/reboot
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

import yaml

from edge_agent.simulators.onvif_camera.server import CameraSimulator
from edge_agent.simulators.onvif_camera.states import STATES, VENDOR_IDENTITY, state_named


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m edge_agent.simulators.onvif_camera",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", type=Path, help="YAML file describing several cameras")
    parser.add_argument("--port", type=int, default=0, help="ONVIF/HTTP port (0: any free port)")
    parser.add_argument("--rtsp-port", type=int, default=0)
    parser.add_argument("--state", default="healthy", choices=sorted(STATES))
    parser.add_argument("--vendor", default="hikvision", choices=sorted(VENDOR_IDENTITY))
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password-file", type=Path, help="file holding the camera password")
    return parser


def _cameras(args: argparse.Namespace) -> list[CameraSimulator]:
    if args.scenario is None:
        if args.password_file is None:
            raise SystemExit("--password-file is required (passwords are never given on the command line)")
        entries: list[dict[str, Any]] = [
            {"port": args.port, "rtsp_port": args.rtsp_port, "state": args.state, "vendor": args.vendor}
        ]
        user, password_file = args.user, args.password_file
    else:
        scenario = yaml.safe_load(args.scenario.read_text(encoding="utf-8"))
        entries = scenario["cameras"]
        user = scenario.get("user", "admin")
        password_file = args.scenario.parent / scenario["password_file"]
    password = password_file.read_text(encoding="utf-8").strip()
    return [_camera(dict(entry), user, password) for entry in entries]


def _camera(entry: dict[str, Any], user: str, password: str) -> CameraSimulator:
    port, rtsp_port = int(entry.pop("port", 0)), int(entry.pop("rtsp_port", 0))
    vendor = entry.pop("vendor", "hikvision")
    if "open_operations" in entry:  # a YAML list: the SOAP operations answered without login
        entry["open_operations"] = frozenset(entry["open_operations"])
    state = state_named(entry.pop("state", "healthy"), **entry)
    camera = CameraSimulator(user=user, password=password, state=state, port=port, rtsp_port=rtsp_port)
    camera.with_vendor(vendor)
    return camera


async def _main(cameras: list[CameraSimulator]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for camera in cameras:
        await camera.start()
        print(f"camera {camera.state.vendor} on {camera.base_url} (rtsp port {camera.rtsp_port})", flush=True)
    await stop.wait()
    for camera in cameras:
        await camera.stop()


def main() -> None:
    asyncio.run(_main(_cameras(_parser().parse_args())))


if __name__ == "__main__":
    main()
