"""`{credential: NAME}` secrets: systemd's LoadCredential= folder, named by CREDENTIALS_DIRECTORY."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.errors import ConfigError


def write_config(tmp_path: Path, name: str) -> Path:
    config = tmp_path / "agent.yaml"
    config.write_text(f"cabinet: {{id: c1}}\nmqtt: {{host: 127.0.0.1, password: {{credential: '{name}'}}}}\n")
    return config


def test_reads_the_credential(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text("s3cret\n")
    config = load_config(
        write_config(tmp_path, "mqtt-password"), environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}
    )
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("name", "environ", "message"),
    [
        ("mqtt-password", {}, "CREDENTIALS_DIRECTORY is not set"),
        ("absent", {"CREDENTIALS_DIRECTORY": "."}, "cannot read secret file"),
        ("../etc/passwd", {"CREDENTIALS_DIRECTORY": "."}, "credential name"),
    ],
)
def test_problems_name_the_key_and_never_the_secret(
    tmp_path: Path, name: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, name), environ=environ)
    (problem,) = caught.value.problems
    assert problem.path == "mqtt.password"
    assert message in problem.message
