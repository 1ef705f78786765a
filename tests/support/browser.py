"""Debian's headless Chromium through playwright, for the page tests and the page benchmark.

Needs Debian's `chromium` and the `playwright` package (never `playwright install`), which
`./dev.sh test` installs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    # Nothing but the page under test: no QUIC, no background or update traffic leaving the machine.
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
)


def playwright_or_skip() -> ModuleType:
    """`playwright.async_api`, at a test module's import: skips the module without Chromium or
    playwright, except in CI, which must run it (./dev.sh installs both)."""
    if os.environ.get("CI"):
        import playwright.async_api as api

        assert shutil.which(CHROMIUM), "Debian chromium is not installed (./dev.sh test installs it)"
        return api
    found = pytest.importorskip("playwright.async_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian chromium is not installed", allow_module_level=True)
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A launched Chromium (playwright's Browser), closed on exit."""
    from playwright.async_api import async_playwright

    # `launch` gives Chromium a fresh, empty profile directory of its own (and refuses --user-data-dir).
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield instance
        finally:
            await instance.close()
