"""Local accounts of the diagnostics page: a JSON file of scrypt hashes, managed by `edge-agent user`.

No aiohttp here: the CLI uses this module on a cabinet where the page may be disabled.
The file is written atomically (temp file + rename) with mode 0600.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edge_agent.errors import UserError

Role = Literal["viewer", "technician"]
ROLES: tuple[Role, ...] = ("viewer", "technician")
USERNAME_MAX = 64
PASSWORD_MIN = 8
# scrypt cost: ~50 ms and 16 MiB on a Raspberry Pi 4; slow enough against offline guessing of a
# stolen file, cheap enough for a login. Stored with each hash so it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 2**20


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` (base64): self-describing so the cost can change without a migration."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


@functools.cache
def _dummy_hash() -> str:
    """A valid hash of a random password: unknown user names cost the same time as known ones."""
    return hash_password(secrets.token_urlsafe(16))


class UserStore:
    """The users file. Reads it on every lookup, so `edge-agent user passwd` takes effect at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, User]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.path}: unreadable users file: {exc}") from exc
        users = {}
        for name, entry in (raw.get("users") or {}).items() if isinstance(raw, dict) else []:
            if isinstance(entry, dict) and entry.get("role") in ROLES and isinstance(entry.get("hash"), str):
                users[name] = User(name, entry["role"], entry["hash"])
        return users

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.load().get(name)
        if user is None:
            verify_password(password, _dummy_hash())
            return None
        return user if verify_password(password, user.password_hash) else None

    def add(self, name: str, password: str, role: Role) -> None:
        users = self.load()
        if name in users:
            raise UserError(f"user {name!r} exists; use `edge-agent user passwd`")
        _check_name(name)
        users[name] = User(name, _check_role(role), hash_password(_check_password(password)))
        self._save(users)

    def passwd(self, name: str, password: str, role: Role | None = None) -> None:
        users = self.load()
        if name not in users:
            raise UserError(f"no user {name!r}")
        new_role = _check_role(role) if role else users[name].role
        users[name] = User(name, new_role, hash_password(_check_password(password)))
        self._save(users)

    def remove(self, name: str) -> None:
        users = self.load()
        if users.pop(name, None) is None:
            raise UserError(f"no user {name!r}")
        self._save(users)

    def _save(self, users: dict[str, User]) -> None:
        document = {"users": {u.name: {"role": u.role, "hash": u.password_hash} for u in users.values()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _check_name(name: str) -> str:
    if not name or len(name) > USERNAME_MAX or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise UserError(f"user name: 1-{USERNAME_MAX} letters, digits, '.', '_' or '-'")
    return name


def _check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise UserError(f"password: at least {PASSWORD_MIN} characters")
    return password


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    return role


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)
