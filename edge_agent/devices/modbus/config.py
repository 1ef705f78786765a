"""`type: modbus` configuration: a device on a Modbus TCP link or an RS-485 (RTU) bus, by profile.

The profile is resolved and checked when the config is loaded, so a wrong profile name or an
override of a value the profile does not have is reported by `edge-agent check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from edge_agent.config_base import StrictModel
from edge_agent.devices.base import DeviceConfig
from edge_agent.devices.modbus.profile import (
    Order,
    Profile,
    Rule,
    ValueDef,
    is_path,
    load_profile,
    output_names,
    rule_values,
)
from edge_agent.errors import ProfileError


class TcpTransport(StrictModel):
    kind: Literal["tcp"]
    host: str = Field(description="Modbus TCP server or RS-485 gateway address.")
    port: int = Field(502, ge=1, le=65535)

    def bus_key(self) -> str:
        return f"modbus-tcp:{self.host}:{self.port}"


class RtuTransport(StrictModel):
    kind: Literal["rtu"]
    port: str = Field(description="Serial device of the RS-485 adapter, e.g. /dev/ttyUSB0.")
    baudrate: int | None = Field(None, description="Default: the profile's factory setting.")
    parity: Literal["N", "E", "O"] | None = Field(None, description="Default: the profile's.")
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] | None = Field(None, description="Default: the profile's.")

    def bus_key(self) -> str:
        return f"modbus-rtu:{self.port}"


Transport = Annotated[TcpTransport | RtuTransport, Field(discriminator="kind")]


class ValueOverride(StrictModel):
    """Site-specific changes to one profile value (a CT ratio, another word order, drop it)."""

    scale: float | None = None
    offset: float | None = None
    unit: str | None = None
    order: Order | None = None
    enabled: bool = Field(True, description="False: do not read this value at all.")


class ModbusConfig(DeviceConfig):
    type: Literal["modbus"]
    poll_interval_s: float = Field(5, gt=0, le=86400, description="Time between the starts of two polls.")
    profile: str = Field(
        description="A shipped profile name (see docs/modbus.md) or a path to a YAML profile."
    )
    unit_id: int = Field(1, ge=0, le=247, description="Modbus unit (slave) id on the bus.")
    transport: Transport
    request_timeout_s: float = Field(
        0.5, gt=0, le=30, description="Wait for one reply; a dead slave holds the bus at most this long."
    )
    max_gap_registers: int | None = Field(None, ge=0, le=124, description="Override the profile's.")
    max_registers_per_request: int | None = Field(None, ge=1, le=125, description="Override the profile's.")
    inter_frame_delay_ms: float | None = Field(None, ge=0, le=1000, description="Override the profile's.")
    overrides: dict[str, ValueOverride] = Field(default_factory=dict, description="Per value name.")
    extra_rules: list[Rule] = Field(default_factory=list, description="Rules added to the profile's.")
    disabled_rules: list[str] = Field(
        default_factory=list, description="Profile rules to drop, by code (or value name)."
    )
    _profile: Profile | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _resolve_profile(self, info: ValidationInfo) -> ModbusConfig:
        try:
            profile = load_profile(_profile_ref(self.profile, info))
        except ProfileError as exc:
            raise ValueError(str(exc)) from exc
        unknown = sorted(set(self.overrides) - {v.name for v in profile.values})
        if unknown:
            raise ValueError(f"overrides name values not in profile {profile.name}: {unknown}")
        self._profile = profile
        names = set(output_names(self.values()))
        missing = sorted({n for rule in self.rules() for n in rule_values(rule)} - names)
        if missing:
            raise ValueError(f"rules name values that are not read: {missing}")
        return self

    @property
    def resolved_profile(self) -> Profile:
        assert self._profile is not None
        return self._profile

    def values(self) -> list[ValueDef]:
        """The profile's values with this device's overrides applied."""
        result = []
        for value in self.resolved_profile.values:
            override = self.overrides.get(value.name)
            if override is None:
                result.append(value)
                continue
            if not override.enabled:
                continue
            changes: dict[str, Any] = override.model_dump(exclude={"enabled"}, exclude_none=True)
            result.append(value.model_copy(update=changes))
        return result

    def rules(self) -> list[Any]:
        """The profile's rules minus the disabled ones, plus this device's extra rules."""
        disabled = set(self.disabled_rules)
        kept = [r for r in self.resolved_profile.rules if _rule_key(r) not in disabled]
        return [*kept, *self.extra_rules]

    def effective(self, name: str) -> Any:
        """A planning setting: this device's override, else the profile's."""
        own = getattr(self, name)
        return own if own is not None else getattr(self.resolved_profile, name)


def _profile_ref(reference: str, info: ValidationInfo) -> str:
    """A profile path relative to the config file's folder; a bare name is a shipped profile."""
    if not is_path(reference) or Path(reference).is_absolute():
        return reference
    base_dir = (info.context or {}).get("base_dir")
    return str(Path(base_dir) / reference) if base_dir else reference


def _rule_key(rule: Any) -> str:
    return str(getattr(rule, "code", None) or rule.value)
