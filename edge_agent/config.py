"""The configuration file: root model and `load_config`.

Sections live next to the code they configure (`mqtt/config.py`, `devices/<kind>/config.py`);
this module assembles them, reads YAML safely and turns every validation problem into a
`ConfigProblem` naming the file, the key path (`devices[2].timeout_s`) and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model

from edge_agent.actions.config import ActionsConfig
from edge_agent.config_base import SAFE_LOADER, Identifier, StrictModel, read_regular_file
from edge_agent.config_page import DiagnosticsConfig
from edge_agent.devices import KINDS
from edge_agent.devices.base import DeviceConfig, DeviceKind
from edge_agent.errors import ConfigError, ConfigProblem
from edge_agent.firmware.config import FirmwareConfig
from edge_agent.health.config import AuditConfig, HealthConfig
from edge_agent.mqtt.config import MqttConfig

if TYPE_CHECKING:  # config_where is the error path's: imported when a file has problems (RSS)
    from edge_agent.config_where import Loc

DEVICES_DESCRIPTION = "The devices in this cabinet."


class CabinetConfig(StrictModel):
    id: Identifier = Field(description="Cabinet id: unique in the fleet, the cabinet's topic level on MQTT.")
    site: str | None = Field(None, max_length=200, description="Where the cabinet stands, for people.")


class StorageConfig(StrictModel):
    data_dir: Path = Field(
        Path("/var/lib/edge-agent"),
        description="Outbox, ledger and audit log; relative paths are relative to the config.",
    )
    outbox_max_bytes: int = Field(
        64 * 2**20,
        ge=2**20,
        description="Disk quota of the outbox; telemetry is thinned beyond it, events never.",
    )


class LoggingConfig(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged to stderr."
    )


class CommandsConfig(StrictModel):
    enabled: bool = Field(True, description="Answer commands on `cmd/<name>`.")
    hardware_actions: bool = Field(
        True, description="Allow commands that act on hardware (reboot, power-cycle, time sync)."
    )
    disabled: list[str] = Field(default_factory=list, description="Command names refused on this cabinet.")
    max_payload_bytes: int = Field(
        16384, ge=256, le=2**20, description="Larger command payloads are refused."
    )


class AgentConfig(StrictModel):
    """The whole file. Validate with `load_config` (or `config_model(types)`): `devices` here is any
    kind's config; the model that validates a file knows exactly the kinds it names."""

    model_config = ConfigDict(defer_build=True)  # never validated itself: its per-file subclasses are

    cabinet: CabinetConfig
    mqtt: MqttConfig
    # Sections left out default to `{}` validated by the file's model: a section's own class would
    # otherwise build its validator just to make the default (config_base.StrictModel, RSS).
    storage: StorageConfig = Field(default_factory=dict, validate_default=True)
    logging: LoggingConfig = Field(default_factory=dict, validate_default=True)
    commands: CommandsConfig = Field(default_factory=dict, validate_default=True)
    diagnostics: DiagnosticsConfig = Field(default_factory=dict, validate_default=True)
    health: HealthConfig = Field(default_factory=dict, validate_default=True)
    audit: AuditConfig = Field(default_factory=dict, validate_default=True)
    actions: ActionsConfig = Field(default_factory=dict, validate_default=True)
    firmware: FirmwareConfig = Field(default_factory=dict, validate_default=True)
    devices: list[DeviceConfig] = Field(default_factory=list, description=DEVICES_DESCRIPTION)

    def secrets(self) -> list[str]:
        """Every secret value in the configuration (MQTT password, camera passwords, ...), for the
        log formatter to redact wherever it appears."""
        found: list[str] = []
        _collect_secrets(self, found)
        return [secret for secret in found if secret]

    def config_hash(self) -> str:
        """A short digest of the effective settings, secrets excluded: centre can spot drift."""
        canonical = json.dumps(self.model_dump(mode="json", warnings=False), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def config_model(types: frozenset[str]) -> type[AgentConfig]:
    """AgentConfig whose `devices` is a discriminated union over the kinds `types` (each one known):
    only those kinds' config modules are imported and only their models built (RSS, issue 16)."""
    return _model_of(tuple(KINDS[type_] for type_ in sorted(types)))


@cache  # by the kinds themselves: a kind registered again under its name gets its own model
def _model_of(kinds: tuple[DeviceKind, ...]) -> type[AgentConfig]:
    models = tuple(kind.config_model for kind in kinds)
    if len(models) == 1:
        device: Any = models[0]  # one kind: its `type` literal already rejects any other
    else:
        device = Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007 - `X | Y` cannot be built from a runtime tuple
    devices: tuple[Any, Any] = (list[device], Field(default_factory=list, description=DEVICES_DESCRIPTION))
    return create_model("AgentConfig", __base__=AgentConfig, __module__=__name__, devices=devices)


def _named_types(raw: Any) -> frozenset[str]:
    """The kinds the file's devices name; every kind when one is unknown or missing (the error then
    lists what `type` may be) or when there are no devices."""
    devices = raw.get("devices") if isinstance(raw, dict) else None
    if not isinstance(devices, list) or not devices:
        return frozenset(KINDS)
    types = [device.get("type") if isinstance(device, dict) else None for device in devices]
    if not all(isinstance(type_, str) and type_ in KINDS for type_ in types):
        return frozenset(KINDS)
    return frozenset(types)  # type: ignore[arg-type]  # every item checked to be a str just above


def _collect_secrets(value: Any, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect_secrets(getattr(value, name), found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_secrets(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secrets(item, found)


class _StrictLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]  # libyaml's or Python's, chosen at import
    """A safe loader (libyaml's when present) refusing duplicate keys: YAML would keep the last one."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_config(path: Path | str, *, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """Read and validate a config file. Raises ConfigError listing every problem found."""
    path = Path(path)
    text = _read_text(path)
    raw = _parse(path, text)
    base_dir = path.parent.resolve()
    context = {"base_dir": base_dir, "environ": os.environ if environ is None else environ}
    model = config_model(_named_types(raw))
    try:
        config = model.model_validate(raw, context=context)
    except ValidationError as exc:
        # Every problem in one pass: the cross checks run on the raw file too.
        raise ConfigError(
            _placed(str(path), text, raw, _problems(exc.errors()) + _cross_checks(raw), model)
        ) from None
    problems = _cross_checks(raw)
    if problems:
        raise ConfigError(_placed(str(path), text, raw, problems, model))
    if not config.storage.data_dir.is_absolute():
        storage = config.storage.model_copy(update={"data_dir": base_dir / config.storage.data_dir})
        config = config.model_copy(update={"storage": storage})
    problem = _data_dir_problem(config.storage.data_dir)
    if problem:
        raise ConfigError([ConfigProblem(str(path), "storage.data_dir", problem)])
    return config


def _data_dir_problem(data_dir: Path) -> str | None:
    """Why `data_dir` can never be used (it or a parent is a file), caught at `check`, not at `run`.
    A directory that does not exist yet is fine: the agent creates it."""
    for candidate in (data_dir, *data_dir.parents):
        if candidate.exists():
            if candidate.is_dir():
                return None
            what = "is" if candidate == data_dir else f"is inside {str(candidate)!r}, which is"
            return f"must be a directory; {str(data_dir)!r} {what} not a directory"
    return None


# A cabinet's config is a few kilobytes; refuse what can only be a mistake or an attack early.
CONFIG_MAX_BYTES = 1 << 20


def _read_text(path: Path) -> str:
    try:
        return read_regular_file(path, CONFIG_MAX_BYTES).decode("utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc).removeprefix(f"{path} ")
        raise ConfigError([ConfigProblem(str(path), "", why)]) from None


def _parse(path: Path, text: str) -> Any:
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(str(path), "", f"invalid YAML: {where}{problem}")]) from None
    except RecursionError:
        raise ConfigError([ConfigProblem(str(path), "", "invalid YAML: nested too deeply")]) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError([ConfigProblem(str(path), "", f"invalid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise ConfigError(
            [ConfigProblem(str(path), "", "expected a mapping with `cabinet`, `mqtt`, `devices`")]
        )
    return raw


_SECRET_WORDS = ("password", "secret", "token", "key")
_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}

Found = tuple["Loc", str]  # where (pydantic's location, union labels removed) and what


def _problems(errors: list[Any]) -> list[Found]:
    """One problem per place, minus the noise of union alternatives that were not meant.

    For `tls: {cert_file: x}` pydantic reports both "cert and key together" (the mapping form) and
    "should be False" (the other form); the person wrote a mapping, so only the first helps. A
    value that matches none of several literal sets (a radar or illuminator `codec`) is one
    problem listing every accepted value.
    """
    from edge_agent.config_where import plain_loc

    found = [(plain_loc(error["loc"], KINDS), error) for error in errors]
    explained = {loc for loc, error in found if not _is_alternative(error)}
    found = [(loc, error) for loc, error in found if not (_is_alternative(error) and loc in explained)]
    problems: list[Found] = []
    literals: dict[Loc, list[Any]] = {}
    for loc, error in found:
        if error["type"] == "literal_error":
            if loc not in literals:
                problems.append((loc, ""))
            literals.setdefault(loc, []).append(error)
        else:
            problems.append((loc, _message(loc, error)))
    return [(loc, message or _one_of(loc, literals[loc])) for loc, message in problems]


def _is_alternative(error: Any) -> bool:
    from_union = any(isinstance(part, str) and "[" in part for part in error["loc"])
    return from_union and error["type"] in ("literal_error", "bool_type", "bool_parsing")


def _message(loc: Loc, error: Any) -> str:
    message = str(_FRIENDLY.get(error["type"], error["msg"]))
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    shown_input = error.get("input")
    secret = any(word in str(part).lower() for part in loc for word in _SECRET_WORDS)
    if error["type"] not in _FRIENDLY and not secret and isinstance(shown_input, str | int | float | bool):
        message = f"{message} (got {shown_input!r})"
    return message


def _one_of(loc: Loc, errors: list[Any]) -> str:
    if len(errors) == 1:
        return _message(loc, errors[0])
    expected = ", ".join(str(error.get("ctx", {}).get("expected", "?")) for error in errors)
    return f"Input should be one of {expected.replace(' or ', ', ')} (got {errors[0].get('input')!r})"


def _placed(
    file: str, text: str, raw: Any, found: list[Found], model: type[AgentConfig]
) -> list[ConfigProblem]:
    """Problems with their line, devices named by id, and a guess for a misspelt key."""
    from edge_agent.config_where import line_index, line_of, suggestion

    lines = line_index(text, _StrictLoader)
    problems = []
    for loc, message in found:
        if message == _FRIENDLY["extra_forbidden"] and loc:
            meant = suggestion(loc, raw, model, KINDS)
            message = f"{message}; did you mean `{meant}`?" if meant else message
        path, shown = format_path(loc), _named_path(loc, raw)
        problems.append(ConfigProblem(file, path, message, line_of(loc, lines), shown))
    return sorted(problems, key=lambda problem: problem.line or 0)  # in the order of the file


def format_path(loc: tuple[Any, ...]) -> str:
    """('devices', 2, 'host', 'limits', 'cpu_percent') -> 'devices[2].limits.cpu_percent'.

    pydantic puts union labels in the path: the device type after a device's index, and member
    names like `literal[False]` or `function-after[...]`. People never wrote those.
    """
    from edge_agent.config_where import plain_loc

    parts: list[str] = []
    for item in plain_loc(loc, KINDS):
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}" if parts else str(item))
    return "".join(parts)


def _named_path(loc: Loc, raw: Any) -> str:
    """Like `format_path`, with a device named by its id (`devices[cam-1].timeout_s`)."""
    if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int):
        from edge_agent.config_where import device_name

        rest = format_path(loc[2:])
        device = device_name(raw, loc[1])
        return device + ("" if not rest else rest if rest.startswith("[") else f".{rest}")
    return format_path(loc)


def _cross_checks(raw: Any) -> list[Found]:
    """Links between sections, on the file as written (so they run even when a section is invalid)."""
    devices = raw.get("devices") if isinstance(raw, dict) else None
    seen: dict[str, int] = {}
    problems: list[Found] = []
    for index, device in enumerate(devices if isinstance(devices, list) else []):
        device_id = device.get("device_id") if isinstance(device, dict) else None
        if not isinstance(device_id, str):
            continue
        if device_id in seen:
            also = f"devices[{seen[device_id]}]"
            problems.append(
                (("devices", index, "device_id"), f"duplicate device_id {device_id!r} (also {also})")
            )
        seen.setdefault(device_id, index)
    problems += _references(raw, seen)
    return problems


def _references(raw: Any, devices: Mapping[str, int]) -> list[Found]:
    """Switch members and relays must name configured devices."""
    problems: list[Found] = []
    health = raw.get("health") if isinstance(raw, dict) else None
    switches = health.get("switches") if isinstance(health, dict) else None
    for switch, members in (switches if isinstance(switches, dict) else {}).items():
        for position, member in enumerate(members if isinstance(members, list) else []):
            if isinstance(member, str) and member not in devices:
                problems.append((("health", "switches", str(switch), position), f"no device {member!r}"))
    actions = raw.get("actions") if isinstance(raw, dict) else None
    relays = actions.get("relays") if isinstance(actions, dict) else None
    for position, relay in enumerate(relays if isinstance(relays, list) else []):
        device_id = relay.get("device_id") if isinstance(relay, dict) else None
        if isinstance(device_id, str) and device_id not in devices:
            problems.append((("actions", "relays", position, "device_id"), f"no device {device_id!r}"))
    return problems
