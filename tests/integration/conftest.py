"""Fixtures of the integration tests that only some modules use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import pytest_asyncio
from support.browser import chromium


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """One Chromium per module (its tests run on the module's event loop); skip with `playwright_or_skip`."""
    async with chromium() as instance:
        yield instance


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    """An exit stack for what a test starts (simulators, agents), unwound when the test ends."""
    async with AsyncExitStack() as stack:
        yield stack
