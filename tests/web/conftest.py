"""A real server on 127.0.0.1 and a real headless Chromium driving the war-room page.

The browser itself, screenshots and the JavaScript error watch are in `tests/browser.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from tests.browser import EXPECT_TIMEOUT_MS, PageErrors
from tests.conftest import LiveServer


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def live(sample_kb: KnowledgeBase, web_settings: Settings) -> Iterator[LiveServer]:
    """The whole app over the sample knowledge base and a fresh incident store."""
    store = IncidentStore(web_settings.sqlalchemy_url)
    app = create_app(web_settings, kb=sample_kb, incident_store=store)
    with LiveServer(app) as server:
        yield server
    store.close()


@pytest.fixture
def page(browser: Any, live: LiveServer, js_errors: PageErrors) -> Iterator[Any]:
    """A fresh browser context (own localStorage) at laptop size, on the live server."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 860},
        base_url=live.url,
        accept_downloads=True,
        color_scheme="light",
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    opened = js_errors.watch(context.new_page())
    yield opened
    context.close()
