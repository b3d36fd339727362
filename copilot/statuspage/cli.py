"""`copilot status-page export DIR`: the public status page as static files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from copilot.cliutil import incident_store
from copilot.settings import Settings


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.statuspage import config, export, service

    with incident_store(settings) as store:
        page = config.current(store.db, settings.status_components)
        state = service.build_state(store=store, config=page)
    directory = Path(args.dir)
    written = export.write(state, directory)
    print(f"wrote {len(written)} files to {directory} ({state.description})")
    return 0


def register(subparsers: Any) -> None:
    """Add `copilot status-page ...` to the main parser."""
    parser = subparsers.add_parser("status-page", help="the public status page")
    sub = parser.add_subparsers(dest="status_page_command", required=True, metavar="ACTION")
    p = sub.add_parser(
        "export", help="write the page as static files (HTML, CSS, Statuspage JSON, Atom)"
    )
    p.add_argument("dir", metavar="DIR", help="where to write it (created if missing)")
    p.set_defaults(handler=cmd_export)
