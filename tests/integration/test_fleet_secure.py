"""The centre's tools reach a fleet broker like a cabinet does: TLS with the hostname checked, a
password from a file, the shipped ACL (user `central`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.agent import running_agent, wait_until, write_config

from edge_agent.fleet.store import Store

pytestmark = pytest.mark.integration

ACL = (Path(__file__).parents[2] / "deploy" / "mosquitto" / "acl").read_text()
PASSWORDS = {"cab-a": "pw-of-cab-a-1234", "central": "pw-central-9999"}


async def test_collector_over_tls_with_password_file_stores_a_cabinets_messages(
    broker_factory, pki, tmp_path: Path
) -> None:
    broker = broker_factory(tls=pki, passwords=PASSWORDS, acl=ACL)
    for user in PASSWORDS:
        (tmp_path / f"{user}.secret").write_text(PASSWORDS[user])
    tls = {"ca_file": str(pki.ca_file)}
    centre = tmp_path / "centre.yaml"
    centre.write_text(
        yaml.safe_dump(
            {
                "mqtt": {
                    "host": "localhost",
                    "port": broker.port,
                    "username": "central",
                    "password": {"file": "central.secret"},
                    "tls": tls,
                }
            }
        )
    )
    database = tmp_path / "fleet.sqlite"
    collector = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent",
            "fleet",
            "collect",
            "--config",
            str(centre),
            "--database",
            str(database),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        agent_config = write_config(
            tmp_path / "cab-a",
            port=broker.port,
            cabinet_id="cab-a",
            devices=[{"type": "host", "device_id": "host"}],
            mqtt={
                "host": "localhost",
                "username": "cab-a",
                "password": {"file": str(tmp_path / "cab-a.secret")},
                "tls": tls,
            },
        )
        check = Store.open(database)
        async with running_agent(agent_config):
            await wait_until(
                lambda: check.query("SELECT COUNT(*) FROM device WHERE cabinet_id = 'cab-a'")[0][0] == 1,
                timeout=30,
            )
        # the clean stop's retained offline status reaches the database too
        await wait_until(
            lambda: check.query("SELECT state FROM cabinet WHERE cabinet_id = 'cab-a'") == [("offline",)]
        )
        check.close()
    finally:
        collector.terminate()
        _, errors = collector.communicate(timeout=30)
    assert PASSWORDS["central"] not in errors
    assert "subscribed" in errors
