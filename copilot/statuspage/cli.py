"""`copilot status-page export DIR`: the public status page as static files; `copilot status-page
tick`: record the maintenance starts and ends due (for cron, where no server runs)."""

from __future__ import annotations

import argparse
import functools
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


def cmd_tick(_args: argparse.Namespace, settings: Settings) -> int:
    """Record the automatic maintenance moves due now; subscribers' webhooks go to the outbox
    (a server delivers them). A server ticks by itself: this is for a page exported by cron."""
    from copilot.integrations import webhooks
    from copilot.statuspage import config, notify

    dispatcher = webhooks.from_settings(settings)
    try:
        with incident_store(settings) as store:
            notifier = notify.Notifier(
                store,
                functools.partial(config.current, store.db, settings.status_components),
                [dispatcher.on_status_page] if dispatcher is not None else [],
            )
            changes = notifier.tick()
    finally:
        if dispatcher is not None:
            dispatcher.outbox.close()
    for c in changes:
        print(f"MNT-{c.maintenance_id}: {c.from_status} -> {c.to_status} at {c.at.isoformat()}")
    if not changes:
        print("no maintenance window is due to start or end")
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
    p = sub.add_parser(
        "tick", help="record the maintenance starts and ends that are due (a server does it itself)"
    )
    p.set_defaults(handler=cmd_tick)
