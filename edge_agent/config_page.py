"""The `diagnostics:` section: the technician's page served by the agent at the cabinet.

Importing this module must stay light (no aiohttp): the agent without the page stays small.
It lives beside the root config, not in `diagnostics/`: the page reads the whole config, so the
config cannot import from the page's package (tests/unit/test_import_rules.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from edge_agent.config_base import StrictModel

Language = Literal["zh-CN", "en"]


class DiagnosticsTls(StrictModel):
    cert_file: Path = Field(description="PEM certificate (chain) served by the page; relative to the config.")
    key_file: Path = Field(description="PEM private key of the certificate; relative to the config.")

    @field_validator("cert_file", "key_file")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)


class DiagnosticsConfig(StrictModel):
    enabled: bool = Field(False, description="Serve the diagnostics page from the agent.")
    listen: str = Field(
        "127.0.0.1",
        description="Address to listen on: the maintenance interface's. Never 0.0.0.0 unless set here.",
    )
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the page.")
    users_file: Path = Field(
        Path("users.json"),
        validate_default=True,  # so the default, too, is relative to the config
        description="Local accounts (scrypt hashes), managed by `edge-agent user`; relative to the config.",
    )
    default_language: Language = Field(
        "zh-CN", description="Language when neither the switch nor the browser picks zh-CN or en."
    )
    tls: DiagnosticsTls | None = Field(None, description="Serve HTTPS with this certificate.")
    session_lifetime_s: int = Field(
        8 * 3600, ge=60, le=7 * 86400, description="A login lasts this long (a night shift)."
    )
    lockout_after_failures: int = Field(
        10, ge=3, le=1000, description="Failed logins (per user name or per address) before a lockout."
    )
    lockout_s: int = Field(300, ge=10, le=86400, description="How long a lockout lasts.")
    history_hours: float = Field(6, gt=0, le=48, description="Hours of readings kept for the sparklines.")

    @field_validator("users_file")
    @classmethod
    def _users_relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)

    @model_validator(mode="after")
    def _listen_is_an_address(self) -> DiagnosticsConfig:
        if not self.listen or any(ch.isspace() for ch in self.listen):
            raise ValueError("listen must be one address, e.g. 127.0.0.1 or the maintenance port's")
        return self


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if value.is_absolute() or base is None:
        return value
    return Path(base) / value
