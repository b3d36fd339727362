"""`copilot status-page export DIR`: the same page as static files, from the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.settings import get_settings
from tests.conftest import run_cli
from tests.status.conftest import INCIDENT
from tests.statuspage.conftest import publish
from tests.statuspage.test_page import JSON_PATHS


def test_export_writes_the_page_json_and_feed_the_server_serves(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(get_settings(), load_knowledge=False)
    with TestClient(app) as client:
        r = client.post("/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        published = publish(client, r.json()["id"], components={"Checkout": "major_outage"})
        served = {p: client.get(f"/status/api/v2/{p}").json() for p in JSON_PATHS}

    out = tmp_path / "site"
    code, stdout, stderr = run_cli(capsys, "status-page", "export", str(out))
    assert code == 0, stderr
    assert "Major System Outage" in stdout
    for path in JSON_PATHS:
        exported = json.loads((out / "api" / "v2" / path).read_text(encoding="utf-8"))
        assert exported == served[path], path
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="./status.css"' in html and 'href="./api/v2/summary.json"' in html
    assert published["body"].split("\n")[0] in html and "Major outage" in html
    assert (out / "status.css").read_text(encoding="utf-8").startswith("/*")
    feed = ET.fromstring((out / "history.atom").read_text(encoding="utf-8"))
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 1
    assert not list(out.rglob(".tmp-*"))

    # Run again: files are replaced, not duplicated.
    assert run_cli(capsys, "status-page", "export", str(out))[0] == 0
    assert len([p for p in out.rglob("*") if p.is_file()]) == 3 + len(JSON_PATHS)


def test_export_into_a_file_is_a_clear_error(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("x", encoding="utf-8")
    code, _, stderr = run_cli(capsys, "status-page", "export", str(target))
    assert code != 0 and "not a directory" in stderr and "Traceback" not in stderr
    assert target.read_text(encoding="utf-8") == "x"
