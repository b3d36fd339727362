from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from copilot.cli import main
from copilot.settings import get_settings
from tests.conftest import SAMPLE_KB, write


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_ingest_then_search_json(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "kb"
    write(root, "runbooks/queue.md", (SAMPLE_KB / "runbooks/vault-sealed.md").read_text())
    write(root, "postmortems/bad.md", "---\nkind: [oops\n---\n")
    assert main(["ingest", str(root), "--json"]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["added"] == 1 and summary["failed"] == 1
    assert "postmortems/bad.md" in out.err

    assert main(["ingest", str(root)]) == 0
    assert "1 unchanged" in capsys.readouterr().out

    assert main(["search", "vault operator unseal commands", "--top-k", "3"]) == 0
    shown = capsys.readouterr().out
    assert "runbooks/queue.md" in shown and "```" not in shown  # sections read as text

    assert main(["search", "secrets backend sealed", "--json", "--top-k", "2"]) == 0
    out = capsys.readouterr()
    assert "Loading weights" not in out.err  # no progress bar from loading the model
    body = json.loads(out.out)
    assert body["query"] == "secrets backend sealed"
    assert len(body["results"]) == 2
    assert body["results"][0]["source"] == "runbooks/queue.md"


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "   "],
        ["search", "x" * 2001],
        ["search", "disk", "--top-k", "0"],
        ["search", "disk", "--kind", "wiki"],
        ["ingest", "/no/such/folder"],
    ],
)
def test_bad_cli_input_exits_2_with_a_message(
    data_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_python_dash_m_copilot_runs(data_dir: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "copilot", "--help"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0 and "ingest" in r.stdout


def test_search_and_ask_read_a_store_another_process_holds(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alone (no server), search and ask still answer while another process owns the store
    (an ingest, a server still loading): they read it without the lock; ingest still waits."""
    from copilot.filelock import FileLock

    root = tmp_path / "kb"
    write(root, "runbooks/vault.md", (SAMPLE_KB / "runbooks/vault-sealed.md").read_text())
    assert main(["ingest", str(root)]) == 0
    capsys.readouterr()
    holder = FileLock(get_settings().lock_path)
    assert holder.try_acquire()
    try:
        assert main(["search", "secrets backend sealed", "--json"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert body["results"][0]["source"] == "runbooks/vault.md"
        assert main(["ask", "vault is sealed, what do I do", "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert answer["steps"] and not answer["abstained"]
        assert main(["ingest", str(root)]) != 0  # a writer still needs the lock
        assert "in use" in capsys.readouterr().err
    finally:
        holder.release()


def test_ask_prints_a_runbooks_caution_apart_from_the_numbered_steps(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "kb"
    name = "runbooks/redis-carts-memory-pressure.md"
    write(root, name, (SAMPLE_KB / name).read_text())
    assert main(["ingest", str(root)]) == 0
    capsys.readouterr()
    assert main(["ask", "baskets are getting emptied, redis-carts evicting keys"]) == 0
    out = capsys.readouterr().out
    steps, cautions = out.split("\nCaution (the runbook says not to):\n", 1)
    assert "Never run" not in steps  # not a numbered step, and not one to approve
    assert cautions.startswith("! Never run `FLUSHALL`")
    assert f"source: {name}:" in cautions


def test_ask_says_how_to_list_the_steps_the_cap_left_out(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "kb"
    name = "runbooks/vault-sealed.md"
    write(root, name, (SAMPLE_KB / name).read_text())
    assert main(["ingest", str(root)]) == 0
    capsys.readouterr()
    assert main(["ask", "vault is sealed, what do I do"]) == 0
    out = capsys.readouterr().out
    hint = re.search(r"(\d+) more step\(s\) not listed: add --steps (\d+) to list them", out)
    assert hint, out
    assert main(["ask", "vault is sealed, what do I do", "--steps", hint.group(2)]) == 0
    every = capsys.readouterr().out
    assert "not listed" not in every
    numbered = re.findall(r"^(\d+)\. ", every, re.M)
    assert len(numbered) > len(re.findall(r"^(\d+)\. ", out, re.M))
    for bad in ("0", "51"):
        assert main(["ask", "vault is sealed", "--steps", bad]) == 2
        assert "--steps must be 1 to 50" in capsys.readouterr().err
