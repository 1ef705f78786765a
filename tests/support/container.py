"""A Debian container with systemd as PID 1: the real service manager for the unit and the role.

The root file system is made once by debootstrap and cached outside the repository, keyed by a
hash of what goes into it (`ROOTFS_CACHE`); it is rebuilt when absent. Each container boots it with
`--volatile=overlay` (a throw-away writable layer), so the cache is never modified. No host bus
here: `--register=no`; commands run in the container with `nsenter` on its PID 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("EDGE_AGENT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ["systemd", "dbus", "python3", "python3-venv", "openssh-server", "iproute2", "sudo"]
ROOTFS_CACHE = Path(os.environ.get("EDGE_AGENT_ROOTFS_CACHE", "/var/cache/edge-agent-tests"))
BOOT_DEADLINE_S = 120.0


def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "a systemd container needs root"
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt: debootstrap systemd-container util-linux)"
    return None


def rootfs_key() -> str:
    return hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(PACKAGES)}".encode()).hexdigest()[:16]


def cached_rootfs() -> Path:
    """The cached root file system; debootstrap (a few minutes, ~300 MB) when it is absent."""
    root = ROOTFS_CACHE / f"rootfs-{rootfs_key()}"
    if (root / "usr" / "lib" / "systemd" / "systemd").exists():
        return root
    building = root.with_name(f"{root.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
                    str(building), MIRROR], check=True, capture_output=True, timeout=1800)  # fmt: skip
    (building / "etc" / "hostname").write_text("cabinet\n")
    building.rename(root)  # atomic: a half-built tree is never taken for the cache
    return root


class Container:
    """One booted container; `run` executes a command inside it (as root, all namespaces)."""

    def __init__(self, rootfs: Path, log: Path, binds: list[Path]) -> None:
        self.rootfs = rootfs
        self.log = log
        self.binds = binds
        self.machine = f"ea-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
        self.process: subprocess.Popen[bytes] | None = None
        self.leader = 0

    def boot(self) -> Container:
        argv = ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--volatile=overlay",
                f"--machine={self.machine}", "-D", str(self.rootfs), *[f"--bind={b}" for b in self.binds],
                "--boot"]  # fmt: skip
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
        self.leader = self._find_leader()
        self._wait_running()
        return self

    def _find_leader(self) -> int:
        """The container's PID 1 is the child of systemd-nspawn that runs /usr/lib/systemd/systemd."""
        assert self.process is not None
        deadline = time.monotonic() + BOOT_DEADLINE_S
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            for pid in children.read_text().split() if children.exists() else []:
                return int(pid)
            if self.process.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError("the container's init did not start")

    def _wait_running(self) -> None:
        deadline = time.monotonic() + BOOT_DEADLINE_S
        while time.monotonic() < deadline:
            state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the container did not finish booting: {state}")

    def run(self, *argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = ("nsenter", "-t", str(self.leader), "-a", *argv)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=check)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.run("systemctl", "poweroff", "--no-block", check=False, timeout=10)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@contextlib.contextmanager
def booted(log: Path, binds: list[Path]) -> Iterator[Container]:
    container = Container(cached_rootfs(), log, binds)
    try:
        yield container.boot()
    finally:
        container.stop()
