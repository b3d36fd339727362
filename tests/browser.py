"""The browser fixtures every browser test shares: one headless Debian Chromium per session.

A pytest plugin loaded by the root conftest, so that the session has exactly one Playwright:
two conftests importing the same session fixture make two, and the second one finds the first
one's event loop running and refuses to start.

Chromium is Debian's (`make browser-deps` installs it); Playwright's Python package only drives
it, and never downloads a browser of its own. Without chromium the browser tests skip, saying
why, except on CI as root, where it must have been installed and its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("COPILOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[1]
# How long actions and expect() assertions wait for the page.
EXPECT_TIMEOUT_MS = 15_000
# Where screenshots go: a temporary folder, or docs/screenshots with `make screenshots`.
SCREENSHOT_ENV = "COPILOT_SCREENSHOT_DIR"


def _no_browser(reason: str) -> None:
    if os.environ.get("CI") and os.geteuid() == 0:
        pytest.fail(f"{reason}; on CI `make test` installs it (make browser-deps)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _no_browser(
            f"chromium is not installed at {CHROMIUM}: run `make browser-deps` as root "
            "(apt-get install chromium)"
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed: run `make test` (dev extras)")
    # expect() waits 5 s by default, whatever the context's timeout: too short for a page's
    # fetch and render on a busy 2-core machine running the whole suite.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Screens:
    """Saves one PNG per screen, small: the laptop viewport, not the whole page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, page: Any, name: str, *, full_page: bool = False) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        assert path.stat().st_size > 1000, f"{path} looks empty"
        return path


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    chosen = os.environ.get(SCREENSHOT_ENV)
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    return Screens(folder if folder.is_absolute() else REPO / folder)


class PageErrors:
    """JavaScript errors and failed requests a page met: a test ends by asserting there are none."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        return page


@pytest.fixture
def js_errors() -> PageErrors:
    return PageErrors()
