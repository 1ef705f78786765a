"""`edge-agent health`: is an agent running here, and is it the version we expect?

The upgrade health gate and the agent's post-upgrade hook run this on the cabinet. It reads the
liveness file the agent rewrites every few seconds (`edge_agent.runtime.liveness_file`) and checks that the
process named there is alive, that the record is fresh and that it reports the expected version.
Optionally it also asks an HTTP endpoint (the diagnostics page's `/healthz`, once it exists).

It needs only the `storage` section of the configuration, so it runs without the secrets the
rest of the file refers to.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edge_agent.config import StorageConfig
from edge_agent.errors import LivenessError
from edge_agent.runtime.liveness_file import LIVENESS_INTERVAL_S, Liveness, liveness_path, read_liveness

DEFAULT_MAX_AGE_S = 4 * LIVENESS_INTERVAL_S
HTTP_TIMEOUT_S = 5.0
MAX_HTTP_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What `edge-agent health` prints as JSON: the verdict, each check, and the record it read."""

    ok: bool
    checks: list[Check]
    liveness: dict[str, Any] | None = field(default=None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)


def data_dir_of(config_path: Path) -> Path:
    """The state directory a configuration names, read from its `storage` section alone."""
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LivenessError(f"cannot read {config_path}: {exc}") from exc
    section = raw.get("storage", {}) if isinstance(raw, dict) else {}
    try:
        storage = StorageConfig.model_validate(section or {})
    except ValidationError as exc:
        raise LivenessError(f"{config_path}: storage: {exc.errors()[0]['msg']}") from exc
    data_dir = storage.data_dir
    return data_dir if data_dir.is_absolute() else config_path.parent.resolve() / data_dir


def check_health(
    data_dir: Path,
    *,
    expect_version: str | None = None,
    url: str | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    require_broker: bool = False,
) -> HealthReport:
    """One look: every check is run and reported, the verdict is their conjunction."""
    try:
        record = read_liveness(liveness_path(data_dir))
    except LivenessError as exc:
        return HealthReport(False, [Check("liveness_file", False, str(exc))])
    checks = [
        Check("liveness_file", True, str(liveness_path(data_dir))),
        _check_process(record),
        _check_fresh(record, max_age_s),
    ]
    if expect_version is not None:
        same = record.version == expect_version
        checks.append(Check("version", same, f"running {record.version}, expected {expect_version}"))
    if require_broker:
        checks.append(Check("broker", record.broker_connected, f"connected={record.broker_connected}"))
    if url:
        checks.append(probe_url(url, expect_version))
    return HealthReport(all(c.ok for c in checks), checks, record.model_dump(mode="json"))


def wait_healthy(data_dir: Path, *, wait_s: float, poll_s: float = 1.0, **options: Any) -> HealthReport:
    """Look again every `poll_s` until healthy or `wait_s` is spent; returns the last report."""
    deadline = time.monotonic() + wait_s
    while True:
        report = check_health(data_dir, **options)
        if report.ok or time.monotonic() + poll_s > deadline:
            return report
        time.sleep(poll_s)  # a command-line poll of a file, not event-loop code


def _check_process(record: Liveness) -> Check:
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return Check("process", False, f"pid {record.pid} is not running: the agent died")
    except PermissionError:
        pass  # it exists, under another user: the service user
    proc = Path(f"/proc/{record.pid}")
    try:
        cmdline = (proc / "cmdline").read_bytes()
        zombie = "\nState:\tZ" in (proc / "status").read_text()
    except OSError:  # no /proc (not Linux), or it exited just now
        cmdline, zombie = b"edge", proc.parent.exists()
    if zombie:
        return Check("process", False, f"pid {record.pid} has exited: the agent died")
    if b"edge" not in cmdline:
        return Check("process", False, f"pid {record.pid} is another program: the agent died")
    return Check("process", True, f"pid {record.pid} is running")


def _check_fresh(record: Liveness, max_age_s: float) -> Check:
    updated = record.updated_at if record.updated_at.tzinfo else record.updated_at.replace(tzinfo=UTC)
    age_s = (datetime.now(UTC) - updated).total_seconds()
    return Check("fresh", age_s <= max_age_s, f"written {age_s:.1f} s ago (limit {max_age_s:g} s)")


def probe_url(url: str, expect_version: str | None, timeout_s: float = HTTP_TIMEOUT_S) -> Check:
    """GET a health endpoint: 200 with a JSON object, and the expected `version` if one is given."""
    if not url.startswith(("http://", "https://")):
        return Check("http", False, f"{url}: only http:// and https:// URLs are probed")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - scheme checked above
            body = response.read(MAX_HTTP_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Check("http", False, f"{url}: {exc}")
    try:
        answer = json.loads(body) if len(body) <= MAX_HTTP_BYTES else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return Check("http", False, f"{url}: the answer is not a JSON object")
    if answer.get("status", "ok") != "ok":
        return Check("http", False, f"{url}: status {answer.get('status')!r}")
    version = answer.get("version", answer.get("agent_version"))
    if expect_version is not None and version != expect_version:
        return Check("http", False, f"{url}: reports version {version!r}, expected {expect_version}")
    return Check("http", True, f"{url}: answered, version {version!r}")
