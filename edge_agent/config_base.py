"""Building blocks shared by every configuration section: the strict base model, ids and secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationInfo

# Ids become MQTT topic levels and file names: no wildcards, no slashes, no spaces.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[
    str, Field(pattern=ID_PATTERN, description="Letters, digits, '_', '.', '-'; 1-64 characters.")
]


class StrictModel(BaseModel):
    """Frozen, and an unknown key is an error: a typo in the config must never be silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _read_secret(value: Any, info: ValidationInfo) -> SecretStr:
    if isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        raise ValueError("inline secrets are not allowed; write {env: NAME} or {file: PATH}")
    if not isinstance(value, dict) or len(value) != 1 or not ({"env", "file"} & set(value)):
        raise ValueError("expected {env: NAME} or {file: PATH}")
    context = info.context or {}
    if "env" in value:
        environ = context.get("environ", os.environ)
        name = str(value["env"])
        if name not in environ:
            raise ValueError(f"environment variable {name} is not set")
        return SecretStr(environ[name])
    path = Path(str(value["file"]))
    if not path.is_absolute():
        path = Path(context.get("base_dir", ".")) / path
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None


Secret = Annotated[
    SecretStr,
    BeforeValidator(_read_secret),
    Field(
        description="A secret, never written inline: {env: NAME} or {file: PATH} (relative to the config)."
    ),
]
