"""The Ansible role and playbooks pass ansible-lint (production profile, deploy/ansible/.ansible-lint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.requirements import missing

pytestmark = pytest.mark.integration

ANSIBLE_DIR = Path(__file__).parents[2] / "deploy" / "ansible"
VENV_BIN = Path(sys.executable).parent


def test_ansible_lint_is_clean(tmp_path: Path) -> None:
    lint = VENV_BIN / "ansible-lint"
    if not lint.exists():
        missing("ansible-lint is not installed: pip install -e '.[fleet]'")
    environ = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "ANSIBLE_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [str(lint), "--nocolor"], cwd=ANSIBLE_DIR, env=environ, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout + result.stderr
