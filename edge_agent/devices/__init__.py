"""The registry of device kinds: `type` in the config -> (config model, poller).

A kind is one folder under `edge_agent/devices/<kind>/` whose `__init__.py` defines `KIND`. Its
config module is imported here (to build the config schema); its poller module only when a
device of that kind is configured, so a cabinet without cameras never loads zeep.

Kinds from outside the package (a site's own device, the test suite's scripted devices) are
modules named in the environment variable EDGE_AGENT_PLUGINS (comma-separated), each defining
`KIND` the same way (or `KINDS`, a tuple, for several).
"""

from __future__ import annotations

import importlib
import os

from edge_agent.devices.base import DeviceConfig, DeviceKind

# One line per kind. Adding a kind = adding its folder and its module name here.
_KIND_MODULES = (
    "edge_agent.devices.host",
    "edge_agent.devices.modbus",
    "edge_agent.devices.serial",
    "edge_agent.devices.onvif_camera",
    "edge_agent.devices.link",
)


def _load_kinds() -> dict[str, DeviceKind]:
    kinds: dict[str, DeviceKind] = {}
    plugins = [name.strip() for name in os.environ.get("EDGE_AGENT_PLUGINS", "").split(",") if name.strip()]
    for module_name in (*_KIND_MODULES, *plugins):
        module = importlib.import_module(module_name)
        for kind in getattr(module, "KINDS", None) or (module.KIND,):
            kinds[kind.type] = kind
    return kinds


KINDS: dict[str, DeviceKind] = _load_kinds()


def kind_of(config: DeviceConfig) -> DeviceKind:
    return KINDS[config.type]
