"""Skip a test whose tool is missing on a developer's machine, but fail it in CI, where setup installs it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it: see the setup script)")
    pytest.skip(reason)
