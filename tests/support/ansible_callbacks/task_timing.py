"""Ansible callback for the fleet test: how long each task took, written to $TASK_TIMING_FILE."""

from __future__ import annotations

import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-not-found]  # ansible is installed only where the playbook tests run


class CallbackModule(CallbackBase):  # type: ignore[misc]  # an untyped third-party base or a dynamic call
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._current: tuple[str, float] | None = None

    def _close(self) -> None:
        path = os.environ.get("TASK_TIMING_FILE")
        if self._current is not None and path:
            name, started = self._current
            with open(path, "a") as handle:
                handle.write(f"{time.monotonic() - started:7.2f}  {name}\n")
        self._current = None

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._close()
        self._current = (task.get_name(), time.monotonic())

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self._close()
