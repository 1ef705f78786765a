"""Building blocks shared by every configuration section: the strict base model, ids and secrets."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationInfo

# Ids become MQTT topic levels and file names: no wildcards, no slashes, no spaces.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[
    str, Field(pattern=ID_PATTERN, description="Letters, digits, '_', '.', '-'; 1-64 characters.")
]

# libyaml's safe loader when PyYAML has it (its wheels and Debian's do): a shipped Modbus profile
# parses in ~4 ms instead of ~30 ms of start-up with the pure-Python one; the same documents.
SAFE_LOADER: type[yaml.CSafeLoader | yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictModel(BaseModel):
    """Frozen, and an unknown key is an error: a typo in the config must never be silently ignored."""

    # Built on first use: a section is validated inside the file's root model, which builds its own
    # validator for it, so a section's own was built for nothing (a host cabinet: 29 models -> 4).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


_SECRET_FORMS = "{env: NAME}, {file: PATH} or {credential: NAME}"  # noqa: S105 - the forms, not a secret
# systemd's LoadCredential= puts each credential in a private directory named by this variable.
CREDENTIALS_VARIABLE = "CREDENTIALS_DIRECTORY"
CREDENTIAL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
SECRET_FILE_MAX_BYTES = 64 * 1024


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`.

    Opened non-blocking and checked on the open descriptor: a FIFO would block the reader (and a
    reload, and the stop that waits for it) forever, and `/dev/zero` never ends. Raises OSError
    when the file cannot be opened, ValueError when it is not a regular file or is too large.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path} is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{path} is larger than {max_bytes} bytes")
    return data


def _read_secret(value: Any, info: ValidationInfo) -> SecretStr:
    if isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        raise ValueError(f"inline secrets are not allowed; write {_SECRET_FORMS}")
    if not isinstance(value, dict) or len(value) != 1 or not ({"env", "file", "credential"} & set(value)):
        raise ValueError(f"expected {_SECRET_FORMS}")
    context = info.context or {}
    environ = context.get("environ", os.environ)
    if "env" in value:
        name = str(value["env"])
        if name not in environ:
            raise ValueError(f"environment variable {name} is not set")
        return SecretStr(environ[name])
    if "credential" in value:
        return _read_file(_credential_path(str(value["credential"]), environ))
    path = Path(str(value["file"]))
    if not path.is_absolute():
        path = Path(context.get("base_dir", ".")) / path
    return _read_file(path)


def _credential_path(name: str, environ: Any) -> Path:
    """A systemd credential (`LoadCredential=NAME:SOURCE` in the unit) by its name."""
    if not CREDENTIAL_NAME_PATTERN.match(name):
        raise ValueError(f"credential name {name!r} must be letters, digits, '_', '.', '-'")
    directory = environ.get(CREDENTIALS_VARIABLE)
    if not directory:
        raise ValueError(
            f"credential {name!r}: {CREDENTIALS_VARIABLE} is not set "
            f"(the unit needs LoadCredential={name}:<file>)"
        )
    return Path(directory) / name


def _read_file(path: Path) -> SecretStr:
    try:
        data = read_regular_file(path, SECRET_FILE_MAX_BYTES)
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"secret file must be a regular file of at most 64 KiB: {exc}") from None
    try:
        return SecretStr(data.decode("utf-8").strip())
    except UnicodeDecodeError:
        raise ValueError(f"secret file {path} is not UTF-8 text") from None


Secret = Annotated[
    SecretStr,
    BeforeValidator(_read_secret),
    Field(
        description=(
            "A secret, never written inline: {env: NAME}, {file: PATH} (relative to the config) or "
            "{credential: NAME} (a systemd credential from LoadCredential=)."
        )
    ),
]
