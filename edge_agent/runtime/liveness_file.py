"""The liveness file: `<data_dir>/health.json`, rewritten by the running agent every few seconds.

It lets a deployment tool (the upgrade health gate, `edge-agent health`) see, without a broker and
without the diagnostics web page, that an agent process is up, which version it runs and whether it
reaches the broker. It is written atomically (temporary file + rename) and removed on a clean stop,
so a file left behind names a process that died: readers check the pid and the age of the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.errors import LivenessError
from edge_agent.runtime.tasks import running

log = logging.getLogger(__name__)

LIVENESS_FILE = "health.json"
LIVENESS_INTERVAL_S = 5.0
MAX_FILE_BYTES = 64 * 1024  # a record is ~300 bytes; anything far larger is not ours


class Liveness(BaseModel):
    """One liveness record. Unknown keys are ignored so an older reader accepts a newer agent's file."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: str = Field(description="Version of the running agent.")
    boot_id: str = Field(description="Random id of this agent process run.")
    pid: int = Field(ge=1, description="Process id of the agent.")
    started_at: datetime = Field(description="When this process started (UTC).")
    updated_at: datetime = Field(description="When this record was written (UTC).")
    broker_connected: bool = Field(description="Whether the MQTT link was up when written.")
    outbox_depth: int = Field(ge=0, description="Messages waiting in the outbox for the broker.")


def liveness_path(data_dir: Path) -> Path:
    return data_dir / LIVENESS_FILE


def write_liveness(path: Path, record: Liveness) -> None:
    """Replace the file atomically: a reader sees the old record or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(record.model_dump_json(), encoding="utf-8")
    os.replace(temporary, path)


def read_liveness(path: Path) -> Liveness:
    """Parse the file as hostile input; raises LivenessError with a reason a person can act on."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise LivenessError(f"{path} does not exist: the agent is not running or never started") from None
    except OSError as exc:
        raise LivenessError(f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise LivenessError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a liveness record")
    try:
        return Liveness.model_validate_json(raw)
    except ValidationError as exc:
        raise LivenessError(f"{path} is not a liveness record: {exc.errors()[0]['msg']}") from exc


def remove_liveness(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def liveness_loop(
    path: Path, snapshot: Callable[[], Liveness], interval_s: float = LIVENESS_INTERVAL_S
) -> None:
    """Rewrite the file every `interval_s` until cancelled; a full disk is logged once, not every time."""
    failing = False
    while True:
        try:
            await asyncio.to_thread(write_liveness, path, snapshot())
        except OSError as exc:
            if not failing:
                log.warning("cannot write the liveness file %s: %s", path, exc.strerror)
            failing = True
        else:
            if failing:
                log.info("liveness file %s written again", path)
            failing = False
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def liveness_written(
    group: asyncio.TaskGroup, data_dir: Path, snapshot: Callable[[], Liveness]
) -> AsyncIterator[None]:
    """The file is rewritten while open and removed on exit: entered early on the agent's exit
    stack, so a deployment tool never sees "stopped" while the outbox is still draining."""
    path = liveness_path(data_dir)
    async with running(group, ("liveness-file", liveness_loop(path, snapshot))):
        yield
    remove_liveness(path)  # a clean stop only: a file left behind names a process that died
