"""The stand-in for pydantic's plugin loader (`edge_agent/pydantic_plugins.py`) against the installed
pydantic: these fail loudly when pydantic's loader or its caller changes, before the stand-in can
answer for a module it no longer matches."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
from types import ModuleType

import pydantic
import pytest
from pydantic.plugin import _schema_validator

from edge_agent import pydantic_plugins


def _fresh_real_loader() -> ModuleType:
    """pydantic's own loader, loaded apart from `sys.modules` (the process may hold the stand-in)."""
    spec = importlib.util.find_spec("pydantic.plugin._loader")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_installed_pydantic_is_a_checked_one() -> None:
    assert pydantic.VERSION.startswith(pydantic_plugins.CHECKED), (
        f"pydantic {pydantic.VERSION}: read pydantic/plugin/_loader.py and its caller, then add the "
        "release to pydantic_plugins.CHECKED (until then the agent falls back to pydantic's loader)"
    )


def test_the_loader_is_reached_only_through_get_plugins() -> None:
    caller = inspect.getsource(_schema_validator)
    assert "from ._loader import get_plugins" in caller
    assert caller.count("_loader") == 1  # nothing else of the loader is used
    real = _fresh_real_loader()
    assert list(inspect.signature(real.get_plugins).parameters) == []


@pytest.mark.parametrize("value", pydantic_plugins.ALL_OFF)
def test_with_every_plugin_off_both_answer_no_plugin(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pydantic_plugins.VARIABLE, value)
    assert tuple(_fresh_real_loader().get_plugins()) == ()
    assert tuple(pydantic_plugins.get_plugins()) == ()


def test_the_real_loader_switches_on_the_same_values() -> None:
    source = inspect.getsource(_fresh_real_loader().get_plugins)
    assert f"disabled_plugins in {pydantic_plugins.ALL_OFF!r}" in source.replace('"', "'")


def _run(code: str, **environ: str) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key != pydantic_plugins.VARIABLE}
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**env, **environ})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


MODEL = (
    "import sys\n"
    "from edge_agent.pydantic_plugins import turn_off\n"
    "print(turn_off())\n"
    "from pydantic import BaseModel, Field\n"
    "class M(BaseModel):\n"
    "    x: int = Field(ge=0)\n"
    "print(M(x=1).x, type(sys.modules['pydantic.plugin._loader']).__name__,\n"
    "      sys.modules['pydantic.plugin._loader'].__name__, 'importlib.metadata' in sys.modules)\n"
)


def test_a_model_builds_and_validates_without_importlib_metadata() -> None:
    assert _run(MODEL) == ["True", "1", "module", "edge_agent.pydantic_plugins", "False"]


def test_an_operator_who_runs_a_plugin_gets_pydantics_loader() -> None:
    out = _run(MODEL, PYDANTIC_DISABLE_PLUGINS="")
    assert out == ["False", "1", "module", "pydantic.plugin._loader", "True"]


def test_turned_on_later_the_stand_in_hands_over_to_pydantics_loader() -> None:
    code = (
        "import os, sys\n"
        "from edge_agent.pydantic_plugins import turn_off\n"
        "turn_off()\n"
        "os.environ['PYDANTIC_DISABLE_PLUGINS'] = 'someone'\n"
        "from pydantic import BaseModel\n"
        "class M(BaseModel):\n"
        "    x: int = 0\n"
        "import pydantic.plugin\n"
        "loader = sys.modules['pydantic.plugin._loader']\n"
        "print(loader.__name__, pydantic.plugin._loader is loader, loader.PYDANTIC_ENTRY_POINT_GROUP)\n"
    )
    assert _run(code) == ["pydantic.plugin._loader", "True", "pydantic"]
