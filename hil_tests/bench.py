"""The bench description (`hil_tests/benches/*.yaml`): where each device is, what cuts what.

`simulated.yaml` (the default) is built by the suite in network namespaces; a real bench file
(`real.example.yaml`) points at the bench broker, the serial adapter, the cameras' addresses and
the relay board wired in front of their supplies (docs/hil-bench.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

HERE = Path(__file__).parent
DEFAULT_BENCH = HERE / "benches" / "simulated.yaml"
CAMERA_RTSP_PORT = 554


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(_Model):
    file: Path | None = Field(None, description="File holding the secret (relative to the bench file).")
    env: str | None = Field(None, description="Environment variable holding the secret.")


class Device(_Model):
    serial_port: str | None = Field(
        None, description="Serial port (real: /dev/ttyUSB0; simulated: a pty name)."
    )
    unit: int | None = Field(None, ge=1, le=247, description="Modbus unit id on that port.")
    profile: str | None = Field(None, description="Register map (simulated bench: what the rig serves).")
    values: dict[str, float | bool] = Field(default_factory=dict, description="Simulated start values.")
    address: str | None = Field(None, description="Camera address on the cabinet LAN.")
    credentials: Credentials | None = None


class Broker(_Model):
    host: str
    port: int = 8883
    username: str | None = None
    password_env: str | None = None
    ca_file: Path | None = None


class Relay(_Model):
    coil: int = Field(ge=0, description="Relay board output (Modbus coil, 0-based).")
    cuts: str = Field(description="The supply it cuts: a device id, `mains` or `cabinet`.")


class RelayBoard(_Model):
    address: str
    port: int = 502
    unit: int = 1
    door_input: int | None = Field(
        None, ge=0, description="Discrete input wired to the door contact (on = open), if the board has it."
    )


class Uplink(_Model):
    interface: str = Field(description="The interface carrying the uplink, on the cabinet controller.")


class Bench(_Model):
    kind: Literal["simulated", "real"]
    cabinet_id: str
    prefix: str = "edge"
    agent_config: Path | None = Field(None, description="Simulated: the agent config template.")
    broker: Broker | None = Field(None, description="Real: the bench broker the centre listens on.")
    uplink: Uplink
    devices: dict[str, Device]
    relay_board: RelayBoard | None = None
    relays: list[Relay] = Field(default_factory=list)
    settle_s: float = 90
    source: Path = Path()

    def relay_for(self, supply: str) -> Relay | None:
        return next((r for r in self.relays if r.cuts == supply), None)

    def path(self, relative: Path) -> Path:
        return (self.source.parent / relative).resolve()


def bench_file() -> Path:
    return Path(os.environ.get("EDGE_AGENT_HIL_BENCH", DEFAULT_BENCH))


def load_bench(path: Path) -> Bench:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Bench.model_validate({**document, "source": path.resolve()})


def rig_spec(bench: Bench, workdir: Path) -> dict[str, Any]:
    """What hil_tests/rig.py serves for this simulated bench."""
    devices = bench.devices
    cameras = [(name, d) for name, d in devices.items() if d.address is not None]
    credentials = cameras[0][1].credentials if cameras else None
    assert bench.relay_board is not None and credentials is not None and credentials.file is not None
    return {
        "rs485": str(workdir / "rs485.pty"),
        "radar": str(workdir / "radar.pty"),
        "radar_scenario": {
            "protocol": "csr",
            "frame_interval_s": 0.2,
            "vehicle_every_s": 2,
            "speeds_kmh": [48, 63, 88],
            "boot_on_start": True,
        },
        "modbus": [
            {"unit_id": d.unit, "profile": d.profile, "values": d.values}
            for d in devices.values()
            if d.unit is not None
        ],
        "cameras": [
            {"device_id": name, "host": d.address, "port": 80, "rtsp_port": CAMERA_RTSP_PORT}
            for name, d in cameras
        ],
        "user": "admin",
        "password_file": str(bench.path(credentials.file)),
        "relay_board": {
            "host": bench.relay_board.address,
            "port": bench.relay_board.port,
            "unit": bench.relay_board.unit,
            "coils": {r.coil: r.cuts for r in bench.relays},
            "door_input": bench.relay_board.door_input,
        },
    }


def agent_config(bench: Bench, workdir: Path, cabinet_id: str, centre: str) -> Path:
    """The simulated cabinet's agent config: the template with this run's addresses and paths."""
    assert bench.agent_config is not None
    document = yaml.safe_load(bench.path(bench.agent_config).read_text(encoding="utf-8"))
    document["cabinet"]["id"] = cabinet_id
    document["mqtt"].update(host=centre, prefix=bench.prefix)
    document["storage"]["data_dir"] = str(workdir / "data")
    for device in document["devices"]:
        where = bench.devices.get(device["device_id"])
        if device["type"] == "modbus":
            device["transport"]["port"] = str(workdir / f"{where.serial_port}.pty") if where else None
        elif device["type"] == "serial":
            device["port"] = str(workdir / f"{where.serial_port}.pty") if where else None
        elif device["type"] == "onvif_camera" and where and where.credentials and where.credentials.file:
            device["password"] = {"file": str(bench.path(where.credentials.file))}
        elif device["type"] == "link":
            device["broker"]["host"] = centre
    path = workdir / "agent.yaml"
    path.write_text(yaml.safe_dump(document))
    return path
