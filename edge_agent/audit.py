"""The audit log: one record per operator or remote action and per config change, tamper-evident.

Public API (the diagnostics page and the command dispatcher use only this)::

    audit = AuditLog(directory, retention_days=400)
    await audit.record(operator, source, module, target, params, result)

Storage: append-only JSON lines in `<data_dir>/audit/`. The live file is `current.jsonl`; it is
rotated (renamed to `audit-<first n>.jsonl`) when it exceeds `max_file_bytes` or is older than
`max_file_age_days`; rotated files older than `retention_days` are deleted, and the last hash
of a deleted file is kept in `anchor.json` so the chain still verifies from there.

Tamper evidence: each record carries `n` (1, 2, 3, ... across files), `prev_hash` (the `hash` of
the record before it; 64 zeros for the first) and `hash` = SHA-256 of its own canonical JSON
without `hash`. Editing a record breaks its hash; deleting one breaks `n` and the chain;
`edge-agent audit verify` (`verify_log`) checks all of it. Each append is fsynced.

Keyed chain and high-water mark: the plain chain cannot show a dropped tail, an emptied or
deleted live file, a head cut with a rewritten `anchor.json`, or a chain re-hashed from scratch.
With a per-cabinet key (`audit.key`, a secret) each record also carries `mac` = HMAC-SHA256 of its
`hash`, and `anchor.json` is sealed the same way: rewriting either needs the key. After each
append the newest (n, hash) is written, sealed, to a mark outside the audit directory
(`<data_dir>/audit-mark.json`); `verify` compares the log's end with it. What stays undetectable
is written down in docs/operations.md (Audit log).

Secrets never reach the log: parameters whose name contains password/secret/token/key are
written as "***".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from edge_agent.mqtt.audit_chain import GENESIS, record_hash
from edge_agent.readings import iso_ts

Source = Literal["mqtt", "web", "cli", "agent"]
CURRENT = "current.jsonl"
ANCHOR = "anchor.json"
MARK = "audit-mark.json"  # in the data dir, next to (not inside) the audit directory
REDACTED = "***"
_SECRET_WORDS = ("password", "secret", "token", "key", "credential")

Publish = Callable[[dict[str, Any]], Awaitable[None]]


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `params` with every secret-looking entry (at any depth) replaced by '***'."""
    clean: dict[str, Any] = {}
    for name, value in params.items():
        if any(word in str(name).lower() for word in _SECRET_WORDS):
            clean[str(name)] = REDACTED
        elif isinstance(value, Mapping):
            clean[str(name)] = redact(value)
        else:
            clean[str(name)] = value
    return clean


def unicode_safe(value: Any) -> Any:
    """`value` with every text that UTF-8 cannot encode (lone surrogates) escaped as `\\udXXX`:
    a record must always be writable, whoever built its parameters."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {unicode_safe(str(name)): unicode_safe(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [unicode_safe(item) for item in value]
    return value


class AuditLog:
    """Append-only, hash-chained, rotated audit log. Safe to call from several tasks at once."""

    def __init__(
        self,
        directory: Path,
        *,
        retention_days: float = 400,
        max_file_bytes: int = 1 << 20,
        max_file_age_days: float = 31,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.time,
        key: bytes | None = None,
        mark_path: Path | None = None,
    ) -> None:
        self.directory = directory
        self.key = key
        self.mark_path = mark_path
        self.retention_s = retention_days * 86400
        self.max_file_bytes = max_file_bytes
        self.max_file_age_s = max_file_age_days * 86400
        self.publish = publish
        self.clock = clock
        self._lock = threading.Lock()
        self._async_lock = asyncio.Lock()
        self._last: tuple[int, str] | None = None  # (n, hash) of the newest record, read lazily

    async def record(
        self,
        operator: str | None,
        source: Source,
        module: str,
        target: str | None,
        params: Mapping[str, Any],
        result: str,
    ) -> dict[str, Any]:
        """Append one record (fsynced), then publish it on `audit`. Returns the record as written.

        `module`: what acted, e.g. `cmd/camera_reboot`, `web/login`, `config`; `target`: the
        device id (None for the cabinet); `result`: `ok` or `error: <code>`.
        """
        async with self._async_lock:  # keeps publishing in chain order
            written = await asyncio.to_thread(
                self.append_sync, operator, source, module, target, params, result
            )
            if self.publish is not None:
                await self.publish(written)
        return written

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` records, oldest first (for the diagnostics page)."""
        return await asyncio.to_thread(self._recent, limit)

    def _recent(self, limit: int) -> list[dict[str, Any]]:
        newest: deque[dict[str, Any]] = deque(maxlen=limit)
        for _path, _number, line in iter_records(self.directory):
            record = _parse(line)
            if record is not None:
                newest.append(record)
        return list(newest)

    def append_sync(
        self,
        operator: str | None,
        source: Source,
        module: str,
        target: str | None,
        params: Mapping[str, Any],
        result: str,
    ) -> dict[str, Any]:
        """The blocking part of `record`, for the command line (no event loop)."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._rotate_if_due()
            n, prev_hash = self._last_link()
            now = self.clock()
            record: dict[str, Any] = unicode_safe(
                {
                    "n": n + 1,
                    "ts": iso_ts(datetime.fromtimestamp(now, UTC)),
                    "operator": operator,
                    "source": source,
                    "module": module,
                    "target": target,
                    "params": redact(params),
                    "result": result,
                    "prev_hash": prev_hash,
                }
            )
            record["hash"] = record_hash(record)
            if self.key is not None:
                record["mac"] = seal(self.key, "record", record["hash"])
            self._append(record)
            self._last = (record["n"], record["hash"])
            if self.mark_path is not None:
                _write_sealed(self.mark_path, {"n": record["n"], "hash": record["hash"]}, self.key, "mark")
            return record

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        path = self.directory / CURRENT
        if _ends_torn(path):
            line = "\n" + line  # a power cut tore the last line: never glue a record onto it
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def _last_link(self) -> tuple[int, str]:
        if self._last is None:
            self._last = _read_last_link(self.directory)
        return self._last

    def _rotate_if_due(self) -> None:
        current = self.directory / CURRENT
        if current.exists():
            first = _first_record(current)
            too_big = current.stat().st_size >= self.max_file_bytes
            too_old = first is not None and self.clock() - _epoch(first["ts"]) >= self.max_file_age_s
            if first is not None and (too_big or too_old):
                current.rename(self.directory / f"audit-{first['n']:012d}.jsonl")
        self._prune()

    def _prune(self) -> None:
        for path in rotated_files(self.directory):
            last = _last_record(path)
            if last is None or self.clock() - _epoch(last["ts"]) < self.retention_s:
                break  # files are in chain order: the first young file stops the pruning
            anchor = {"n": last["n"], "hash": last["hash"], "ts": last["ts"]}
            _write_sealed(self.directory / ANCHOR, anchor, self.key, "anchor")
            path.unlink()


# --- reading and verifying ----------------------------------------------------------------------


@dataclass
class VerifyResult:
    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def rotated_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("audit-*.jsonl"))


def log_files(directory: Path) -> list[Path]:
    """Every file of the log, oldest first."""
    current = directory / CURRENT
    return rotated_files(directory) + ([current] if current.exists() else [])


def iter_records(directory: Path) -> Iterator[tuple[Path, int, str]]:
    """(file, line number, raw line) for every line of the log, oldest first."""
    for path in log_files(directory):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                yield path, number, line


def seal(key: bytes, kind: str, *parts: object) -> str:
    """HMAC-SHA256 (hex) of `kind` and `parts`: what cannot be recomputed without the key."""
    message = ":".join([kind, *(str(part) for part in parts)]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify_log(directory: Path, *, key: bytes | None = None, mark_path: Path | None = None) -> VerifyResult:
    """Check the whole chain: every hash, every link, no gap in `n`; with `key` every record's and
    the anchor's seal; with `mark_path` that the log ends where the agent last wrote. Lists every
    problem found."""
    result = VerifyResult()
    expected_n, prev_hash = _anchor(directory, key, result.problems)
    for path, number, line in iter_records(directory):
        where = f"{path.name}:{number}"
        try:
            record = json.loads(line)
            n, stated_prev, stated_hash = record["n"], record["prev_hash"], record["hash"]
        except (ValueError, KeyError, TypeError):
            result.problems.append(f"{where}: not a valid audit record")
            continue
        result.records += 1
        if n != expected_n + 1:
            result.problems.append(f"{where}: record n={n}, expected n={expected_n + 1} (records missing)")
        if stated_prev != prev_hash:
            result.problems.append(f"{where}: chain broken (prev_hash does not match the record before)")
        if record_hash(record) != stated_hash:
            result.problems.append(f"{where}: record n={n} was altered (hash mismatch)")
        if key is not None and not _sealed_record(key, record):
            result.problems.append(f"{where}: record n={n} is not sealed with the cabinet's key (rewritten?)")
        expected_n, prev_hash = n if isinstance(n, int) else expected_n + 1, stated_hash
    if mark_path is not None:
        _check_mark(mark_path, key, expected_n, prev_hash, result.problems)
    return result


def _sealed_record(key: bytes, record: Mapping[str, Any]) -> bool:
    return hmac.compare_digest(str(record.get("mac")), seal(key, "record", record["hash"]))


def _check_mark(path: Path, key: bytes | None, last_n: int, last_hash: str, problems: list[str]) -> None:
    """The log must end where the agent last wrote (the mark may lag by the record being written)."""
    mark = _read_sealed(path, key, "mark", problems)
    if mark is None:
        if last_n > 0:
            problems.append(f"{path.name}: missing; records deleted from the end cannot be ruled out")
        return
    marked_n, marked_hash = int(mark["n"]), str(mark["hash"])
    if last_n < marked_n:
        problems.append(
            f"{path.name}: records up to n={marked_n} were written, the log ends at n={last_n} "
            "(tail cut, live file emptied or deleted)"
        )
    elif last_n == marked_n and last_hash != marked_hash:
        problems.append(f"{path.name}: the last record n={last_n} is not the one written (chain rewritten)")


def _anchor(directory: Path, key: bytes | None = None, problems: list[str] | None = None) -> tuple[int, str]:
    path = directory / ANCHOR
    if not path.exists():
        return 0, GENESIS
    document = _read_sealed(path, key, "anchor", problems if problems is not None else [])
    if document is None:
        return 0, GENESIS
    return int(document["n"]), str(document["hash"])


def _read_sealed(path: Path, key: bytes | None, kind: str, problems: list[str]) -> dict[str, Any] | None:
    """A small sealed JSON document ({n, hash, ...}); a wrong or missing seal is a problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        int(document["n"]), str(document["hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        problems.append(f"{path.name}: unreadable")
        return None
    if key is not None:
        body = {name: value for name, value in document.items() if name != "mac"}
        expected = seal(key, kind, json.dumps(body, sort_keys=True))
        if not hmac.compare_digest(str(document.get("mac")), expected):
            problems.append(f"{path.name}: not sealed with the cabinet's key ({kind} rewritten?)")
    return dict(document)


def _write_sealed(path: Path, body: dict[str, Any], key: bytes | None, kind: str) -> None:
    document = dict(body)
    if key is not None:
        document["mac"] = seal(key, kind, json.dumps(body, sort_keys=True))
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(document))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_last_link(directory: Path) -> tuple[int, str]:
    for path in reversed(log_files(directory)):
        last = _last_record(path)
        if last is not None:
            return int(last["n"]), str(last["hash"])
    return _anchor(directory)


def _ends_torn(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _first_record(path: Path) -> dict[str, Any] | None:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            return _parse(line)
    return None


def _last_record(path: Path) -> dict[str, Any] | None:
    last = None
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parsed = _parse(line)
            last = parsed if parsed is not None else last
    return last


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a torn last line after a power cut: the next append starts a fresh line
    return record if isinstance(record, dict) and "n" in record and "hash" in record else None


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
