"""The `mqtt:` section of the configuration."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from edge_agent.config_base import Secret, StrictModel

PREFIX_PATTERN = r"^[^$+#/\s][^+#/\s]*(/[^+#/\s]+)*$"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TlsConfig(StrictModel):
    ca_file: Path | None = Field(
        None, description="CA bundle that signed the broker's certificate; system CAs if absent."
    )
    cert_file: Path | None = Field(
        None, description="Client certificate, for brokers that authenticate cabinets by certificate."
    )
    key_file: Path | None = Field(None, description="Private key of the client certificate.")
    server_hostname: str | None = Field(
        None, description="Name to check the broker certificate against, when it differs from `host`."
    )

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        return self


class MqttConfig(StrictModel):
    host: str = Field(description="Broker host name or address.")
    port: int | None = Field(None, ge=1, le=65535, description="Broker port; 8883 with TLS, 1883 without.")
    tls: TlsConfig | Literal[False] | None = Field(
        None,
        description=(
            "TLS settings. Omitted: TLS with system CAs, except to a loopback broker. "
            "`false`: plaintext, which must be asked for explicitly."
        ),
    )
    username: str | None = Field(None, description="Broker user name.")
    password: Secret | None = None
    client_id: str | None = Field(None, description="MQTT client id; default `edge-<cabinet id>`.")
    prefix: Annotated[str, Field(pattern=PREFIX_PATTERN)] = Field(
        "edge", description="First topic levels, before `v1/<cabinet_id>`; no `+`, `#` or leading `$`."
    )
    protocol: Literal["auto", "5", "3.1.1"] = Field(
        "auto", description="MQTT version; `auto` tries 5 and falls back to 3.1.1."
    )
    keepalive_s: int = Field(
        25,
        ge=5,
        le=3600,
        description="Keepalive: the broker publishes our last will 1.5 x this after the last packet"
        " (25 s -> ~38 s, within a 45 s detection target); shorter = faster detection of a cabinet"
        " lost to a power or silent uplink cut, more idle uplink bytes (docs/mqtt.md).",
    )
    connect_timeout_s: float = Field(10, gt=0, le=120, description="Time allowed for TCP, TLS and CONNACK.")
    reconnect_min_s: float = Field(
        1, gt=0, description="First reconnect delay; doubles up to reconnect_max_s, jittered."
    )
    reconnect_max_s: float = Field(120, gt=0, description="Longest reconnect delay.")
    max_inflight: int = Field(200, ge=1, le=65535, description="QoS 1 messages awaiting PUBACK at once.")
    telemetry_qos: Literal[0, 1] = Field(
        1, description="QoS of telemetry; events, state and reports are always 1."
    )
    telemetry_units: Literal["inline", "meta"] = Field(
        "inline",
        description=(
            "`inline`: every telemetry message carries its units (v1.0 form). `meta`: units go once in "
            "the retained `device/<id>/meta` message (v1.1 compact form, about a third fewer bytes; "
            "the setting for new cabinets)."
        ),
    )

    @model_validator(mode="after")
    def _plaintext_only_when_asked(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must not be below reconnect_min_s")
        return self

    @property
    def uses_tls(self) -> bool:
        if self.tls is None:
            return not is_loopback(self.host)
        return self.tls is not False

    @property
    def effective_port(self) -> int:
        return self.port or (8883 if self.uses_tls else 1883)
