"""The `actions` section of the cabinet config: relays, the door switch, auto power-cycle."""

from __future__ import annotations

from pydantic import Field, model_validator

from edge_agent.config_base import Identifier, StrictModel


class GpioOutput(StrictModel):
    pin: int | str = Field(description="gpiozero pin: BCM number (17) or name ('GPIO17', 'BOARD11').")
    active_low: bool = Field(False, description="The relay energises on a low pin.")


class _ModbusModule(StrictModel):
    """A Modbus TCP I/O module (relay board, digital inputs): where it is and how long to wait."""

    host: str = Field(description="Modbus TCP I/O module address.")
    port: int = Field(502, ge=1, le=65535)
    unit: int = Field(1, ge=0, le=247, description="Modbus device id (unit).")
    timeout_s: float = Field(2.0, gt=0, le=30)


class ModbusCoil(_ModbusModule):
    coil: int = Field(ge=0, le=65535, description="Coil driving this relay (0-based).")


class RelayConfig(StrictModel):
    """A relay switching a device's power. Power is ON while the relay output is active."""

    device_id: Identifier = Field(description="The device this relay powers.")
    gpio: GpioOutput | None = None
    modbus: ModbusCoil | None = None
    off_time_s: float = Field(8.0, ge=5, le=300, description="How long power stays off in a power-cycle.")
    min_interval_s: float = Field(120, ge=0, description="At most one power-cycle of this device this often.")

    @model_validator(mode="after")
    def _one_output(self) -> RelayConfig:
        if (self.gpio is None) == (self.modbus is None):
            raise ValueError("give exactly one of gpio or modbus")
        return self


class ModbusInput(_ModbusModule):
    address: int = Field(ge=0, le=65535, description="Discrete input of the door contact (0-based).")


class DoorConfig(StrictModel):
    """The door contact: a gpiozero input pin, or a discrete input of a Modbus TCP I/O module."""

    pin: int | str | None = Field(None, description="gpiozero pin of the door switch.")
    modbus: ModbusInput | None = None
    open_when_high: bool = Field(True, description="The switch reads high (input on) when the door is open.")
    pull_up: bool | None = Field(None, description="Internal pull resistor: true up, false down, null none.")
    poll_interval_s: float = Field(0.5, gt=0, le=10, description="Modbus: how often the input is read.")

    @model_validator(mode="after")
    def _one_input(self) -> DoorConfig:
        if (self.pin is None) == (self.modbus is None):
            raise ValueError("give exactly one of pin or modbus")
        if self.modbus is not None and self.pull_up is not None:
            raise ValueError("pull_up is a GPIO setting; a Modbus input has none")
        return self


class AutoPowerCycle(StrictModel):
    enabled: bool = Field(False, description="Power-cycle a device offline with cause `device` by itself.")
    offline_for_s: float = Field(300, ge=1, description="... after it has been offline this long.")
    max_per_day: int = Field(2, ge=1, le=10, description="At most this many per device and local day.")
    check_interval_s: float = Field(10, gt=0, le=600)


class ActionsConfig(StrictModel):
    relays: list[RelayConfig] = Field(default_factory=list)
    door: DoorConfig | None = None
    auto_power_cycle: AutoPowerCycle = Field(default_factory=dict, validate_default=True)
