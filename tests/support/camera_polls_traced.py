"""Child process of tests/integration/test_camera_malloc.py: camera polls under glibc's malloc trace.

    python -m tests.support.camera_polls_traced PORT USER PASSWORD DATA_DIR WARM_POLLS TRACED_POLLS

Needs `LD_PRELOAD=libc_malloc_debug.so.0` and `MALLOC_TRACE=FILE`. Every check is due at every poll
(the SOAP parsing with lxml and zeep, the vendor API, the RTSP probe). After the warm-up polls the
trace starts; after the traced ones the trace's size is printed: the parent reads it up to there
(closing the poller frees what the polls kept, which must not hide it).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from pathlib import Path

from pydantic import SecretStr

from edge_agent.devices import KINDS
from edge_agent.devices.base import DeviceContext
from edge_agent.devices.shared_resources import SharedResources

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from soak_probe import start_mtrace  # benchmarks is not a package

ALWAYS_DUE = {name: 0.001 for name in ("identity_s", "streams_s", "storage_s", "retention_s")}


async def main(port: int, user: str, password: str, data_dir: Path, warm: int, traced: int) -> None:
    fields = {"type": "onvif_camera", "device_id": "cam", "host": "127.0.0.1", "port": port}
    fields |= {"username": user, "password": SecretStr(password), "timeout_s": 20, "request_timeout_s": 8}
    kind = KINDS["onvif_camera"]
    poller = kind.create_poller(kind.config_model.model_validate({**fields, "checks": ALWAYS_DUE}),
                                DeviceContext(data_dir, SharedResources()))  # fmt: skip
    await poller.open()
    try:
        for _ in range(warm):
            await poller.poll()
        gc.collect()
        if not start_mtrace():
            raise SystemExit("no glibc malloc trace: preload libc_malloc_debug.so.0")
        for _ in range(traced):
            result = await poller.poll()
            assert not result.faults, result.faults  # a camera in trouble takes other paths
        gc.collect()
        print(os.stat(os.environ["MALLOC_TRACE"]).st_size, flush=True)  # where the parent stops reading
    finally:
        await poller.close()


if __name__ == "__main__":
    port, user, password, data_dir, warm, traced = sys.argv[1:]
    asyncio.run(main(int(port), user, password, Path(data_dir), int(warm), int(traced)))
