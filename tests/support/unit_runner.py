"""Start and stop the agent as its systemd unit describes, on a test host where systemd is not PID 1.

The fleet test's Ansible role uses this as its "external" service manager. It reads the installed
unit file and honours what matters for a test: ExecStart, User, Group, SupplementaryGroups,
WorkingDirectory, LoadCredential (copied to a private folder named by CREDENTIALS_DIRECTORY,
readable by the service user only) and TimeoutStopSec (SIGTERM, then SIGKILL). It does NOT apply
the sandboxing (ProtectSystem=...), the watchdog, sd_notify or Restart=: those are verified with
`systemd-analyze verify` only. Standard library only: it runs with the test host's system Python.

    python3 unit_runner.py start|restart|stop --unit FILE --run-dir DIR

`start` prints CHANGED when it started the agent (the role's contract for `changed`).
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def parse_unit(path: Path) -> dict[str, list[str]]:
    """Settings of the [Service] section; a key may repeat (LoadCredential)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:  # an exited child nobody reaped yet is a zombie: dead for our purposes
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False


def running_pid(run_dir: Path) -> int | None:
    try:
        pid = int((run_dir / "agent.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def start(unit: dict[str, list[str]], run_dir: Path) -> bool:
    if running_pid(run_dir) is not None:
        return False
    user = pwd.getpwnam(unit["User"][-1])
    group = grp.getgrnam(unit.get("Group", [user.pw_name])[-1])
    extra = [g for g in " ".join(unit.get("SupplementaryGroups", [])).split() if g]
    environ = {"PATH": PATH, "LANG": "C.UTF-8"}
    credentials = _credentials(unit, run_dir, user.pw_uid)
    if credentials is not None:
        environ["CREDENTIALS_DIRECTORY"] = str(credentials)
    with (run_dir / "agent.log").open("ab") as log:
        process = subprocess.Popen(
            shlex.split(unit["ExecStart"][-1]),
            user=user.pw_uid,
            group=group.gr_gid,
            extra_groups=extra,
            cwd=unit.get("WorkingDirectory", ["/"])[-1],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives this command and the ssh session that ran it
        )
    (run_dir / "agent.pid").write_text(str(process.pid))
    return True


def _credentials(unit: dict[str, list[str]], run_dir: Path, uid: int) -> Path | None:
    entries = unit.get("LoadCredential", [])
    if not entries:
        return None
    folder = run_dir / "credentials"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o500)
    for entry in entries:
        name, source = entry.split(":", 1)
        target = folder / name
        shutil.copyfile(source, target)
        target.chmod(0o400)
        os.chown(target, uid, -1)
    os.chown(folder, uid, -1)
    return folder


def stop(unit: dict[str, list[str]], run_dir: Path) -> bool:
    pid = running_pid(run_dir)
    if pid is None:
        return False
    timeout_s = float(unit.get("TimeoutStopSec", ["90s"])[-1].rstrip("s"))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["start", "restart", "stop"])
    parser.add_argument("--unit", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    unit = parse_unit(args.unit)
    changed = False
    if args.action in ("stop", "restart"):
        changed = stop(unit, args.run_dir)
    if args.action in ("start", "restart"):
        changed = start(unit, args.run_dir) or changed
    print("CHANGED" if changed else "OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
