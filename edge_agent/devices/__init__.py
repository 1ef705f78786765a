"""The registry of device kinds: `type` in the config -> (config model, poller).

A kind is one folder under `edge_agent/devices/<kind>/` whose `__init__.py` defines `KIND`. Nothing
of a kind is imported until a configuration names it: its config model when a config with a device
of that `type` is validated, its poller when such a device is created. A cabinet without cameras
never loads zeep, one without Modbus devices never loads their profiles (RSS, issue 16).

Kinds from outside the package (a site's own device, the test suite's scripted devices) are
modules named in the environment variable EDGE_AGENT_PLUGINS (comma-separated), each defining
`KIND` the same way (or `KINDS`, a tuple, for several); they are imported at the first look-up.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, MutableMapping

from edge_agent.devices.base import DeviceConfig, DeviceKind

# One line per kind. Adding a kind = adding its folder and its `type` -> module here.
_KIND_MODULES = {
    "host": "edge_agent.devices.host",
    "modbus": "edge_agent.devices.modbus",
    "serial": "edge_agent.devices.serial",
    "onvif_camera": "edge_agent.devices.onvif_camera",
    "link": "edge_agent.devices.link",
}


class KindRegistry(MutableMapping[str, DeviceKind]):
    """`type` -> kind, importing a kind's module at its first look-up (names are known without it)."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = dict(modules)  # type -> module not imported yet
        self._kinds: dict[str, DeviceKind] = {}
        self._plugins_loaded = False

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        names = os.environ.get("EDGE_AGENT_PLUGINS", "").split(",")
        for module_name in filter(None, (name.strip() for name in names)):
            module = importlib.import_module(module_name)
            for kind in getattr(module, "KINDS", None) or (module.KIND,):
                self._kinds[kind.type] = kind

    def __getitem__(self, type_: str) -> DeviceKind:
        self._load_plugins()
        if type_ not in self._kinds and type_ in self._modules:
            kind = importlib.import_module(self._modules.pop(type_)).KIND
            self._kinds[kind.type] = kind
        return self._kinds[type_]

    def __setitem__(self, type_: str, kind: DeviceKind) -> None:
        self._modules.pop(type_, None)
        self._kinds[type_] = kind

    def __delitem__(self, type_: str) -> None:
        self._load_plugins()
        if self._modules.pop(type_, None) is None:
            del self._kinds[type_]

    def __contains__(self, type_: object) -> bool:
        self._load_plugins()
        return type_ in self._kinds or type_ in self._modules

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter([*self._kinds, *self._modules])

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._kinds) + len(self._modules)


KINDS = KindRegistry(_KIND_MODULES)


def kind_of(config: DeviceConfig) -> DeviceKind:
    return KINDS[config.type]
