"""`copilot keys ...`, and `copilot serve` refusing to run open off loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from copilot.cli import main
from copilot.security.keys import KeyStore
from copilot.settings import get_settings
from tests.conftest import REPO, SAMPLE_KB, run_cli, write


@pytest.fixture
def data_dir(cli_data_dir: Path) -> Path:
    return cli_data_dir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, *argv)


def test_keys_create_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "keys", "create", "oncall", "--scope", "read", "--scope", "respond", "--json"
    )
    assert code == 0
    created = json.loads(out)
    assert set(created) == {"name", "key", "scopes"}
    assert created["name"] == "oncall" and created["scopes"] == ["read", "respond"]
    keys = KeyStore(data_dir / "security.sqlite")
    assert keys.verify(created["key"]) is not None
    keys.close()

    code, out, _ = run(capsys, "keys", "list", "--json")
    assert code == 0 and created["key"] not in out
    assert [k["name"] for k in json.loads(out)["keys"]] == ["oncall"]
    code, out, _ = run(capsys, "keys", "list")
    assert "oncall" in out and "read,respond" in out and created["key"] not in out

    code, _, err = run(capsys, "keys", "create", "oncall", "--scope", "read")
    assert code == 1 and "exists" in err
    code, out, _ = run(capsys, "keys", "revoke", "oncall")
    assert code == 0 and "revoked" in out
    code, _, err = run(capsys, "keys", "revoke", "oncall")
    assert code == 1 and "no active key" in err
    code, out, _ = run(capsys, "keys", "list", "--all", "--json")
    assert json.loads(out)["keys"][0]["revoked_at"]


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "create", "x"],  # no scope
        ["keys", "create", "x", "--scope", "write"],
        ["keys", "create", "no/slash", "--scope", "read"],
    ],
)
def test_bad_key_requests_exit_2(
    data_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_serve_refuses_a_public_address_without_keys(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 1
    assert "refusing to serve on 0.0.0.0 without API keys" in err
    assert "copilot keys create" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_on_loopback_runs_open_says_so_and_owns_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real server: JSON log lines, the open-mode warning, ingest through it, not beside it."""
    data = tmp_path / "data"
    root = tmp_path / "runbooks"
    write(root, "runbooks/vault.md", (SAMPLE_KB / "runbooks/vault-sealed.md").read_text())
    port = _free_port()
    env = {
        **os.environ,
        "COPILOT_DATA_DIR": str(data),
        "COPILOT_INGEST_ROOTS": json.dumps([str(root)]),
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "copilot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.25)

        # `copilot ingest` beside the server goes through it (the server owns the store)...
        monkeypatch.setenv("COPILOT_DATA_DIR", str(data))
        get_settings.cache_clear()
        try:
            code, out, _ = run(capsys, "ingest", str(root), "--json")
            assert code == 0 and json.loads(out)["added"] == 1
            # ...and only within the folders the server may read.
            code, _, err = run(capsys, "ingest", str(tmp_path))
            assert code == 1 and "outside the ingest roots" in err
        finally:
            get_settings.cache_clear()

        request = urllib.request.Request(
            f"{base}/v1/admin/ingest",
            data=json.dumps({"paths": [str(root)]}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": "ingest-1"},
        )
        with urllib.request.urlopen(request, timeout=120) as r:
            assert r.headers["X-Request-ID"] == "ingest-1"
            assert json.load(r)["unchanged"] == 1
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    lines = [
        json.loads(line)
        for line in (tmp_path / "server.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(
        "no API keys exist" in line["message"] and line["level"] == "warning" for line in lines
    )
    assert any(
        line.get("route") == "/v1/admin/ingest" and line.get("request_id") == "ingest-1"
        for line in lines
    )
    assert any(line["logger"].startswith("uvicorn") for line in lines)


def test_with_a_key_any_address_may_be_served(tmp_path: Path) -> None:
    from copilot.errors import ConfigError
    from copilot.security.auth import check_bind

    keys = KeyStore(tmp_path / "security.sqlite")
    assert check_bind(keys, "127.0.0.1") is True  # open, on loopback
    with pytest.raises(ConfigError, match="refusing"):
        check_bind(keys, "::")
    keys.create("ops", ["read"])
    assert check_bind(keys, "0.0.0.0") is False and check_bind(keys, "::") is False
    keys.close()


def test_a_key_made_by_the_cli_works_on_every_replica_of_the_database(
    database_url: str,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`copilot keys create` against COPILOT_DATABASE_URL; two apps over that database, each
    with its own data dir, take the key and refuse a request without one."""
    from fastapi.testclient import TestClient

    from copilot.api.app import create_app
    from copilot.settings import Settings

    monkeypatch.setenv("COPILOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        code, out, _ = run(capsys, "keys", "create", "replica-bot", "--scope", "read", "--json")
    finally:
        get_settings.cache_clear()
    assert code == 0
    key = json.loads(out)["key"]
    monkeypatch.delenv("COPILOT_DATABASE_URL")

    for n in (1, 2):
        settings = Settings(  # type: ignore[call-arg]
            data_dir=tmp_path / f"replica-{n}", database_url=database_url, _env_file=None
        )
        app = create_app(settings, load_knowledge=False, bind_host="0.0.0.0")
        with TestClient(app) as client:
            assert client.get("/v1/incidents").status_code == 401
            ok = client.get("/v1/incidents", headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200, ok.text
