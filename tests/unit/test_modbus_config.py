"""Modbus device configs: profile resolution, overrides and the errors `edge-agent check` shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.devices.modbus.profile import load_profile, shipped_profiles
from edge_agent.errors import ConfigError

BASE = """
cabinet: {id: c1}
mqtt: {host: 127.0.0.1, port: 1883}
devices:
  - type: modbus
    device_id: meter
    transport: {kind: rtu, port: /dev/ttyUSB0}
"""


def _load(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "agent.yaml"
    path.write_text(BASE + extra)
    return load_config(path)


def test_every_shipped_profile_loads() -> None:
    names = shipped_profiles()
    assert len(names) >= 9
    for name in names:
        assert load_profile(name).name == name


def test_overrides_and_rules(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "    profile: eastron_sdm630\n"
        "    overrides: {current_l1_a: {scale: 40}, export_reactive_kvarh: {enabled: false}}\n"
        "    disabled_rules: [frequency_hz]\n"
        "    extra_rules: [{type: stuck, value: voltage_l1_v, after_s: 60}]\n",
    )
    device = config.devices[0]  # type: ignore[attr-defined]  # an attribute of the concrete class behind a base-typed handle
    values = {v.name: v for v in device.values()}
    assert values["current_l1_a"].scale == 40
    assert "export_reactive_kvarh" not in values
    kinds = [getattr(r, "value", None) or r.code for r in device.rules()]
    assert "frequency_hz" not in kinds and kinds[-1] == "voltage_l1_v"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    profile: no_such_meter\n", "no shipped profile 'no_such_meter'"),
        ("    profile: eastron_sdm120\n    overrides: {volts: {scale: 2}}\n", "overrides name values not in"),
        ("    profile: eastron_sdm120\n    unit_id: 300\n", "devices[meter].unit_id"),
    ],
)
def test_errors_name_the_problem(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, extra)
    assert message in str(raised.value)


def test_own_profile_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.yaml").write_text(
        "name: mine\nvalues: [{name: level_percent, function: holding, address: 3, unit: '%'}]\n"
    )
    config = _load(tmp_path, "    profile: profiles/mine.yaml\n")
    assert config.devices[0].resolved_profile.name == "mine"  # type: ignore[attr-defined]  # an attribute of the concrete class behind a base-typed handle


def test_checkpoint_demo_files_validate() -> None:
    from edge_agent.simulators.illuminator import LightScenario
    from edge_agent.simulators.modbus_server import Scenario
    from edge_agent.simulators.scenario import load_scenario
    from edge_agent.simulators.serial_radar import RadarScenario

    demo = Path(__file__).parents[2] / "examples" / "checkpoint"
    config = load_config(demo / "agent.yaml")
    assert {d.type for d in config.devices} == {"host", "modbus", "serial"}
    scenario = load_scenario(demo / "rs485.yaml", Scenario)
    units = {d.unit_id: d.profile for d in scenario.devices}
    for device in config.devices:
        if device.type == "modbus":
            assert units[device.unit_id] == device.profile  # type: ignore[attr-defined]  # an attribute of the concrete class behind a base-typed handle
    load_scenario(demo / "radar.yaml", RadarScenario)
    load_scenario(demo / "illuminator.yaml", LightScenario)
