"""The centre's tools reach a fleet broker like a cabinet does: TLS with the hostname checked, a
password from a file, the shipped ACL (user `central`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.agent import running_agent, wait_until, write_config

from edge_agent.fleet.store import Store

pytestmark = pytest.mark.integration

ACL = (Path(__file__).parents[2] / "deploy" / "mosquitto" / "acl").read_text()
PASSWORDS = {"cab-a": "pw-of-cab-a-1234", "central": "pw-central-9999"}


@pytest.fixture
def fleet_broker(broker_factory: Any, pki: Any, tmp_path: Path) -> Any:
    for user, password in PASSWORDS.items():
        (tmp_path / f"{user}.secret").write_text(password)
    return broker_factory(tls=pki, passwords=PASSWORDS, acl=ACL)


@pytest.fixture
def collector(fleet_broker: Any, pki: Any, tmp_path: Path) -> Iterator[Path]:
    """`edge-agent fleet collect --config centre.yaml`; yields its database. Its log must show the
    subscription and never the password."""
    mqtt = {
        "host": "localhost",
        "port": fleet_broker.port,
        "username": "central",
        "password": {"file": "central.secret"},
        "tls": {"ca_file": str(pki.ca_file)},
    }
    centre = tmp_path / "centre.yaml"
    centre.write_text(yaml.safe_dump({"mqtt": mqtt}))
    database = tmp_path / "fleet.sqlite"
    command = [
        sys.executable,
        "-m",
        "edge_agent",
        "fleet",
        "collect",
        "--config",
        str(centre),
        "-d",
        str(database),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    yield database
    process.terminate()
    log = process.communicate(timeout=30)[1]
    assert "subscribed" in log and PASSWORDS["central"] not in log


async def test_collector_over_tls_with_password_file_stores_a_cabinets_messages(
    fleet_broker: Any, collector: Path, pki: Any, tmp_path: Path
) -> None:
    database = collector
    mqtt = {
        "host": "localhost",
        "username": "cab-a",
        "password": {"file": str(tmp_path / "cab-a.secret")},
        "tls": {"ca_file": str(pki.ca_file)},
    }
    devices = [{"type": "host", "device_id": "host"}]
    config = write_config(
        tmp_path / "cab-a", port=fleet_broker.port, cabinet_id="cab-a", devices=devices, mqtt=mqtt
    )
    check = Store.open(database)
    async with running_agent(config):
        await wait_until(lambda: check.query("SELECT COUNT(*) FROM device")[0][0] == 1, timeout=30)
    # the clean stop's retained offline status reaches the database too
    await wait_until(
        lambda: check.query("SELECT state FROM cabinet WHERE cabinet_id = 'cab-a'") == [("offline",)]
    )
    check.close()
