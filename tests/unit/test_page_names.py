"""The page and its documentation use the names the code really has: value names the kinds
publish, action names the command registry knows."""

from __future__ import annotations

import re
from pathlib import Path

from edge_agent.commands import command_names
from edge_agent.devices.link import VALUE_NAMES as LINK_VALUE_NAMES
from edge_agent.devices.modbus.config import ModbusConfig
from edge_agent.devices.modbus.profile import load_profile, output_names, shipped_profiles
from edge_agent.diagnostics import i18n
from edge_agent.diagnostics.actions import ACTIONS, applies_to
from edge_agent.diagnostics.views import CABINET_VALUES, device_detail
from edge_agent.faults import catalogue
from edge_agent.health.tracker import DeviceHealth
from edge_agent.readings import utc_now
from edge_agent.runtime.live_state import DeviceSnapshot

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"


def test_uplink_tile_shows_exactly_what_the_link_probe_publishes() -> None:
    # The probe's own names; test_link_probe.py checks the probe really publishes these.
    assert CABINET_VALUES["uplink"] == LINK_VALUE_NAMES


def test_power_and_environment_tiles_use_names_of_shipped_profiles() -> None:
    published = {
        name for profile in shipped_profiles() for name in output_names(load_profile(profile).values)
    }
    for group in ("power", "environment"):
        unknown = sorted(set(CABINET_VALUES[group]) - published)
        assert unknown == [], f"{group} tile names nobody publishes: {unknown}"


def test_every_tile_name_has_words_in_both_languages() -> None:
    for lang in i18n.LANGS:
        words = i18n.words(lang)
        missing = [n for names in CABINET_VALUES.values() for n in names if f"v.{n}" not in words]
        assert missing == [], (lang, missing)


def _documented_actions() -> dict[str, str]:
    """action name -> command, from the table under `## Actions` in docs/diagnostics.md."""
    section = DOCS.read_text(encoding="utf-8").split("## Actions", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| [^|]+ \| `(\w+)`( \(built in\))? \|", section, flags=re.MULTILINE)
    return {name: "" if built_in else name for name, built_in in rows}


def test_documented_actions_are_the_page_actions_and_registered_commands() -> None:
    documented = _documented_actions()
    assert set(documented) == set(ACTIONS)
    for key, spec in ACTIONS.items():
        assert (spec.command or "") == documented[key], key
        assert spec.command is None or spec.command in command_names(), (
            f"{spec.command} is not a registered command"
        )
        for lang in i18n.LANGS:
            assert f"action.{key}" in i18n.words(lang)


def test_camera_actions_are_not_offered_for_the_controller() -> None:
    offered = [key for key, spec in ACTIONS.items() if applies_to(spec, "host")]
    assert offered == []
    assert applies_to(ACTIONS["camera_reboot"], "onvif_camera")


def test_a_power_cycle_is_offered_only_where_a_relay_powers_the_device() -> None:
    assert not applies_to(ACTIONS["power_cycle"], "onvif_camera")
    assert applies_to(ACTIONS["power_cycle"], "onvif_camera", has_relay=True)
    assert not applies_to(ACTIONS["power_cycle"], "host", has_relay=True)  # never the controller


def test_actions_named_in_the_fault_catalogue_are_the_pages_buttons() -> None:
    # "run “相机校时”" must name a button the technician can find on the page.
    for lang, quoted in (("zh-CN", r"“([^”]+)”"), ("en", r'"([^"]+)"')):
        words = i18n.words(lang)
        buttons = {words[f"action.{key}"] for key in ACTIONS}
        for key, entry in catalogue().items():
            for name in re.findall(quoted, entry.words(lang).check):
                assert name in buttons, f"{key} ({lang}) names {name!r}, not a button of the page"


def test_readings_come_in_the_profiles_order_with_its_labels() -> None:
    meter = ModbusConfig.model_validate(
        {
            "type": "modbus",
            "device_id": "meter",
            "profile": "eastron_sdm630",
            "transport": {"kind": "tcp", "host": "127.0.0.1"},
        }
    )
    health = DeviceHealth(state="ok", since=utc_now())
    # Reported in another order, as a poll may: the page shows the profile's.
    values = {"frequency_hz": 50.0, "apparent_power_l1_va": 10.0, "voltage_l1_v": 230.0, "extra_x": 1}
    snapshot = DeviceSnapshot("meter", "modbus", None, health, values=values)
    detail = device_detail(snapshot, meter)
    assert detail["order"] == ["voltage_l1_v", "apparent_power_l1_va", "frequency_hz", "extra_x"]
    assert detail["labels"]["apparent_power_l1_va"] == {"zh-CN": "L1 视在功率", "en": "Apparent power L1"}
