"""`urllib.request` imported on its first use, not by paho's import (RSS, issue 16).

paho-mqtt imports `urllib.request` at module level for one thing: proxy settings from the
environment (`Client._get_proxy`), read only when PySocks is installed. That import brings
`http.client` and most of the `email` package, 1.3 MB of a host agent and 1.9 MB of a 3-meter one,
kept for the life of the process, and nothing else in a core cabinet reads them.

`defer()` (the command line calls it first, before anything imports paho) registers a stand-in
module under that name. The first attribute anyone asks of it imports the real module, which then
takes its place in `sys.modules` and on the `urllib` package, and is answered from it: every user
(paho's proxy look-up, requests and aiohttp in a cabinet with cameras or the page) gets the real
module's objects, so only an `import urllib.request` that is never read is spared.
`tests/unit/test_lazy_urllib.py` checks both.
"""

from __future__ import annotations

import importlib
import sys
import urllib
from types import ModuleType
from typing import Any

NAME = "urllib.request"


class _StandIn(ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        return getattr(_real(), attribute)


_STAND_IN = _StandIn(NAME, "Stands in for urllib.request until first read (edge_agent.lazy_urllib).")


def _real() -> ModuleType:
    if sys.modules.get(NAME) is _STAND_IN:
        del sys.modules[NAME]  # import_module then loads the real one and sets it on the package
    return importlib.import_module(NAME)


def defer() -> bool:
    """The stand-in in `urllib.request`'s place, unless the real module is loaded already; True if
    it was registered."""
    if NAME in sys.modules:
        return False
    sys.modules[NAME] = _STAND_IN
    urllib.request = _STAND_IN  # type: ignore[attr-defined]  # as the import system binds a submodule on its package
    return True
