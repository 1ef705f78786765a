"""Network namespaces for tests: two namespaces joined by a veth pair, and ways to work inside them.

Everything this module creates lives inside namespaces it made itself: the two addresses of the
/30 below exist only there, so no other machine or address is ever reached. The file system is
shared with this machine; callers install under a per-test folder.

Generic parts (shared by the integration tests and the HIL benches):
- `NamespacePair`: two namespaces (names carry the pid and a random tag), a veth pair, addresses.
- `run_in_namespace` / `NamespaceLoop`: run Python code in a namespace, on a thread that entered
  it (setns is per thread; threads and processes it starts inherit it): in-process simulators
  listen there, a subscriber's client connects from there, a `Popen` from there runs there.
- `NamespacePair.silent_cut`: drop every packet between the two (nftables/iptables DROP, no RST,
  no ICMP): a silent uplink cut, not a refusal.

`NetnsLab` (fleet tests) adds a real OpenSSH server and a mosquitto broker in the cabinet side.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000

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
    _delete(probe)
    return None


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def enter_namespace(name: str) -> None:
    """Move the calling thread (only it) into network namespace `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into {name}: {os.strerror(error)}")
    finally:
        os.close(fd)


def run_in_namespace(name: str, work: Callable[[], T], timeout: float = 60) -> T:
    """Run `work` on a new thread inside namespace `name`; what it starts (threads, processes,
    sockets) stays there. Returns its result or raises its exception."""
    result: Future[T] = Future()

    def target() -> None:
        try:
            enter_namespace(name)
            result.set_result(work())
        except BaseException as exc:  # handed to the caller, who re-raises it
            result.set_exception(exc)

    threading.Thread(target=target, name=f"in-{name}", daemon=True).start()
    return result.result(timeout)


class NamespaceLoop:
    """An asyncio loop on its own thread inside a namespace: servers started on it listen there."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        ready: Future[None] = Future()

        def target() -> None:
            try:
                enter_namespace(name)
            except OSError as exc:
                ready.set_exception(exc)
                return
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set_result, None)
            self.loop.run_forever()

        self._thread = threading.Thread(target=target, name=f"loop-{name}", daemon=True)
        self._thread.start()
        ready.result(30)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[[], T], timeout: float = 30) -> T:
        """Run a plain function on the loop's thread (to mutate what lives there safely)."""

        async def call() -> T:
            return function()

        return self.run(call(), timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


class NamespacePair:
    """Two network namespaces joined by a veth pair: `a` holds ADDRESS_A, `b` holds ADDRESS_B."""

    ADDRESS_A = CONTROLLER_ADDRESS
    ADDRESS_B = CABINET_ADDRESS

    def __init__(self, role_a: str = "a", role_b: str = "b") -> None:
        tag = f"{os.getpid()}-{secrets.token_hex(2)}"
        self.a, self.b = f"ea-{role_a}-{tag}", f"ea-{role_b}-{tag}"
        short = secrets.token_hex(3)
        self._veth = (f"eva{short}", f"evb{short}")  # interface names: 15 characters at most
        self._cut: str | None = None

    def start(self) -> NamespacePair:
        try:
            _join((self.a, self.ADDRESS_A), (self.b, self.ADDRESS_B), self._veth)
        except BaseException:
            self.stop()
            raise
        return self

    def exec_argv(self, ns: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    @contextlib.contextmanager
    def silent_cut(self) -> Iterator[float]:
        """Drop every packet between the two namespaces (seen from `b`); yields when it took effect."""
        self.cut()
        try:
            yield time.time()
        finally:
            self.restore()

    def cut(self) -> float:
        """Start dropping (an nftables table in `b`: input and output to/from `a`); returns the time.
        Needs `nft` (apt: nftables)."""
        table = f"eacut{secrets.token_hex(2)}"
        rules = (
            f"table inet {table} {{\n"
            f" chain input {{ type filter hook input priority 0; ip saddr {self.ADDRESS_A} drop; }}\n"
            f" chain output {{ type filter hook output priority 0; ip daddr {self.ADDRESS_A} drop; }}\n"
            "}\n"
        )
        subprocess.run(self.exec_argv(self.b, "nft", "-f", "-"), input=rules.encode(), check=True,
                       capture_output=True, timeout=30)  # fmt: skip
        self._cut = table
        return time.time()

    def restore(self) -> float:
        """Stop dropping; returns the time."""
        if self._cut is not None:
            _run(*self.exec_argv(self.b, "nft", "delete", "table", "inet", self._cut))
            self._cut = None
        return time.time()

    def stop(self) -> None:
        """Kill what still runs in the namespaces (started there by this test), then delete them."""
        for ns in (self.a, self.b):
            _kill_all_in(ns)
            _delete(ns)


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
        _join((self.controller_ns, CONTROLLER_ADDRESS), (self.cabinet_ns, CABINET_ADDRESS), self._veth)
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
            _kill_all_in(ns)
        for process in self._processes:
            process.wait(timeout=10)
        for ns in (self.controller_ns, self.cabinet_ns):
            _delete(ns)


def _join(a: tuple[str, str], b: tuple[str, str], veth: tuple[str, str]) -> None:
    """Two new namespaces (name, address), loopback up, joined by the veth pair *veth* (a end, b end)."""
    for ns, _ in (a, b):
        _run("ip", "netns", "add", ns)
        _run("ip", "-n", ns, "link", "set", "lo", "up")
    _run("ip", "-n", a[0], "link", "add", veth[0], "type", "veth", "peer", "name", veth[1], "netns", b[0])
    for (ns, address), dev in ((a, veth[0]), (b, veth[1])):
        _run("ip", "-n", ns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", dev)
        _run("ip", "-n", ns, "link", "set", dev, "up")


def _kill_all_in(ns: str) -> None:
    """SIGKILL every process in namespace *ns* (the test's own: its names are unique to this run)."""
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30)
    for pid in pids.stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def _delete(ns: str) -> None:
    subprocess.run(["ip", "netns", "delete", ns], capture_output=True, timeout=30, check=False)
