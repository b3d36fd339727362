"""The CLI beside a real `copilot serve`: it goes through the server over HTTP, same output."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from copilot.client import (
    SERVER_FILE,
    Client,
    ServerUnavailable,
    claim_server_file,
    find_server,
    write_server_file,
)
from copilot.embedding import Embedder
from copilot.knowledge.store import KnowledgeBase
from copilot.security.keys import KeyStore
from copilot.settings import Settings, get_settings
from ingest.pipeline import ingest_paths
from tests.conftest import _CLI_ENV, REPO, SAMPLE_KB, run_cli, write

pytestmark = pytest.mark.slow


@dataclass
class Served:
    url: str
    data: Path
    key: str
    log: Path
    states: list[str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(served: Served, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        served.url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {served.key}"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Served]:
    """`copilot serve` in a subprocess on a tiny ingested knowledge base, with one API key."""
    base = tmp_path_factory.mktemp("served")
    data, root = base / "data", base / "kb"
    write(root, "runbooks/vault.md", (SAMPLE_KB / "runbooks/vault-sealed.md").read_text())
    write(
        root,
        "runbooks/crashloop.md",
        (SAMPLE_KB / "runbooks/kubernetes-pod-crashloop.md").read_text(),
    )
    with KnowledgeBase(Settings(data_dir=data, _env_file=None), embedder) as kb:  # type: ignore[call-arg]
        assert not ingest_paths(kb, [root], progress=False).failed
    keys = KeyStore(data / "security.sqlite")
    _, key = keys.create("cli", ["read", "respond"])
    keys.close()

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in _CLI_ENV and k != "COPILOT_URL"}
    env["COPILOT_DATA_DIR"] = str(data)
    log = base / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "copilot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    record = data / SERVER_FILE
    states: list[str] = []  # the record's states, in the order this fixture saw them
    try:
        deadline = time.monotonic() + 120
        while not states or states[-1] != "ready":
            assert server.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not record its address"
            try:
                state = json.loads(record.read_text())["state"]
            except (OSError, ValueError, KeyError):
                state = None
            if state and (not states or states[-1] != state):
                states.append(state)
            time.sleep(0.05)
        yield Served(url=f"http://127.0.0.1:{port}", data=data, key=key, log=log, states=states)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    # A clean shutdown takes the record away; the log never shows a model-loading bar.
    assert not record.exists()
    assert "Loading weights" not in log.read_text()


@pytest.fixture
def beside(served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The CLI of this process pointed at the served data directory, with the key."""
    monkeypatch.setenv("COPILOT_DATA_DIR", str(served.data))
    monkeypatch.setenv("COPILOT_API_KEY", served.key)
    for name in (*_CLI_ENV, "COPILOT_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield served
    get_settings.cache_clear()


def test_the_server_records_its_address(served: Served) -> None:
    record = json.loads((served.data / SERVER_FILE).read_text())
    assert record["url"] == served.url and isinstance(record["pid"], int)
    # Recorded as starting first (while it loads the model and takes the store), then ready.
    assert served.states == ["starting", "ready"]


@contextmanager
def _starting_again(served: Served) -> Iterator[tuple[int, str]]:
    """The live server's record put back to "starting" (its process lives and owns the store),
    as a server still loading would leave it; its ready record is restored afterwards."""
    record = served.data / SERVER_FILE
    ready = record.read_text()
    pid = json.loads(ready)["pid"]
    record.write_text(json.dumps({"pid": pid, "state": "starting"}))
    try:
        yield pid, ready
    finally:
        record.write_text(ready)


def test_a_command_waits_for_a_server_that_is_still_starting(
    beside: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store is the starting server's: a command waits for it instead of failing on it.

    The server's record is put back to "starting" (its process lives and holds the store), and
    made ready again a moment later, as a server finishing its start would.
    """
    with _starting_again(beside) as (pid, ready):
        timer = threading.Timer(1.0, (beside.data / SERVER_FILE).write_text, args=(ready,))
        timer.start()
        try:
            code, out, err = run_cli(
                capsys, "incident", "declare", "Vault sealed again", "-s", "SEV3", "--json"
            )
            assert code == 0, err
            assert (
                f"waiting for the copilot server starting on this data directory (pid {pid})" in err
            )
            declared = json.loads(out)["id"]
            # Went through the server: the postmortem draft needs the store it owns.
            code, out, err = run_cli(capsys, "postmortem", declared, "--json", "--similar", "1")
            assert code == 0, err
            assert json.loads(out)["incident_id"] == declared
        finally:
            timer.cancel()


def test_a_server_still_starting_after_the_wait_is_a_clear_error(
    beside: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _starting_again(beside) as (pid, _):
        monkeypatch.setenv("COPILOT_SERVER_WAIT", "0.3")
        code, out, err = run_cli(capsys, "search", "vault sealed", "--json")
        assert (code, out) == (1, "")
        assert f"the copilot server (pid {pid}) on this data directory is still starting" in err
        assert "Traceback" not in err
        monkeypatch.setenv("COPILOT_SERVER_WAIT", "soon")
        code, out, err = run_cli(capsys, "incident", "list")
        assert code == 1 and "COPILOT_SERVER_WAIT must be a number of seconds" in err


def test_search_and_ask_json_beside_the_server_match_the_api(
    beside: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "search", "secrets backend sealed", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body == _api(beside, "POST", "/v1/search", {"query": "secrets backend sealed"})
    assert body["results"][0]["source"] == "runbooks/vault.md"

    code, out, err = run_cli(capsys, "ask", "pods keep restarting after a deploy", "--json")
    assert code == 0, err
    answer = json.loads(out)
    api = _api(beside, "POST", "/v1/ask", {"question": "pods keep restarting after a deploy"})
    assert answer.keys() == api.keys()
    assert answer["citations"] == api["citations"]
    assert any(c["source"] == "runbooks/crashloop.md" for c in answer["citations"])

    code, out, err = run_cli(capsys, "search", "secrets backend sealed")
    assert code == 0 and "runbooks/vault.md:" in out
    assert "Loading weights" not in err and "Traceback" not in err
    # The requests reached the server: its access log names the routes.
    routes = {
        json.loads(line).get("route")
        for line in beside.log.read_text().splitlines()
        if line.startswith("{")
    }
    assert {"/v1/search", "/v1/ask"} <= routes


def test_incidents_beside_the_server(beside: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "incident", "declare", "Vault sealed", "-s", "P2", "--commander", "alice", "--json"
    )
    assert code == 0, err
    declared = json.loads(out)
    assert declared == _api(beside, "GET", f"/v1/incidents/{declared['id']}")

    code, out, err = run_cli(capsys, "incident", "list", "--json")
    assert code == 0, err
    assert declared["id"] in [i["id"] for i in json.loads(out)["incidents"]]

    # The API's role names work, and the hyphenated ones; output names the API's form.
    code, out, err = run_cli(
        capsys, "incident", "role", declared["id"], "customer_liaison", "lee", "--json"
    )
    assert code == 0 and json.loads(out)["roles"]["customer_liaison"] == "lee"
    code, _, err = run_cli(
        capsys, "incident", "role", declared["id"], "customer-liaison", "kim", "--remove"
    )
    assert (code, err) == (2, f"error: kim is not the customer_liaison of {declared['id']}\n")

    code, out, err = run_cli(capsys, "ask", "what next?", "--incident", declared["id"], "--json")
    assert code == 0, err
    # What the timeline records as done is named, with the entry, not only counted.
    rolled_back = "Rolled back checkout-api to the previous release"
    code, _, err = run_cli(
        capsys, "incident", "note", declared["id"], rolled_back, "--kind", "action"
    )
    assert code == 0, err
    code, out, err = run_cli(
        capsys, "ask", "pods keep restarting after deploy", "--incident", declared["id"]
    )
    assert code == 0, err
    done = out.split("Already done (left out):\n", 1)[1]
    assert "roll back" in done.lower() and f"action: {rolled_back}" in done

    # Status updates and the postmortem draft, through the server too.
    code, out, err = run_cli(capsys, "status", "draft", declared["id"], "-a", "internal", "--json")
    assert code == 0, err
    draft = json.loads(out)
    path = f"/v1/incidents/{declared['id']}/status-updates/{draft['id']}"
    assert draft == _api(beside, "GET", path)
    code, out, err = run_cli(capsys, "status", "publish", declared["id"], str(draft["id"]))
    assert code == 0 and "published internal update" in out, err
    # A public draft's hint marks its components with the status the incident's severity
    # gives them, read from the server (SEV2: partial outage).
    code, out, err = run_cli(
        capsys,
        "incident",
        "declare",
        "Checkout 502s",
        "-s",
        "SEV2",
        "--service",
        "checkout-api",
        "--json",
    )
    assert code == 0, err
    checkout = json.loads(out)["id"]
    code, out, err = run_cli(capsys, "status", "draft", checkout, "-a", "public")
    assert code == 0, err
    assert re.search(
        rf"copilot status publish {checkout} \d+ --component Checkout=partial_outage", out
    )
    code, out, err = run_cli(capsys, "postmortem", declared["id"], "--json", "--similar", "0")
    assert code == 0, err
    assert json.loads(out)["incident_id"] == declared["id"]

    # Server-side refusals: one line, the same exit codes as locally, no traceback.
    code, out, err = run_cli(capsys, "incident", "show", "INC-999")
    assert (code, out) == (1, "") and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = run_cli(capsys, "incident", "status", declared["id"], "closed")
    assert code == 1 and "allowed statuses" in err
    code, _, err = run_cli(capsys, "incident", "declare", "x", "--severity", "SEV7")
    assert code == 2 and "unknown severity 'SEV7'" in err and "Traceback" not in err


def test_a_wrong_or_missing_key_is_a_clear_error(
    beside: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPILOT_API_KEY", "not-a-key")
    code, out, err = run_cli(capsys, "search", "vault sealed", "--json")
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and "COPILOT_API_KEY" in err and err.count("\n") == 1
    monkeypatch.delenv("COPILOT_API_KEY")
    code, _, err = run_cli(capsys, "incident", "list")
    assert code == 1 and "COPILOT_API_KEY" in err and "Traceback" not in err


def test_copilot_url_names_the_server(
    beside: Served,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("COPILOT_URL", beside.url)
    get_settings.cache_clear()
    code, out, err = run_cli(capsys, "search", "secrets backend sealed", "--json", "--top-k", "1")
    assert code == 0, err
    assert json.loads(out)["results"][0]["source"] == "runbooks/vault.md"
    monkeypatch.setenv("COPILOT_URL", "http://127.0.0.1:1")
    code, _, err = run_cli(capsys, "incident", "list")
    assert code == 1 and "cannot reach the copilot server at http://127.0.0.1:1" in err


def test_a_stale_record_is_ignored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env: dict[str, str] = {}
    assert find_server(data, env) is None  # no record
    write_server_file(data, "http://127.0.0.1:1")  # this process lives, but nothing answers
    assert find_server(data, env) is None
    (data / SERVER_FILE).write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": 2**22 + 7}))
    assert find_server(data, env) is None  # no such process
    (data / SERVER_FILE).write_text("{not json")
    assert find_server(data, env) is None
    client = find_server(data, {"COPILOT_URL": "http://127.0.0.1:9/", "COPILOT_API_KEY": "k"})
    assert isinstance(client, Client) and client.url == "http://127.0.0.1:9"


def test_a_starting_record_whose_process_ends_is_not_waited_for(tmp_path: Path) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        data.mkdir()
        (data / SERVER_FILE).write_text(json.dumps({"pid": child.pid, "state": "starting"}))
        notices: list[str] = []
        # Killed and reaped, as the shell that started a server reaps it.
        threading.Timer(0.5, lambda: (child.kill(), child.wait())).start()
        started = time.monotonic()
        assert find_server(data, {}, notice=notices.append) is None  # runs on its own
        assert len(notices) == 1 and f"(pid {child.pid})" in notices[0]
        assert time.monotonic() - started < 30  # it did not wait out the two minutes
    finally:
        child.kill()
        child.wait()


def test_a_second_server_does_not_hide_the_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        data.mkdir()
        first = json.dumps({"url": "http://127.0.0.1:1", "pid": child.pid, "state": "ready"})
        (data / SERVER_FILE).write_text(first)
        assert claim_server_file(data) is False
        assert (data / SERVER_FILE).read_text() == first
    finally:
        child.kill()
        child.wait()
    assert claim_server_file(data) is True  # the first is gone: this one starts
    assert json.loads((data / SERVER_FILE).read_text()) == {"pid": os.getpid(), "state": "starting"}
    with pytest.raises(ServerUnavailable, match="still starting after 0s"):
        find_server(data, {"COPILOT_SERVER_WAIT": "0"}, notice=lambda _: None)


class _StopAt:
    """An import hook that, when `name` is imported, notes the server record and fails."""

    def __init__(self, name: str, record: Path) -> None:
        self.name, self.record, self.seen = name, record, "not imported"

    def find_spec(self, fullname: str, *_: Any) -> None:
        if fullname == self.name:
            self.seen = self.record.read_text() if self.record.exists() else "no record"
            raise ImportError(f"stopped at {fullname}")


def test_serve_claims_the_record_before_its_own_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's imports take seconds: a command run in them must find it starting."""
    from copilot.cli import cmd_serve

    data = tmp_path / "data"
    record = data / SERVER_FILE
    hook = _StopAt("copilot.api.app", record)
    monkeypatch.delitem(sys.modules, "copilot.api.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [hook, *sys.meta_path])
    settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    args = argparse.Namespace(host="127.0.0.1", port=_free_port(), verbose=False)
    with pytest.raises(ImportError, match=r"stopped at copilot\.api\.app"):
        cmd_serve(args, settings)
    assert hook.seen != "no record", "the server's imports ran before it claimed the record"
    assert json.loads(hook.seen) == {"pid": os.getpid(), "state": "starting"}
    assert not record.exists()  # a start that fails takes its record away
