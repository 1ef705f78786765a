"""A controller and a cabinet test host in two network namespaces, joined by a veth pair.

Everything this module creates lives inside namespaces it made itself: the two addresses of the
/30 below exist only there, so no other machine or address is ever reached. The file system is
shared with this machine; callers install under a per-test folder.

The cabinet namespace runs a real OpenSSH server (generated host key, one authorized key) and a
mosquitto broker on its own loopback for the agents installed there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

CONTROLLER_ADDRESS = "10.213.77.1"
CABINET_ADDRESS = "10.213.77.2"
PREFIX_LENGTH = 30
START_DEADLINE_S = 15.0


def unavailable_reason() -> str | None:
    """Why this machine cannot host the namespaces (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (ip netns, sshd)"
    for tool in ("ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt: iproute2 openssh-client)"
    if not Path("/usr/sbin/sshd").exists():
        return "sshd is not installed (apt: openssh-server)"
    probe = f"ea-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30)
    if made.returncode != 0:
        return f"ip netns add is not allowed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True, timeout=30, check=False)
    return None


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


class NetnsLab:
    """Two namespaces, a veth pair, sshd and mosquitto in the cabinet namespace."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        tag = secrets.token_hex(3)
        self.controller_ns = f"ea-ctl-{tag}"
        self.cabinet_ns = f"ea-cab-{tag}"
        self._veth = (f"eac{tag}", f"eak{tag}")
        self.ssh_dir = workdir / "ssh"
        self.client_key = self.ssh_dir / "client_key"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> NetnsLab:
        for ns in (self.controller_ns, self.cabinet_ns):
            _run("ip", "netns", "add", ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        ctl, cab = self._veth
        _run("ip", "-n", self.controller_ns, "link", "add", ctl, "type", "veth", "peer", "name", cab,
             "netns", self.cabinet_ns)  # fmt: skip
        for ns, dev, address in (
            (self.controller_ns, ctl, CONTROLLER_ADDRESS),
            (self.cabinet_ns, cab, CABINET_ADDRESS),
        ):
            _run("ip", "-n", ns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")
        self._start_sshd()
        self._start_broker()
        self._wait_ssh()
        return self

    def in_controller(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.controller_ns, *argv]

    def in_cabinet(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.cabinet_ns, *argv]

    def _spawn(self, argv: list[str], log: Path) -> None:
        with log.open("ab") as output:
            self._processes.append(
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
            )

    def _start_sshd(self) -> None:
        self.ssh_dir.mkdir(mode=0o700)
        host_key = self.ssh_dir / "host_key"
        for key in (host_key, self.client_key):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edge-agent-test", "-f", str(key))
        (self.ssh_dir / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        public = Path(f"{host_key}.pub").read_text().split()
        self.known_hosts.write_text(f"{CABINET_ADDRESS} {public[0]} {public[1]}\n")
        config = self.ssh_dir / "sshd_config"
        config.write_text(
            f"ListenAddress {CABINET_ADDRESS}\nPort 22\nHostKey {host_key}\n"
            f"PidFile {self.ssh_dir}/sshd.pid\nAuthorizedKeysFile {self.ssh_dir}/authorized_keys\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        self._spawn(
            self.in_cabinet("/usr/sbin/sshd", "-D", "-e", "-f", str(config)), self.ssh_dir / "sshd.log"
        )

    def _start_broker(self) -> None:
        config = self.workdir / "mosquitto.conf"
        config.write_text("listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\n")
        config.chmod(0o644)
        self._spawn(self.in_cabinet("mosquitto", "-c", str(config)), self.workdir / "mosquitto.log")

    def ssh_options(self) -> list[str]:
        return [
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-i", str(self.client_key),
        ]  # fmt: skip

    def _wait_ssh(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            probe = subprocess.run(
                self.in_controller("ssh", *self.ssh_options(), "-o", "ConnectTimeout=2",
                                   f"root@{CABINET_ADDRESS}", "true"),
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                log = (self.ssh_dir / "sshd.log").read_text(errors="replace")
                raise RuntimeError(f"sshd in {self.cabinet_ns} did not answer: {probe.stderr}\n{log}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop what runs in the namespaces (only processes started there by this test), then delete them."""
        for ns in (self.controller_ns, self.cabinet_ns):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        for process in self._processes:
            process.wait(timeout=10)
        for ns in (self.controller_ns, self.cabinet_ns):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, timeout=30, check=False)
