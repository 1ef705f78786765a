"""deploy/ansible/camera-firmware.yml for real: ansible-playbook (local connection, no SSH) against
a cabinet whose agent runs in this test with six simulated cameras. The image goes from the
"controller" folder to the agent's firmware folder, and the agent upgrades the cameras in batches."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from support.mosquitto import Broker
from support.requirements import missing
from support.subscriber import Subscriber
from test_camera_firmware import CABINET, IMAGE, NEW, OLD, start_cabinet

from edge_agent.simulators.onvif_camera.firmware import make_image

pytestmark = pytest.mark.integration

ANSIBLE_DIR = Path(__file__).parents[2] / "deploy" / "ansible"
VENV_BIN = Path(sys.executable).parent


async def playbook(tmp_path: Path, variables: dict[str, Any]) -> tuple[int, str]:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        f"[cabinets]\n{CABINET} ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    environ = {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "ANSIBLE_NOCOLOR": "1"}
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(inventory),
        "camera-firmware.yml",
        "-e",
        f"@{tmp_path / 'vars.json'}",
        cwd=ANSIBLE_DIR,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode()


async def test_playbook_upgrades_six_cameras_then_changes_nothing(
    stack: AsyncExitStack, tmp_path: Path, broker: Broker, subscriber_factory: Callable[..., Subscriber]
) -> None:
    if not (VENV_BIN / "ansible-playbook").exists():
        missing("ansible-playbook is not installed: pip install -e '.[fleet]'")
    (tmp_path / "cabinet").mkdir()
    cabinet = await start_cabinet(stack, tmp_path / "cabinet", broker, subscriber_factory)
    (cabinet.data / "firmware" / IMAGE).unlink()  # the playbook brings it
    controller = tmp_path / "controller"
    controller.mkdir()
    (controller / IMAGE).write_bytes(make_image(NEW, 256 * 1024))
    sha256 = hashlib.sha256((controller / IMAGE).read_bytes()).hexdigest()
    variables = {
        "ansible_become": False,
        "edge_agent_state_dir": str(cabinet.data),
        "edge_agent_cli": str(VENV_BIN / "edge-agent"),
        "edge_agent_user": "root",
        "camera_firmware_image": str(controller / IMAGE),
        "camera_firmware_sha256": "0" * 64,
        "camera_firmware_expected_version": NEW,
        "camera_firmware_devices": list(cabinet.cameras),
        "camera_firmware_batch_size": 2,
        "camera_firmware_timeout_s": 20,
        "camera_firmware_operator": "ansible-test",
    }
    code, out = await playbook(tmp_path, variables)  # wrong digest: refused on the controller
    assert code != 0 and "Refuse an image" in out, out
    assert not (cabinet.data / "firmware" / IMAGE).exists()
    assert all(camera.state.firmware == OLD and not camera.uploads for camera in cabinet.cameras.values())
    code, out = await playbook(tmp_path, {**variables, "camera_firmware_sha256": sha256})
    assert code == 0, out
    assert "failed=0" in out and "changed=0" not in out, out  # the image copied, the cameras upgraded
    assert all(camera.state.firmware == NEW for camera in cabinet.cameras.values())
    code, out = await playbook(tmp_path, {**variables, "camera_firmware_sha256": sha256})
    assert code == 0 and "changed=0" in out, out  # every camera already on the version
    assert all(len(camera.uploads) == 1 for camera in cabinet.cameras.values())
