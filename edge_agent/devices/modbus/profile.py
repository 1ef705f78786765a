"""Declarative Modbus device profiles: the register map and health rules of one device model.

A profile is a YAML file under ``edge_agent/profiles/`` (or any path). It is validated once into
frozen models; the codec, the request planner and the rule engine only ever see these models.
Importing this module must stay light: no pymodbus here.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from edge_agent.config_base import SAFE_LOADER, StrictModel
from edge_agent.errors import ProfileError

# The shipped profiles, beside the package's modules (as the MQTT schemas are): `importlib.resources`
# would import its readers and with them `zipfile`, kept for good by every Modbus cabinet (RSS).
PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"

Function = Literal["coil", "discrete_input", "holding", "input"]
DataType = Literal["bool", "int16", "uint16", "int32", "uint32", "float32", "float64", "string"]
Order = Literal["ABCD", "CDAB", "BADC", "DCBA"]
Severity = Literal["warning", "critical"]
CauseName = Literal["power_supply", "network_carrier", "cabinet", "device", "maintenance", "unknown"]

BIT_FUNCTIONS: frozenset[str] = frozenset({"coil", "discrete_input"})
_WIDTH = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}
ValueName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ValueDef(StrictModel):
    """One value of the device: where it lives and how its registers become a number."""

    name: ValueName = Field(description="Telemetry name, with its unit in the name where it has one.")
    function: Function = Field("input", description="Modbus table: coil, discrete_input, holding, input.")
    address: int = Field(ge=0, le=0xFFFF, description="Zero-based protocol address (not 3xxxx/4xxxx).")
    type: DataType = Field("uint16", description="How the register(s) are read.")
    order: Order = Field(
        "ABCD", description="Byte/word order: ABCD big-endian, CDAB word-swapped, BADC byte-swapped, DCBA."
    )
    length: int = Field(1, ge=1, le=64, description="Registers of a string value.")
    bit: int | None = Field(None, ge=0, le=15, description="For type bool in a register: the bit to read.")
    scale: float = Field(1.0, description="Multiplier applied to the raw number.")
    offset: float = Field(0.0, description="Added after scaling.")
    decimals: int | None = Field(None, ge=0, le=9, description="Round the result to this many decimals.")
    unit: str = Field("", max_length=16, description="Unit shown with the value.")
    label: dict[Literal["zh-CN", "en"], str] | None = Field(
        None, description="Words for people, per language (the diagnostics page); default: the name."
    )
    enum: dict[int, str] | None = Field(None, description="Raw number -> label; the value becomes the label.")
    bits: dict[ValueName, int] | None = Field(
        None, description="Extra bool values taken from bits of this register: name -> bit index."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ValueDef:
        if self.function in BIT_FUNCTIONS and self.type != "bool":
            raise ValueError(f"{self.function} values are bits: type must be bool")
        if self.bit is not None and (self.type != "bool" or self.function in BIT_FUNCTIONS):
            raise ValueError("bit applies to bool values read from registers only")
        return self

    @property
    def width(self) -> int:
        """Registers (or bits, for coils and discrete inputs) this value occupies."""
        return self.length if self.type == "string" else _WIDTH[self.type]


class Comparison(StrictModel):
    """A test on one value: exactly one of equals / above / below."""

    value: ValueName
    equals: float | bool | str | None = None
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Comparison:
        if sum(test is not None for test in (self.equals, self.above, self.below)) != 1:
            raise ValueError("give exactly one of equals, above, below")
        return self


class Levels(StrictModel):
    warning: float | None = Field(None, description="Crossing this makes the device degraded.")
    critical: float | None = Field(None, description="Crossing this puts the device in fault.")


class ThresholdRule(StrictModel):
    """Levels on one value, with hysteresis so a value hovering at a level does not flap."""

    type: Literal["threshold"]
    value: ValueName
    high: Levels | None = None
    low: Levels | None = None
    hysteresis: float = Field(0.0, ge=0, description="A fault clears only this far back inside the level.")
    code: str | None = Field(None, description="Fault code prefix; default the value name.")


class StaleRule(StrictModel):
    """The value could not be read (request failed, others answered) for longer than `after_s`."""

    type: Literal["stale"]
    value: ValueName
    after_s: float = Field(gt=0)
    severity: Severity = "warning"


class StuckRule(StrictModel):
    """The value did not move by more than `tolerance` for `after_s`: a frozen sensor."""

    type: Literal["stuck"]
    value: ValueName
    after_s: float = Field(gt=0)
    tolerance: float = Field(0.0, ge=0)
    severity: Severity = "warning"


class ConditionRule(StrictModel):
    """A fault while all comparisons hold; optionally an event (with a cause) on each edge."""

    type: Literal["condition"]
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    all: list[Comparison] = Field(min_length=1, description="The fault is active while all of these hold.")
    severity: Severity = "critical"
    message: str = Field(description="For people; `{name}` placeholders take current values.")
    event: str | None = Field(None, description="Event type emitted when the condition starts to hold.")
    event_severity: Severity | None = Field(None, description="Severity of that event; default `severity`.")
    clear_event: str | None = Field(None, description="Event type emitted when it stops holding.")
    cause: CauseName | None = Field(None, description="Outage cause carried by the events.")


Rule = Annotated[ThresholdRule | StaleRule | StuckRule | ConditionRule, Field(discriminator="type")]


class SerialDefaults(StrictModel):
    """The device's factory line settings, used when the cabinet config does not say."""

    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class Profile(StrictModel):
    name: str = Field(description="The profile's name (its file name without .yaml).")
    description: str = ""
    source: str = Field("", description="Where the register map comes from.")
    serial: SerialDefaults = Field(default_factory=SerialDefaults)
    max_registers_per_request: int = Field(125, ge=1, le=125)
    max_bits_per_request: int = Field(2000, ge=1, le=2000)
    max_gap_registers: int = Field(10, ge=0, le=124, description="Unused registers a merged read may span.")
    inter_frame_delay_ms: float = Field(0, ge=0, le=1000, description="Quiet time the device needs.")
    values: list[ValueDef] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_unique(self) -> Profile:
        names = output_names(self.values)
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"duplicate value names: {sorted(duplicates)}")
        unknown = sorted({name for rule in self.rules for name in rule_values(rule)} - set(names))
        if unknown:
            raise ValueError(f"rules name unknown values: {unknown}")
        return self


def output_names(values: list[ValueDef]) -> list[str]:
    """Every telemetry name a list of values produces (bit maps add one per bit)."""
    return [n for v in values for n in [v.name, *(v.bits or {})]]


def rule_values(rule: ThresholdRule | StaleRule | StuckRule | ConditionRule) -> list[str]:
    if isinstance(rule, ConditionRule):
        return [comparison.value for comparison in rule.all]
    return [rule.value]


def is_path(reference: str) -> bool:
    """Whether a profile reference is a file path rather than a shipped profile's name."""
    return "/" in reference or reference.endswith((".yaml", ".yml"))


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with edge-agent."""
    return sorted(p.name.removesuffix(".yaml") for p in PROFILES_DIR.iterdir() if p.name.endswith(".yaml"))


@functools.lru_cache(maxsize=64)
def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (`eastron_sdm630`), or a YAML file by path (contains '/' or ends .yaml)."""
    if is_path(name_or_path):
        text = _read(Path(name_or_path))
    else:
        resource = PROFILES_DIR / f"{name_or_path}.yaml"
        if not resource.is_file():
            raise ProfileError(
                f"no shipped profile {name_or_path!r}; shipped: {', '.join(shipped_profiles())}"
            )
        text = resource.read_text(encoding="utf-8")
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a SafeLoader (libyaml's when built with it)
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {name_or_path}: invalid YAML: {exc}") from exc
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProfileError(f"profile {name_or_path}: {where}: {first['msg']}") from exc


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from exc
