"""`type: serial` configuration: a speed radar or an illuminator on an RS-232 / RS-485 port."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge_agent.config_base import StrictModel
from edge_agent.devices.base import DeviceConfig

RadarCodec = Literal["csr", "csr_direction", "csr_ascii", "stalker", "ascii_line"]
CodecName = RadarCodec | Literal["vivotek_illuminator"]
RADAR_CODECS: tuple[str, ...] = ("csr", "csr_direction", "csr_ascii", "stalker", "ascii_line")


class RadarHealth(StrictModel):
    streaming: bool = Field(
        True,
        description="The radar sends continuously (idle frames without a vehicle): silence is a fault.",
    )
    silence_fault_s: float = Field(10, gt=0, description="A streaming radar silent this long is in fault.")
    restart_window_s: float = Field(600, gt=0, description="Window for counting boot signatures.")
    restarts_fault: int = Field(3, ge=1, description="This many restarts within the window = restarting.")
    speed_min_kmh: float = Field(1, ge=0, description="Readings below this are counted as bad frames.")
    speed_max_kmh: float = Field(300, gt=0, description="Readings above this are counted as bad frames.")


class IlluminatorHealth(StrictModel):
    address: int = Field(1, ge=0, le=255, description="The illuminator's bus address.")
    led_temperature_warning_c: float = Field(70)
    led_temperature_critical_c: float = Field(85)
    supply_min_v: float = Field(10.5, description="Below this the supply is faulty (12 V units).")
    supply_max_v: float = Field(14.5, description="Above this the supply is faulty (12 V units).")
    request_timeout_s: float = Field(0.5, gt=0, le=10, description="Wait for one reply.")


class SerialConfig(DeviceConfig):
    type: Literal["serial"]
    poll_interval_s: float = Field(5, gt=0, le=86400, description="Time between the starts of two polls.")
    port: str = Field(description="Serial device, e.g. /dev/ttyUSB0 or a /dev/serial/by-id/ path.")
    baudrate: int = Field(9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    codec: CodecName = Field(
        description="Frame format: csr, csr_direction, csr_ascii, stalker, ascii_line, vivotek_illuminator."
    )
    radar: RadarHealth = Field(default_factory=RadarHealth)  # type: ignore[arg-type]  # pydantic's stubs reject a model class as default_factory
    illuminator: IlluminatorHealth = Field(default_factory=IlluminatorHealth)  # type: ignore[arg-type]  # pydantic's stubs reject a model class as default_factory

    @model_validator(mode="after")
    def _ranges(self) -> SerialConfig:
        if self.radar.speed_max_kmh <= self.radar.speed_min_kmh:
            raise ValueError("radar.speed_max_kmh must be above radar.speed_min_kmh")
        return self

    @property
    def is_radar(self) -> bool:
        return self.codec in RADAR_CODECS
