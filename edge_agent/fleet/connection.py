"""Reaching the fleet broker from the centre: the agent's own `mqtt:` settings (TLS, user, password).

A centre tool takes either `--config FILE` (a YAML file with an `mqtt:` section written exactly
like a cabinet's, see docs/configuration.md) or the same settings as options. MQTT 5 only: shared
subscriptions need it.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import ValidationError

from edge_agent.mqtt.config import MqttConfig


class ConnectionError_(ValueError):
    """The broker settings are not usable; the message says which and why."""


def add_broker_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("broker (or --config FILE with an `mqtt:` section)")
    group.add_argument("--config", "-c", type=Path, help="YAML file whose `mqtt:` section names the broker")
    group.add_argument("--host", help="broker host (default 127.0.0.1)")
    group.add_argument("--port", type=int, help="broker port (default 8883 with TLS, 1883 without)")
    group.add_argument("--prefix", help="topic prefix (default edge)")
    group.add_argument("--username", help="broker user name")
    group.add_argument("--password-file", type=Path, help="file holding the broker password")
    group.add_argument("--password-env", help="environment variable holding the broker password")
    group.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="TLS (default: on, except to a loopback broker)",
    )
    group.add_argument("--ca-file", type=Path, help="CA that signed the broker certificate")
    group.add_argument("--cert-file", type=Path, help="client certificate")
    group.add_argument("--key-file", type=Path, help="client certificate key")


def broker_config(args: argparse.Namespace) -> MqttConfig:
    """The `mqtt:` settings from `--config`, overridden by any option given."""
    section: dict[str, Any] = {}
    base_dir = Path.cwd()
    if args.config is not None:
        try:
            document = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConnectionError_(f"{args.config}: {exc}") from exc
        section = dict(document.get("mqtt") or {}) if isinstance(document, dict) else {}
        base_dir = args.config.parent
    section.setdefault("host", "127.0.0.1")
    _override(section, args)
    try:
        return MqttConfig.model_validate(section, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = "; ".join(f"mqtt.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConnectionError_(problems) from None


def _override(section: dict[str, Any], args: argparse.Namespace) -> None:
    for name in ("host", "port", "prefix", "username"):
        if getattr(args, name, None) is not None:
            section[name] = getattr(args, name)
    if args.password_file is not None:
        section["password"] = {"file": str(args.password_file)}
    if args.password_env is not None:
        section["password"] = {"env": args.password_env}
    tls_files = {
        k: str(v) for k in ("ca_file", "cert_file", "key_file") if (v := getattr(args, k)) is not None
    }
    if args.tls is False:
        section["tls"] = False
    elif tls_files or args.tls:
        tls = section.get("tls")
        section["tls"] = {**(tls if isinstance(tls, dict) else {}), **tls_files}


def new_client(config: MqttConfig, client_id: str, **kwargs: Any) -> paho.Client:
    """A paho MQTT 5 client with the settings' credentials and TLS, not yet connected."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5, **kwargs
    )
    client.connect_timeout = config.connect_timeout_s
    if config.username is not None:
        password = config.password.get_secret_value() if config.password else None
        client.username_pw_set(config.username, password)
    if config.uses_tls:
        client.tls_set_context(_tls_context(config))
    return client


def _tls_context(config: MqttConfig) -> ssl.SSLContext:
    tls = config.tls or None
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls and tls.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls and tls.cert_file and tls.key_file:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    return context
