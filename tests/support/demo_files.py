"""A private copy of the demo cabinet: every port from the OS, every pty link under the test's folder.

The shipped demo (examples/demo.yaml + demo-simulators.yaml + cameras.yaml) names fixed ports
(18081-18084, 18551-18554, 18830, 18880) and fixed links (/tmp/edge-demo-*). A test running beside
`./dev.sh demo` must touch none of them, so it runs this rewritten copy instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support.ports import free_port

EXAMPLES = Path(__file__).parents[2] / "examples"


@dataclass(frozen=True)
class DemoFiles:
    config: Path
    simulators: Path
    broker_port: int
    page_port: int


def isolated_demo(workdir: Path) -> DemoFiles:
    """Write the rewritten config, simulator list and camera scenario into `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    cameras = _cameras(workdir)  # old camera port -> new
    links = {f"/tmp/edge-demo-{name}": str(workdir / f"{name}.pty") for name in ("rs485", "radar")}
    broker_port, page_port = free_port(), free_port()
    document = _load(EXAMPLES / "demo.yaml")
    document["mqtt"]["port"] = broker_port
    document["storage"]["data_dir"] = str(workdir / "data")
    document["diagnostics"].update(port=page_port, users_file=str(workdir / "users.json"))
    for device in document["devices"]:
        _rewrite_device(device, cameras, links, broker_port)
    config = workdir / "demo.yaml"
    config.write_text(yaml.safe_dump(document))
    simulators = workdir / "demo-simulators.yaml"
    simulators.write_text(yaml.safe_dump(_simulators(workdir, cameras, links)))
    return DemoFiles(config, simulators, broker_port, page_port)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _cameras(workdir: Path) -> dict[int, int]:
    scenario = _load(EXAMPLES / "cameras.yaml")
    moved = {}
    for camera in scenario["cameras"]:
        moved[camera["port"]] = camera["port"] = free_port()
        moved[camera["rtsp_port"]] = camera["rtsp_port"] = free_port()
    scenario["password_file"] = str(EXAMPLES / scenario["password_file"])
    (workdir / "cameras.yaml").write_text(yaml.safe_dump(scenario))
    return moved


def _rewrite_device(
    device: dict[str, Any], cameras: dict[int, int], links: dict[str, str], broker: int
) -> None:
    if "password" in device and "file" in device["password"]:
        device["password"] = {"file": str(EXAMPLES / device["password"]["file"])}
    if device["type"] == "onvif_camera":
        device["port"] = cameras[device["port"]]
    if device["type"] == "modbus":
        device["transport"]["port"] = links[device["transport"]["port"]]
    if device["type"] == "serial":
        device["port"] = links[device["port"]]
    if device["type"] == "link":
        device["broker"]["port"] = broker
        device["lan_switch"]["port"] = cameras[device["lan_switch"]["port"]]


def _simulators(workdir: Path, cameras: dict[int, int], links: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = _load(EXAMPLES / "demo-simulators.yaml")
    for entry in entries:
        args = [str(a) for a in entry.get("args", [])]
        args = [links.get(a, a) for a in args]
        args = [str(workdir / a) if a == "cameras.yaml" else a for a in args]
        entry["args"] = [
            str(EXAMPLES / a) if a.endswith(".yaml") and not a.startswith("/") else a for a in args
        ]
        entry["ports"] = [cameras[p] for p in entry.get("ports", [])]
        entry["paths"] = [links[p] for p in entry.get("paths", [])]
    return entries
