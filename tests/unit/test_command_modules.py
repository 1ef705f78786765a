"""The table of command modules (`COMMAND_MODULES`, imported on a command's first use) matches what
the modules register, and a command is found without its module imported beforehand."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import edge_agent.commands
from edge_agent.commands import COMMAND_MODULES, COMMANDS

NOT_HANDLERS = {"edge_agent.commands.context", "edge_agent.commands.dispatcher"}


def test_every_handler_module_is_in_the_table() -> None:
    package = edge_agent.commands
    modules = {f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)}
    assert modules - NOT_HANDLERS == set(COMMAND_MODULES.values())


def test_the_table_names_each_command_with_the_module_that_registers_it() -> None:
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(module)
    ours = {
        name: c.handler.__module__
        for name, c in COMMANDS.items()
        if c.handler.__module__ in NOT_HANDLERS | set(COMMAND_MODULES.values())
    }
    assert ours == COMMAND_MODULES


def test_a_command_is_found_on_first_use() -> None:
    code = (
        "import sys\n"
        "from edge_agent.commands import find_command, command_names\n"
        "assert 'edge_agent.commands.health' not in sys.modules\n"
        "assert 'report_daily' in command_names()\n"
        "assert find_command('report_daily').name == 'report_daily'\n"
        "assert 'edge_agent.commands.health' in sys.modules\n"
        "assert 'edge_agent.commands.firmware' not in sys.modules\n"
        "assert find_command('no_such_command') is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
