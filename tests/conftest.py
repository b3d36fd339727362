"""Shared fixtures: real embedding model, real Chroma and SQLite in temp dirs, no network."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
import uvicorn

import copilot  # noqa: F401  - sets the offline environment before anything else loads
from copilot.cli import main as cli_main
from copilot.embedding import Embedder
from copilot.knowledge.models import Chunk
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings, get_settings
from ingest.pipeline import ingest_paths
from tests.db.postgres import PostgresCluster, find_bindir

# One Chromium per session for every browser test (see tests/browser.py).
pytest_plugins = ["tests.browser"]

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KB = REPO / "runbooks"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    """Tests never reach the network: only loopback and unix sockets may connect."""
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    # The suite builds many stores from the same files: each text is embedded once.
    return Embedder(cache_size=50_000)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def sample_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    """The shipped sample knowledge base, ingested once for read-only tests."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("sample-kb"), _env_file=None)  # type: ignore[call-arg]
    kb = KnowledgeBase(settings, embedder)
    report = ingest_paths(kb, [SAMPLE_KB], progress=False)
    assert not report.failed, report.failed
    yield kb
    kb.close()


# Settings a developer's shell may carry that would change what a CLI test sees.
_CLI_ENV = (
    "COPILOT_DATABASE_URL",
    "COPILOT_SEVERITY_FILE",
    "COPILOT_LLM",
    "COPILOT_POSTMORTEM_TEMPLATE",
)


@pytest.fixture
def cli_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """COPILOT_DATA_DIR in tmp_path for commands run through `run_cli`, other settings cleared."""
    path = tmp_path / "data"
    monkeypatch.setenv("COPILOT_DATA_DIR", str(path))
    for name in _CLI_ENV:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `copilot ARGV...` in this process: (exit code, stdout, stderr)."""
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def a_chunk(
    text: str,
    *,
    section: str = "Mitigation",
    source: str = "runbooks/x.md",
    cid: str | None = None,
    ordinal: int = 0,
    title: str | None = None,
    lines: tuple[int, int] = (1, 2),
    embed_text: str | None = None,
) -> Chunk:
    """One runbook section built in memory (no store), for tests of what is made of it.

    Its id defaults to "<source>#<ordinal>", its title to its source, its embedded text to its
    text."""
    return Chunk(
        id=cid or f"{source}#{ordinal}",
        source=source,
        ordinal=ordinal,
        title=source if title is None else title,
        section=section,
        kind="runbook",
        line_start=lines[0],
        line_end=lines[1],
        text=text,
        embed_text=text if embed_text is None else embed_text,
    )


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


# -- the database: SQLite and a real PostgreSQL ----------------------------------------------


def _no_postgres(reason: str) -> NoReturn:
    """Skip, saying why; on CI (where `make test` installs PostgreSQL) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; on CI `make test` installs it (make postgres-deps)")
    pytest.skip(f"{reason}; `make postgres-deps` installs it (as root, with apt-get)")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the whole session (see tests/db)."""
    bindir = find_bindir()
    if bindir is None:
        _no_postgres("PostgreSQL is not installed (no pg_ctl under /usr/lib/postgresql/*/bin)")
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        _no_postgres(f"PostgreSQL did not start: {str(exc)[:500]}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, once on SQLite (a file in tmp_path) and once on PostgreSQL
    (a database of its own in the session's cluster, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'copilot.sqlite'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)
