"""Accounts of the diagnostics page: scrypt hashes, the users file, the `edge-agent user` commands."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cli import main
from edge_agent.diagnostics.users import UserStore, hash_password, verify_password
from edge_agent.errors import UserError


def test_hash_is_salted_scrypt_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$") and first != second
    assert verify_password("correct horse", first)
    assert not verify_password("correct hors", first)


@pytest.mark.parametrize(
    "stored", ["", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$!!"]
)
def test_broken_hashes_never_verify(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_store_add_authenticate_passwd_remove(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    store.add("li.wei", "night-shift-1", "technician")
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600
    assert "night-shift-1" not in (tmp_path / "users.json").read_text()
    user = store.authenticate("li.wei", "night-shift-1")
    assert user is not None and user.role == "technician"
    assert store.authenticate("li.wei", "wrong-password") is None
    assert store.authenticate("nobody", "night-shift-1") is None
    store.passwd("li.wei", "day-shift-22", "viewer")
    assert store.authenticate("li.wei", "night-shift-1") is None
    changed = store.authenticate("li.wei", "day-shift-22")
    assert changed is not None and changed.role == "viewer"
    store.remove("li.wei")
    assert store.load() == {}


@pytest.mark.parametrize(
    ("name", "password", "role"),
    [
        ("", "long-enough", "viewer"),
        ("a b", "long-enough", "viewer"),
        ("ok", "short", "viewer"),
        ("ok", "long-enough", "root"),
    ],
)
def test_store_refuses_bad_input(tmp_path: Path, name: str, password: str, role: str) -> None:
    with pytest.raises(UserError):
        UserStore(tmp_path / "users.json").add(name, password, role)  # type: ignore[arg-type]  # a test double or a deliberately wrong value


def test_broken_users_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(UserError):
        UserStore(path).load()
    path.write_text(json.dumps({"users": {"x": {"role": "admin", "hash": "h"}, "y": "junk"}}))
    assert UserStore(path).load() == {}


def test_cli_user_add_list_passwd_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    users = str(tmp_path / "users.json")
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))
    assert (
        main(["user", "--users-file", users, "add", "wang", "--role", "technician", "--password-stdin"]) == 0
    )
    assert main(["user", "--users-file", users, "list"]) == 0
    assert capsys.readouterr().out == "wang\ttechnician\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    assert main(["user", "--users-file", users, "passwd", "wang", "--password-stdin"]) == 0
    assert UserStore(Path(users)).authenticate("wang", "second-password") is not None
    assert main(["user", "--users-file", users, "remove", "wang"]) == 0
    assert main(["user", "--users-file", users, "remove", "wang"]) == 1
    assert "no user 'wang'" in capsys.readouterr().err


def test_the_agent_without_the_page_does_not_load_aiohttp_web() -> None:
    code = "import sys, edge_agent.runtime.agent, edge_agent.cli; print('aiohttp.web' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_cli_finds_the_users_file_through_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cabinet.yaml"
    config.write_text(
        "cabinet: {id: K-1}\nmqtt: {host: 127.0.0.1}\ndiagnostics: {users_file: secret/users.json}\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))
    assert main(["user", "--config", str(config), "add", "zhao", "--password-stdin"]) == 0
    user = UserStore(tmp_path / "secret" / "users.json").authenticate("zhao", "first-password")
    assert user is not None and user.role == "viewer"
