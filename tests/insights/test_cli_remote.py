"""`copilot insights` beside a running server: the report comes from the server over HTTP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings, get_settings
from tests.conftest import _CLI_ENV, LiveServer, run_cli
from tests.insights.test_insights import NOW, populate


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A server with six incidents on 127.0.0.1; the CLI's own data directory stays empty."""
    settings = Settings(data_dir=tmp_path / "server", _env_file=None)  # type: ignore[call-arg]
    with IncidentStore(settings.sqlalchemy_url, clock=lambda: NOW) as store:
        populate(store, n=6)
        app = create_app(settings, incident_store=store, load_knowledge=False)
        with LiveServer(app) as live:
            monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "cli"))
            monkeypatch.setenv("COPILOT_URL", live.url)
            for name in (*_CLI_ENV, "COPILOT_API_KEY"):
                monkeypatch.delenv(name, raising=False)
            get_settings.cache_clear()
            yield live
            get_settings.cache_clear()


def test_insights_go_through_the_server(
    remote: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "insights", "--since", "2025-12-01", "--severity", "SEV1", "--severity", "SEV2",
        "--format", "json", "--no-clusters",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    url = f"{remote.url}/v1/insights?since=2025-12-01&severity=SEV1&severity=SEV2&clusters=false"
    with urllib.request.urlopen(url, timeout=60) as r:
        api = json.load(r)
    # The server's incidents (the CLI's own data directory has none), filtered as asked.
    assert report == api
    assert 0 < report["incidents"]["count"] < 6
    assert set(report["incidents"]["by_severity"]) <= {"SEV1", "SEV2"}
    assert report["period"]["severity"] == ["SEV1", "SEV2"]
    assert not (tmp_path / "cli").exists()

    target = tmp_path / "review.md"
    code, _, err = run_cli(capsys, "insights", "--since", "2025-12-01", "--out", str(target))
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Incident insights")
    svgs = sorted(p.name for p in tmp_path.glob("review-*.svg"))
    assert len(svgs) == 5 and all(f"({name})" in text for name in svgs)

    code, out, _ = run_cli(capsys, "insights", "--since", "2025-12-01", "--format", "csv")
    rows = [line for line in out.splitlines() if line.startswith("incidents_by_week,")]
    assert code == 0 and rows


@pytest.mark.usefixtures("remote")
def test_bad_filters_through_the_server_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(capsys, "insights", "--since", "whenever")
    assert code == 2 and "since" in err and not out
    code, _, err = run_cli(capsys, "insights", "--severity", "SEV9")
    assert code == 2 and "SEV9" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "insights", "--timezone", "Mars/Olympus")
    assert code == 2 and "timezone" in err
