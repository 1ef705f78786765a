"""A throw-away PostgreSQL server (Debian's `postgresql` package) on a free loopback port.

initdb and postgres refuse to run as root: as root they run as the `postgres` user (started
directly as that user, so the server is our child and stops with it; `runuser` would sit in
between and not pass SIGINT on), in a data directory of their own under the system temp dir
(pytest's tmp dirs are private to root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from .ports import free_port
from .processes import stop_process

_START_DEADLINE_S = 30.0


class PostgresError(RuntimeError):
    """The server could not be set up or started."""


def find_bin_dir() -> Path:
    """Where the newest installed PostgreSQL keeps initdb and postgres."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresError("PostgreSQL is not installed (apt-get install postgresql; ./dev.sh setup does)")
    return Path(found[-1]).parent


class Postgres:
    """`with Postgres() as pg:` a running server; `pg.dsn` names a fresh database `fleet`."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.bin = find_bin_dir()
        self.port = free_port()
        self.fsync = fsync
        self.directory = Path(tempfile.mkdtemp(prefix="edge-pg-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/fleet"

    def start(self) -> Self:
        data = self.directory / "data"
        if self._user:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        log = (self.directory / "postgres.log").open("ab")
        self._process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"fsync={'on' if self.fsync else 'off'}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
        )
        log.close()
        self._wait_ready()
        return self

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
        )
        if result.returncode != 0:
            raise PostgresError(f"{command[0]} failed: {result.stderr[-2000:]}")

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + _START_DEADLINE_S
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PostgresError(f"postgres exited: {self.log_tail()}")
            try:
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                    autocommit=True,
                    connect_timeout=2,
                ) as connection:
                    connection.execute("CREATE DATABASE fleet")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresError(
                        f"postgres not ready in {_START_DEADLINE_S} s: {self.log_tail()}"
                    ) from None
                self._process_wait(0.1)

    def _process_wait(self, seconds: float) -> None:
        # Waiting on the process doubles as the retry delay and the "did it die?" check.
        assert self._process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=seconds)

    def log_tail(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        # SIGINT is postgres' "fast" shutdown: it does not wait for clients to disconnect.
        stop_process(self._process, signal.SIGINT, deadline_s=20)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
