"""The simulated bench from real pieces: network namespaces, a bridge, veth uplinks, real faults.

    centre namespace                       cabinet namespace (one per simulated cabinet)
    ────────────────                       ──────────────────────────────────────────────
    mosquitto :1883 ── upN ═══ veth ═══ uplink (10.77.N.2)   agent ── lan0 bridge 192.168.10.0/24
       │               (10.77.N.1)                                     ├ cameras .11 .12 ...
       └ Unix socket in the run folder: the suite's central subscriber      └ relay board .2:502

Faults are what they would be in the field: a DROP rule (a silent cut: packets vanish, nothing
answers), `tc netem` (loss, latency), `ip link set down`, SIGKILL. Namespace names carry the pid
and a random tag, so runs never meet; `close` removes everything this bench made. Only the suite's
Unix socket and files in its run folder are shared with this machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_DEADLINE_S = 20.0
HERE = Path(__file__).parent


def unavailable_reason() -> str | None:
    """Why this machine cannot host the simulated bench (None: it can)."""
    if os.geteuid() != 0:
        return "the simulated bench needs root (ip netns, tc, nft), as in CI"
    for tool in ("ip", "nft", "mosquitto", "socat"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (./dev.sh setup installs it)"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing (the impaired uplink is a pair of TAP devices)"
    return None


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done


@dataclass
class Namespace:
    name: str

    def exec(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(*self.exec(*argv), check=check)


@dataclass
class Process:
    """A child started in a namespace; its output goes to a log in the run folder."""

    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str] | None = None) -> Process:
        with self.log.open("ab") as output:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
        return self

    def signal(self, sig: signal.Signals, timeout: float = 30) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def signal_only(self, sig: signal.Signals) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class SimulatedCabinet:
    """One cabinet namespace: its uplink, LAN, hardware rig and agent."""

    index: int
    ns: Namespace
    workdir: Path
    centre_address: str
    cabinet_id: str = ""
    uplink: str = "uplink"
    rig: Process | None = None
    agent: Process | None = None
    wire: Process | None = None
    config: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"10.77.{self.index}.2"

    @property
    def wire_settings(self) -> Path:
        return self.workdir / "wire.json"

    @property
    def control(self) -> Path:
        return self.workdir / "rig.sock"

    def start_agent(self) -> None:
        assert self.config is not None
        argv = self.ns.exec(sys.executable, "-m", "edge_agent", "run", "--config", str(self.config))
        self.agent = Process(argv, self.workdir / "agent.log").start({"PYTHONUNBUFFERED": "1"})

    def kill_agent(self) -> None:
        """SIGKILL: the agent has no chance to say goodbye (a crash, or the power gone)."""
        assert self.agent is not None
        self.agent.signal(signal.SIGKILL)

    def stop_agent(self) -> None:
        if self.agent is not None:
            self.agent.signal(signal.SIGTERM)

    def rig_call(self, method: str, path: str, body: Any = None) -> Any:
        """One request to the rig's control API (HTTP over its Unix socket)."""
        payload = b"" if body is None else json.dumps(body).encode()
        request = (
            f"{method} {path} HTTP/1.0\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(10)
            conn.connect(str(self.control))
            conn.sendall(request)
            answer = b"".join(iter(lambda: conn.recv(65536), b""))
        head, _, body_bytes = answer.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise AssertionError(f"rig {method} {path}: {answer[:300]!r}")
        return json.loads(body_bytes)

    # --- uplink faults ----------------------------------------------------------------------------

    def cut_uplink_silently(self) -> None:
        """Packets to and from the centre vanish: no RST, no ICMP, the link LED stays green."""
        self.ns.run("nft", "add", "table", "inet", "hilcut")
        self.ns.run("nft", "add", "chain", "inet", "hilcut", "out", "{ type filter hook output priority 0; }")
        self.ns.run("nft", "add", "chain", "inet", "hilcut", "in", "{ type filter hook input priority 0; }")
        self.ns.run("nft", "add", "rule", "inet", "hilcut", "out", "oifname", self.uplink, "drop")
        self.ns.run("nft", "add", "rule", "inet", "hilcut", "in", "iifname", self.uplink, "drop")

    def restore_uplink(self) -> None:
        self.ns.run("nft", "delete", "table", "inet", "hilcut", check=False)
        self.clean_uplink()
        self.ns.run("ip", "link", "set", self.uplink, "up")

    def degrade_uplink(self, loss_percent: float, delay_ms: int) -> None:
        """Loss and delay on each direction of the uplink (the cabinet must be made with `wire=True`)."""
        assert self.wire is not None, "an impaired uplink needs the cabinet built with wire=True"
        self.wire_settings.write_text(json.dumps({"loss_percent": loss_percent, "delay_ms": delay_ms}))
        self.wire.signal_only(signal.SIGHUP)

    def clean_uplink(self) -> None:
        if self.wire is not None:
            self.degrade_uplink(0, 0)

    def uplink_down(self) -> None:
        self.ns.run("ip", "link", "set", self.uplink, "down")


class SimulatedBench:
    """The centre namespace with its broker, and the cabinets joined to it by veth uplinks."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tag = f"{os.getpid()}-{secrets.token_hex(2)}"
        self.centre = Namespace(f"hil-{self.tag}-centre")
        self.cabinets: list[SimulatedCabinet] = []
        self.broker: Process | None = None
        self.broker_socket = workdir / "centre.sock"
        self._namespaces: list[Namespace] = []
        self._lock = threading.Lock()
        self._next_index = 0

    def start(self) -> SimulatedBench:
        sweep_orphans()
        self._add(self.centre)
        self.start_broker()
        return self

    def _add(self, ns: Namespace) -> None:
        run("ip", "netns", "add", ns.name)
        with self._lock:
            self._namespaces.append(ns)
        ns.run("ip", "link", "set", "lo", "up")

    # --- the centre -----------------------------------------------------------------------------

    def start_broker(self) -> None:
        conf = self.workdir / "centre-mosquitto.conf"
        conf.write_text(
            # Persistent, as a centre's broker is: the centre's session survives a broker restart.
            f"user root\nallow_anonymous true\npersistence true\npersistence_location {self.workdir}/\n"
            f"set_tcp_nodelay true\nlistener 1883 0.0.0.0\nlistener 0 {self.broker_socket}\n"
        )
        self.broker_socket.unlink(missing_ok=True)
        self.broker = Process(
            self.centre.exec("mosquitto", "-c", str(conf)), self.workdir / "centre.log"
        ).start()
        _wait(lambda: self.broker_socket.exists(), "the centre broker's socket", self.broker)

    def stop_broker(self) -> None:
        assert self.broker is not None
        self.broker.signal(signal.SIGTERM)

    # --- cabinets -------------------------------------------------------------------------------

    def add_cabinet(self, name: str, lan_addresses: list[str], *, wire: bool = False) -> SimulatedCabinet:
        """A cabinet namespace joined to the centre by a veth pair, or by an impairable `wire`."""
        with self._lock:  # cabinets are added from the long runs' threads too
            index = self._next_index = self._next_index + 1
        ns = Namespace(f"hil-{self.tag}-{name}")
        self._add(ns)
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        cabinet = SimulatedCabinet(index, ns, workdir, f"10.77.{index}.1")
        centre_end = f"up{index}"
        if wire:
            self._wire(cabinet, centre_end)
        else:
            veth = (
                "link",
                "add",
                centre_end,
                "type",
                "veth",
                "peer",
                "name",
                cabinet.uplink,
                "netns",
                ns.name,
            )
            self.centre.run("ip", *veth)
        self.centre.run("ip", "addr", "add", f"{cabinet.centre_address}/30", "dev", centre_end)
        self.centre.run("ip", "link", "set", centre_end, "up")
        ns.run("ip", "addr", "add", f"{cabinet.address}/30", "dev", cabinet.uplink)
        ns.run("ip", "link", "set", cabinet.uplink, "up")
        ns.run("ip", "link", "add", "lan0", "type", "bridge")
        # A port (one end of a veth pair), so the bridge has carrier like a switch with a cable in.
        ns.run("ip", "link", "add", "lanport0", "type", "veth", "peer", "name", "lanpeer0")
        ns.run("ip", "link", "set", "lanport0", "master", "lan0")
        for address in ["192.168.10.1", *lan_addresses]:
            ns.run("ip", "addr", "add", f"{address}/24", "dev", "lan0")
        for dev in ("lanpeer0", "lanport0", "lan0"):
            ns.run("ip", "link", "set", dev, "up")
        cabinet.extra["centre_end"] = centre_end
        with self._lock:
            self.cabinets.append(cabinet)
        return cabinet

    def _wire(self, cabinet: SimulatedCabinet, centre_end: str) -> None:
        """Two TAP devices and hil_tests/wire.py between them (this kernel may lack `tc netem`)."""
        self.centre.run("ip", "tuntap", "add", "dev", centre_end, "mode", "tap")
        cabinet.ns.run("ip", "tuntap", "add", "dev", cabinet.uplink, "mode", "tap")
        cabinet.wire_settings.write_text(json.dumps({"loss_percent": 0, "delay_ms": 0}))
        argv = [
            sys.executable,
            str(HERE / "wire.py"),
            str(cabinet.wire_settings),
            self.centre.name,
            centre_end,
            cabinet.ns.name,
            cabinet.uplink,
        ]
        log = cabinet.workdir / "wire.log"
        cabinet.wire = Process(argv, log).start()
        _wait(lambda: "wire ready" in log.read_text(errors="replace"), "the uplink wire", cabinet.wire)

    def start_rig(self, cabinet: SimulatedCabinet, spec: dict[str, Any]) -> None:
        path = cabinet.workdir / "rig.json"
        path.write_text(json.dumps({**spec, "control": str(cabinet.control)}))
        cabinet.control.unlink(missing_ok=True)
        rig = Process(
            cabinet.ns.exec(sys.executable, str(HERE / "rig.py"), str(path)), cabinet.workdir / "rig.log"
        )
        cabinet.rig = rig.start()
        _wait(lambda: cabinet.control.exists(), f"the rig of {cabinet.ns.name}", rig)

    def close(self) -> None:
        """Stop every process in the bench's namespaces (only ours: they are private), delete them."""
        for cabinet in self.cabinets:
            cabinet.stop_agent()
            for helper in (cabinet.rig, cabinet.wire):
                if helper is not None:
                    helper.signal(signal.SIGTERM)
        if self.broker is not None:
            self.broker.signal(signal.SIGTERM)
        for ns in self._namespaces:
            pids = run("ip", "netns", "pids", ns.name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            run("ip", "netns", "delete", ns.name, check=False)


def sweep_orphans() -> None:
    """Delete benches left by runs that were killed (their pid is gone): SIGKILL skips every finally."""
    for line in run("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if (
            len(parts) < 4
            or parts[0] != "hil"
            or not parts[1].isdigit()
            or Path(f"/proc/{parts[1]}").exists()
        ):
            continue
        for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        run("ip", "netns", "delete", name, check=False)


def _wait(ready: Any, what: str, process: Process) -> None:
    """Wait for a child's readiness mark (a socket file: no event crosses the process boundary)."""
    deadline = time.monotonic() + START_DEADLINE_S
    while not ready():
        if not process.alive:
            raise RuntimeError(f"{what} exited: {process.log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {START_DEADLINE_S} s: {process.log}")
        time.sleep(0.05)
