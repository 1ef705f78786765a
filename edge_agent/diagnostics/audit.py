"""Audit hook of the diagnostics page: who logged in, who ran which action, with what result.

A stand-in until the agent's own audit log exists: `AuditSink` is the interface the page writes
to; `JsonLinesAudit` keeps an append-only JSON-lines file, bounded by one rotation. Records never
hold a password or any other secret: callers pass only names, targets and outcomes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from edge_agent.readings import iso_ts, utc_now

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024  # then the file becomes `<name>.1` and a new one starts


class AuditSink(Protocol):
    async def record(
        self,
        *,
        operator: str,
        source: str,
        module: str,
        target: str | None,
        params: dict[str, Any],
        result: str,
    ) -> None:
        """Store one record; must not raise (an audit failure is logged, the action stands)."""

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest records, newest last."""


class JsonLinesAudit:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def record(
        self,
        *,
        operator: str,
        source: str,
        module: str,
        target: str | None,
        params: dict[str, Any],
        result: str,
    ) -> None:
        entry = {
            "ts": iso_ts(utc_now()),
            "operator": operator,
            "source": source,
            "module": module,
            "target": target,
            "params": params,
            "result": result,
        }
        log.info("audit: %s by %s from %s on %s: %s", module, operator, source, target or "-", result)
        try:
            await asyncio.to_thread(self._append, json.dumps(entry, ensure_ascii=False, default=str))
        except OSError as exc:
            log.error("audit log %s not writable: %s", self.path, exc)

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._tail, limit)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
            self.path.replace(self.path.with_name(self.path.name + ".1"))
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def _tail(self, limit: int) -> list[dict[str, Any]]:
        try:
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                lines = deque(handle, maxlen=limit)
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a torn last line after power loss
        return records
