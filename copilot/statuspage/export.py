"""The page as static files (HTML, CSS, Statuspage JSON, Atom), for hosting away from the copilot.

The layout mirrors the served page, so links and tooling work the same on either:
`index.html`, `status.css`, `history.atom`, `api/v2/<name>.json`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel

from copilot.errors import InvalidInput
from copilot.statuspage import render
from copilot.statuspage.service import PageState


def files(state: PageState, *, feed_url: str) -> dict[str, str]:
    """Relative path -> content, for every file of the static page."""

    def dump(model: BaseModel) -> str:
        return model.model_dump_json(indent=2) + "\n"

    out = {
        "index.html": render.html(state, root="./"),
        render.CSS: render.css_text(),
        "history.atom": render.atom(state, self_url=feed_url),
        "api/v2/status.json": dump(render.status_response(state)),
        "api/v2/summary.json": dump(render.summary(state)),
        "api/v2/components.json": dump(render.components_response(state)),
        "api/v2/incidents.json": dump(render.incidents_page(state, 1)),
        "api/v2/incidents/unresolved.json": dump(render.unresolved(state)),
        "api/v2/scheduled-maintenances.json": dump(render.maintenances(state)),
        "api/v2/scheduled-maintenances/upcoming.json": dump(render.maintenances(state, "upcoming")),
        "api/v2/scheduled-maintenances/active.json": dump(render.maintenances(state, "active")),
    }
    return out


def write(state: PageState, directory: Path) -> list[Path]:
    """Write the page into `directory` (created if missing); each file replaced atomically."""
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"{directory} exists and is not a directory")
    base = state.config.url.rstrip("/")
    feed_url = f"{base}/history.atom" if base else "history.atom"
    written: list[Path] = []
    for rel, text in files(state, feed_url=feed_url).items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
