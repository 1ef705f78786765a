"""pydantic with its plugins off, without the imports of their look-up (RSS, issue 16).

pydantic builds every validator through `pydantic.plugin._schema_validator`, which imports the
private `pydantic.plugin._loader` for its `get_plugins()`. That module imports
`importlib.metadata` at module level (and with it `zipfile`, `csv` and parts of `email`: about
0.5 MB of a cabinet's RSS, kept for good) even when `PYDANTIC_DISABLE_PLUGINS` turns every plugin
off and `get_plugins()` returns `()` without reading any metadata.

`turn_off()` (the command line calls it before any model is built) sets that variable unless the
environment already does, and then registers this module in the loader's place. It answers
`get_plugins()` as the loader does with plugins off, `()`; in every other case it hands over to
pydantic's own loader, imported then: another value of the variable (an operator who runs a
plugin), a pydantic whose loader was not checked against this one (`CHECKED`), any other name.
`tests/unit/test_pydantic_plugins.py` fails when the installed pydantic's loader or its caller
no longer matches what this module stands in for.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

LOADER = "pydantic.plugin._loader"
VARIABLE = "PYDANTIC_DISABLE_PLUGINS"
# The values for which pydantic's loader returns no plugin without reading any metadata.
ALL_OFF = ("__all__", "1", "true")
# pydantic releases whose loader and its one caller were read and found as described above.
CHECKED = ("2.14.",)


def turn_off() -> bool:
    """Plugins off unless the environment says otherwise (docs/operations.md), and this module in
    the loader's place when they are all off. True when it was registered."""
    os.environ.setdefault(VARIABLE, "__all__")
    if os.environ[VARIABLE] not in ALL_OFF or LOADER in sys.modules:
        return False  # plugins wanted, or the loader is already there: nothing left to save
    sys.modules[LOADER] = sys.modules[__name__]
    return True


def get_plugins() -> Iterable[Any]:
    """What pydantic's `get_plugins()` returns: `()` while every plugin is off."""
    if os.environ.get(VARIABLE) in ALL_OFF and _checked():
        return ()
    return _real_loader().get_plugins()  # type: ignore[no-any-return]  # pydantic's own function


def __getattr__(name: str) -> Any:
    """Any other name of the loader is pydantic's own (module `__getattr__`, PEP 562)."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_real_loader(), name)


def _checked() -> bool:
    from pydantic.version import VERSION  # imported by pydantic before any model is built

    return VERSION.startswith(CHECKED)


def _real_loader() -> ModuleType:
    """pydantic's loader, imported in place of this module (from then on it answers itself)."""
    if sys.modules.get(LOADER) is sys.modules[__name__]:
        del sys.modules[LOADER]
    real = importlib.import_module(LOADER)
    setattr(sys.modules["pydantic.plugin"], "_loader", real)  # noqa: B010 - the package's attribute for its submodule, as the import system sets it
    return real
