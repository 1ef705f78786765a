"""Fixtures of the integration tests that only some modules use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from support.browser import chromium


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """One Chromium per module (its tests run on the module's event loop); skip with `playwright_or_skip`."""
    async with chromium() as instance:
        yield instance
