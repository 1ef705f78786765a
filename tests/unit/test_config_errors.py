"""Broken configurations: each is refused with the file, the exact key path and what was expected."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.cli import main
from edge_agent.config import load_config
from edge_agent.errors import ConfigError

VALID: dict[str, Any] = {
    "cabinet": {"id": "cab-1"},
    "mqtt": {"host": "127.0.0.1", "username": "cab-1", "password": {"env": "EA_TEST_PW"}},
    "devices": [
        {"type": "host", "device_id": "host"},
        {"type": "pulse", "device_id": "p1"},
    ],
}
ENV = {"EA_TEST_PW": "s3cret-value"}


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set `a.b[2].c` in a copy of document; value DELETE removes the key."""
    result = copy.deepcopy(document)
    node: Any = result
    parts = [part for part in path.split(".") if part]
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node.setdefault(part, {})
    last = parts[-1]
    key: Any = int(last[1:-1]) if last.startswith("[") else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return result


DELETE = object()

# (what is broken, key to change, new value, expected path, words the message must contain)
CASES = [
    ("wrong type", "devices.[0].poll_interval_s", "often", "devices[0].poll_interval_s", "number"),
    ("negative interval", "devices.[0].poll_interval_s", -5, "devices[0].poll_interval_s", "greater than 0"),
    ("zero timeout", "devices.[1].timeout_s", 0, "devices[1].timeout_s", "greater than 0"),
    ("unknown key at root", "mqtt_host", "x", "mqtt_host", "unknown key"),
    ("unknown key in device", "devices.[0].pol_interval_s", 5, "devices[0].pol_interval_s", "unknown key"),
    ("unknown device type", "devices.[1].type", "radar9000", "devices[1]", "radar9000"),
    ("missing device type", "devices.[1].type", DELETE, "devices[1]", "type"),
    ("missing cabinet id", "cabinet.id", DELETE, "cabinet.id", "missing"),
    ("cabinet id with slash", "cabinet.id", "a/b", "cabinet.id", "pattern"),
    ("device id with wildcard", "devices.[0].device_id", "cam+1", "devices[0].device_id", "pattern"),
    ("prefix with +", "mqtt.prefix", "edge/+/x", "mqtt.prefix", "pattern"),
    ("prefix with #", "mqtt.prefix", "edge/#", "mqtt.prefix", "pattern"),
    ("prefix starting with $", "mqtt.prefix", "$SYS", "mqtt.prefix", "pattern"),
    ("port out of range", "mqtt.port", 70000, "mqtt.port", "less than or equal to 65535"),
    ("missing secret", "mqtt.password", {"env": "EA_NOT_SET"}, "mqtt.password", "EA_NOT_SET is not set"),
    ("inline secret", "mqtt.password", "hunter2", "mqtt.password", "inline secrets are not allowed"),
    (
        "secret file missing",
        "mqtt.password",
        {"file": "nope.txt"},
        "mqtt.password",
        "cannot read secret file",
    ),
    ("bad protocol", "mqtt.protocol", "4", "mqtt.protocol", "'auto', '5' or '3.1.1'"),
    (
        "debounce zero",
        "devices.[0].offline_after_failures",
        0,
        "devices[0].offline_after_failures",
        "greater",
    ),
    ("duplicate device id", "devices.[1].device_id", "host", "devices[1].device_id", "duplicate device_id"),
    (
        "limits out of order",
        "devices.[0].limits",
        {"cpu_percent": {"warning": 90, "critical": 50}},
        "devices[0].limits.cpu_percent",
        "critical must not be below warning",
    ),
    ("tls cert without key", "mqtt.tls", {"cert_file": "c.pem"}, "mqtt.tls", "given together"),
    ("devices not a list", "devices", {"type": "host"}, "devices", "list"),
    (
        "negative deadband key type",
        "devices.[0].telemetry.deadband",
        {"cpu": "x"},
        "devices[0].telemetry.deadband.cpu",
        "number",
    ),
]


@pytest.mark.parametrize(("broken", "key", "value", "path", "words"), CASES, ids=[c[0] for c in CASES])
def test_broken_config_names_file_path_and_expectation(
    tmp_path: Path, broken: str, key: str, value: Any, path: str, words: str
) -> None:
    config = tmp_path / "cabinet.yaml"
    config.write_text(yaml.safe_dump(_set(VALID, key, value)))
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ=ENV)
    problems = [p for p in caught.value.problems if p.path == path]
    assert problems, f"no problem at {path}: {caught.value}"
    assert all(p.file == str(config) for p in caught.value.problems)
    assert any(words in p.message for p in problems), str(caught.value)


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    broken = _set(_set(VALID, "devices.[0].poll_interval_s", -1), "mqtt.port", 0)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ=ENV)
    assert {p.path for p in caught.value.problems} >= {"devices[0].poll_interval_s", "mqtt.port"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cabinet: {id: a\n", "invalid YAML: line"),
        ("cabinet: {id: a}\ncabinet: {id: b}\n", "duplicate key 'cabinet'"),
        ("- just\n- a list\n", "expected a mapping"),
        ("", "expected a mapping"),
        ("!!python/object:os.system {}\n", "invalid YAML"),
    ],
)
def test_unreadable_yaml_is_refused_with_its_location(tmp_path: Path, text: str, words: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_config(config)


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_set(VALID, "mqtt.password", "hunter2-inline")))
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ=ENV)
    assert "hunter2" not in str(caught.value)


def test_secret_from_file_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "mqtt.secret").write_text("from-file\n")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_set(VALID, "mqtt.password", {"file": "mqtt.secret"})))
    loaded = load_config(config, environ=ENV)
    assert loaded.mqtt.password is not None
    assert loaded.mqtt.password.get_secret_value() == "from-file"
    assert "from-file" not in repr(loaded) and "from-file" not in loaded.model_dump_json()


def test_plaintext_to_a_remote_broker_needs_explicit_tls_false(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_set(VALID, "mqtt.host", "broker.example")))
    assert load_config(config, environ=ENV).mqtt.uses_tls
    config.write_text(yaml.safe_dump(_set(_set(VALID, "mqtt.host", "broker.example"), "mqtt.tls", False)))
    assert not load_config(config, environ=ENV).mqtt.uses_tls
    config.write_text(yaml.safe_dump(VALID))
    assert not load_config(config, environ=ENV).mqtt.uses_tls  # loopback


def test_check_command_prints_every_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_set(VALID, "devices.[0].timeout_s", -1)))
    assert main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    line = yaml.safe_dump(_set(VALID, "devices.[0].timeout_s", -1)).splitlines().index("  timeout_s: -1") + 1
    assert f"{config}:{line}: devices[host].timeout_s: Input should be greater than 0" in err


# `edge-agent check` as a person reads it: the line of every problem, devices by id, a guess for a
# misspelt key, all problems of the file at once (a duplicate id too), one message per place.
CHECKED = """\
cabinet: {id: K-1}
mqtt: {host: 127.0.0.1}
devices:
  - {type: host, device_id: host}
  - type: serial
    device_id: radar-1
    port: /dev/ttyUSB0
    codec: csr_foo
  - type: host
    device_id: host
  - type: link
    device_id: uplink
    poll_intervl_s: 5
    broker: {host: 127.0.0.1, port: 1883}
"""


def test_check_names_lines_devices_and_the_key_meant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cabinet.yaml"
    config.write_text(CHECKED)
    assert main(["check", "--config", str(config)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"{config}:8: devices[radar-1].codec: Input should be one of 'csr', 'csr_direction', 'csr_ascii',"
        " 'stalker', 'ascii_line', 'vivotek_illuminator' (got 'csr_foo')",
        f"{config}:10: devices[2].device_id: duplicate device_id 'host' (also devices[0])",
        f"{config}:13: devices[uplink].poll_intervl_s: unknown key; did you mean `poll_interval_s`?",
        "3 problem(s) found",
    ]


def test_a_misspelt_key_deep_inside_gets_a_guess(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_set(VALID, "mqtt.keepalive", 30)))
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ=ENV)
    assert "did you mean `keepalive_s`?" in str(caught.value)


def test_shipped_examples_are_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDGE_AGENT_MQTT_PASSWORD", "example")
    monkeypatch.setenv("EDGE_AGENT_CAMERA_PASSWORD", "example")
    for name in ("cabinet.yaml", "demo.yaml"):  # the other files there are simulator scenarios
        example = Path(__file__).parents[2] / "examples" / name
        assert main(["check", "--config", str(example)]) == 0, capsys.readouterr().err


_yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_yaml_values = st.recursive(
    _yaml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    document=st.dictionaries(st.sampled_from(["cabinet", "mqtt", "devices", "storage", "x"]), _yaml_values)
)
def test_any_document_is_either_loaded_or_refused_with_config_error(
    tmp_path_factory: Any, document: Any
) -> None:
    config = tmp_path_factory.mktemp("fuzz") / "c.yaml"
    config.write_text(yaml.safe_dump(document))
    try:
        load_config(config, environ=ENV)
    except ConfigError as exc:
        assert exc.problems and all(p.file == str(config) for p in exc.problems)
