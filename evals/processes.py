"""Local processes on 127.0.0.1 for the organisation topology: a throwaway PostgreSQL cluster,
a Chroma server (`chroma run`) and `copilot serve` replicas.

Shared by the tests (tests/db, tests/knowledge, tests/deploy) and the load benchmark
(`python -m evals.load --topology`), so both run the same topology the same way. Nothing here
listens beyond loopback.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
(Debian's package creates it; `nobody` otherwise) and every server command runs through
`runuser`. Each test gets a database of its own (`create_database`), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

BIN = Path(sys.executable).parent


def terminate(proc: subprocess.Popen[bytes], *, kill_wait_s: float = 20) -> None:
    """SIGTERM a running process and wait; SIGKILL it if it has not ended within 20 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=kill_wait_s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Callable[[], bool], *, deadline_s: float = 120.0) -> None:
    """Poll CHECK until it holds; TimeoutError naming WHAT otherwise. A bound, not a measurement."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not happen within {deadline_s:.0f} s")


def base_env(home: Path, **settings: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's shell, no way to download a model."""
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        **settings,
    }


# -- PostgreSQL --------------------------------------------------------------------------------
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
        self.port = free_port()
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
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
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

    def stop_server(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected), keeping its data."""
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        """Start the server stop_server() stopped, on the same port and data."""
        self._pg_ctl_start()

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


# -- Chroma server -----------------------------------------------------------------------------
class ChromaServer:
    """`chroma run --path DIR` on 127.0.0.1 and a free port; stop() and start() again at will."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChromaServer:
        chroma = Path(sys.executable).parent / "chroma"
        if not chroma.exists():
            chroma = Path(shutil.which("chroma") or "chroma")
        argv = [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*argv, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("chroma server exited at start") from None
                time.sleep(0.2)
        self.proc.kill()
        raise RuntimeError("chroma server did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
        self.proc = None


# -- copilot serve -----------------------------------------------------------------------------


class ReplicaExited(RuntimeError):
    """A replica's process ended while it was expected to serve."""


class Replica:
    """`copilot serve` on 127.0.0.1 and a fixed free port (kept across restarts)."""

    def __init__(self, name: str, root: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = root / f"data-{name}"
        self.env = {**env, "COPILOT_DATA_DIR": str(self.data_dir)}
        self.log_path = root / f"{name}.log"
        self.cwd = root
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Replica:
        argv = [str(BIN / "copilot"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise ReplicaExited(f"replica {self.name} exited:\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, deadline_s: float = 240) -> None:
        wait_until(f"replica {self.name} ready", self.ready, deadline_s=deadline_s)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crashed node."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, kill_wait_s=30)

    def peak_rss_mb(self) -> float | None:
        """The process's peak resident memory (VmHWM), for the manifests' requests."""
        if self.proc is None:
            return None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None
