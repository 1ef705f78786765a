"""The camera's checks keep no memory malloc'd outside Python (issue 12, memory < 1 MB a day).

lxml/libxml2 (SOAP answers, zeep), the HTTP stack and OpenSSL allocate with glibc's malloc, which
tracemalloc does not see. glibc's malloc trace sees every call whatever the caller: the polls of a
child process run under it, and what they allocated and never freed must stay at what is in flight
when the trace is read (a leak of 100 bytes a poll would be 15 KiB here; the soak's cabinet makes
~43,000 camera polls a day).
"""

from __future__ import annotations

import asyncio
import ctypes.util
import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from camera_sim import PASSWORD, USER, start_camera

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from mtrace_live import summary  # benchmarks is not a package

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not ctypes.util.find_library("c_malloc_debug"), reason="needs glibc's libc_malloc_debug"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
TRACED_POLLS = 150
HELD_LIMIT_BYTES = 16 * 1024  # what is in flight stays in the last fifth; a leak is in all five


async def test_camera_polls_leave_nothing_malloced(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack)
    trace = tmp_path / "malloc.trace"
    env = {**os.environ, "LD_PRELOAD": "libc_malloc_debug.so.0", "MALLOC_TRACE": str(trace)}
    argv = [str(camera.port), USER, PASSWORD, str(tmp_path), "10", str(TRACED_POLLS)]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.camera_polls_traced", *argv,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 150)
    assert child.returncode == 0, err.decode()[-2000:]
    totals, callers = summary(trace, int(out.split()[-1]))
    assert sum(totals[:-1]) < HELD_LIMIT_BYTES, callers
