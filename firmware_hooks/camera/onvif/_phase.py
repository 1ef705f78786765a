"""Shared by this folder's hooks (not a hook): run one phase with the agent's own code.

Camera phases need the ONVIF library, so unlike the agent's hooks they run in the agent's current
venv (`$EDGE_AGENT_PYTHON`, default `$EDGE_AGENT_HOME/current/bin/python`):
`python -m edge_agent.firmware <phase>` speaks the contract itself (environment, JSON, exit code).
"""

from __future__ import annotations

import os
import sys


def run(phase: str) -> None:
    home = os.environ.get("EDGE_AGENT_HOME") or "/opt/edge-agent"
    python = os.environ.get("EDGE_AGENT_PYTHON") or os.path.join(home, "current", "bin", "python")
    if not os.access(python, os.X_OK):
        print(
            f'{{"type": "result", "hook": "camera/{phase}", "ok": false, "summary": '
            f'"no agent interpreter at {python}", "checks": [], "facts": {{}}, "fault": null}}',
            flush=True,
        )
        sys.exit(64)
    os.execv(python, [python, "-m", "edge_agent.firmware", phase])  # noqa: S606 - the agent's own venv
