"""One full check of a 16-camera cabinet against the ONVIF simulator: wall time, CPU, memory.

The simulators run in a separate process (their CPU is not the agent's). Run:
    .venv/bin/python benchmarks/onvif_cameras.py [--cameras 16] [--rounds 5]
Goal: 16 cameras checked in < 2 s wall, < 0.3 MB RSS added per camera, <= 15 MB for the import
and the first camera together (issue 16). Last measured (2026-11-30, 16 cameras, two runs each):
fixed cost 38.7 -> 31.7 MB (import 29.8 -> 22.8, first camera's WSDL types 9.0), per further
camera about 220 KB. Then (2026-11-30, 4 cameras, main and this back to back, two runs each): the
WSDLs cut to the operations called (devices/onvif_camera/wsdl_trim.py) take the first camera
8.5 -> 3.3 MB, the fixed cost 31.5 -> 26.4 MB; per further camera 240 KB (300 before, 4 cameras).
Since measured over the agent's runtime imports (what adding a camera costs; `--bare`: the former
basis): 29.5 -> 24.3 MB (4 cameras, back to back); 16 cameras: 24.0 MB, 165 KB per further camera.
The goal is not met: what is left and a measured route, benchmarks/camera_stack_without_aiohttp.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

logging.basicConfig(level=logging.WARNING)  # before the onvif import, as the agent does

PASSWORD = "bench-password"


def _rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _start_simulators(workdir: Path, count: int) -> tuple[subprocess.Popen[str], list[int]]:
    (workdir / "cam.pass").write_text(PASSWORD)
    vendors = ["hikvision", "dahua", "axis"]
    scenario = {
        "user": "admin",
        "password_file": "cam.pass",
        "cameras": [{"state": "healthy", "vendor": vendors[i % 3]} for i in range(count)],
    }
    (workdir / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent.simulators.onvif_camera",
            "--scenario",
            str(workdir / "scenario.yaml"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ports = []
    for _ in range(count):
        line = process.stdout.readline()  # "camera <vendor> on http://127.0.0.1:<port> (rtsp port N)"
        ports.append(int(line.split("http://127.0.0.1:")[1].split()[0]))
    return process, ports


def _agent_runtime() -> None:
    """Import what every cabinet's agent has loaded before its first camera (the runtime, the CLI,
    the outbox's sqlite3, ssl...), so that the fixed cost is what adding a camera costs."""
    import edge_agent.cli
    import edge_agent.runtime.agent  # noqa: F401  # imported for its memory, not its names


async def _bench(ports: list[int], rounds: int, workdir: Path, *, bare: bool) -> None:
    from pydantic import SecretStr

    from edge_agent.devices.base import DeviceContext
    from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
    from edge_agent.devices.shared_resources import SharedResources

    rss_start = _rss_mb()
    from edge_agent.devices.onvif_camera.poller import OnvifCameraPoller

    rss_imported = _rss_mb()
    context = DeviceContext(workdir, SharedResources())

    def make(index: int, port: int) -> OnvifCameraPoller:
        config = OnvifCameraConfig.model_validate(
            {
                "type": "onvif_camera",
                "device_id": f"cam{index}",
                "host": "127.0.0.1",
                "port": port,
                "username": "admin",
                "password": SecretStr(PASSWORD),
                "rtsp_probe": True,
            }
        )
        return OnvifCameraPoller(config, context)

    first = make(0, ports[0])
    await first.open()
    await first.poll()  # loads the WSDLs once per process
    rss_one = _rss_mb()
    pollers = [first] + [make(i, port) for i, port in enumerate(ports[1:], start=1)]
    for poller in pollers[1:]:
        await poller.open()
    timings = []
    for round_index in range(rounds):
        for poller in pollers:
            for check in ("identity", "streams", "storage", "retention"):
                poller.schedule.make_due(check)
        if round_index == 0:
            await first.session.reset()  # the cold round rediscovers every camera's services
        wall, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(poller.poll() for poller in pollers))
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
        bad = [r for r in results if r.faults or r.missing_evidence]
        assert not bad, bad[0]
    rss_all = _rss_mb()
    for poller in pollers:
        await poller.close()
    count = len(pollers)
    print(f"cameras: {count} (all checks due each round: probe, identity, streams + RTSP, SD, retention)")
    print(f"import onvif + poller: +{rss_imported - rss_start:.1f} MB RSS")
    print(f"first camera incl. WSDL load: +{rss_one - rss_imported:.1f} MB RSS")
    print(f"camera stack fixed cost (import + first camera): {rss_one - rss_start:.1f} MB (goal <= 15 MB)")
    print("  measured over " + ("the camera's config alone" if bare else "the agent's runtime imports"))
    print(f"per further camera: {(rss_all - rss_one) / (count - 1) * 1024:.0f} KB RSS")
    cold_wall, cold_cpu = timings[0]
    print(f"cold full check (service discovery): wall {cold_wall:.3f} s, CPU {cold_cpu:.3f} s")
    warm = timings[1:]
    if warm:
        print(
            f"warm full check x{len(warm)}: wall median {sorted(w for w, _ in warm)[len(warm) // 2]:.3f} s "
            f"(max {max(w for w, _ in warm):.3f}), "
            f"CPU median {sorted(c for _, c in warm)[len(warm) // 2]:.3f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--bare", action="store_true", help="measure over the camera config alone, not the agent's runtime"
    )
    args = parser.parse_args()
    if not args.bare:
        _agent_runtime()
    with tempfile.TemporaryDirectory() as tmp:
        process, ports = _start_simulators(Path(tmp), args.cameras)
        try:
            asyncio.run(_bench(ports, args.rounds, Path(tmp), bare=args.bare))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
