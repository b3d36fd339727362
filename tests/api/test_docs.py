"""/docs and /redoc work air-gapped: every asset they load comes from this server."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app, docs_policy
from copilot.settings import Settings


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if tag in ("script", "link", "redoc") and name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, load_knowledge=False)) as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_reference_no_external_host_and_their_assets_answer(
    client: TestClient, page: str
) -> None:
    r = client.get(page)
    assert r.status_code == 200
    parser = _Assets()
    parser.feed(r.text)
    assert parser.urls, "the page loads its script from somewhere"
    for url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from another host"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
    assert "cdn" not in r.text.lower() and "googleapis" not in r.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_policy_allows_only_this_server_and_the_page_own_script(
    client: TestClient, page: str
) -> None:
    r = client.get(page)
    policy = r.headers["content-security-policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "http" not in policy
    assert "frame-ancestors 'none'" in policy
    # Swagger UI starts from one inline script: it is allowed by its hash, and only it.
    assert policy == docs_policy(r.text)
    assert script_src.count("'sha256-") == r.text.count("<script>")


def test_the_openapi_document_the_docs_read_is_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "Responder Copilot"
    assert (
        '"/openapi.json"' in client.get("/docs").text
        or "'/openapi.json'" in client.get("/docs").text
    )
