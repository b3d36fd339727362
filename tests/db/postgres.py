"""A throwaway PostgreSQL cluster for the tests: initdb in a temp dir, on 127.0.0.1, a free port.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
(Debian's package creates it; `nobody` otherwise) and every server command runs through
`runuser`. Each test gets a database of its own (`fresh_database`), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL's bin folder (or the one pg_ctl on PATH is in)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    """The unprivileged user to run the server as, when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root with neither a postgres nor a nobody user to run as")


class PostgresCluster:
    USER = "copilot"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="copilot-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.owner = _run_as()
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None

    def _cmd(self, *argv: str) -> list[str]:
        return ["runuser", "-u", self.owner, "--", *argv] if self.owner else list(argv)

    def _run(self, *argv: str) -> None:
        done = subprocess.run(self._cmd(*argv), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({done.returncode}): {done.stderr[-2000:]}\n{log}"
            )

    def start(self) -> PostgresCluster:
        if self.owner:
            pw = pwd.getpwnam(self.owner)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC "
            "-c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    @property
    def base_url(self) -> str:
        return f"postgresql+psycopg://{self.USER}@127.0.0.1:{self.port}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(
                host="127.0.0.1", port=self.port, user=self.USER, dbname="postgres", autocommit=True
            )
        return self._admin

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.admin().execute(f'CREATE DATABASE "{name}"')
        return f"{self.base_url}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
        with contextlib.suppress(Exception):
            subprocess.run(
                self._cmd(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                ),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.root, ignore_errors=True)
