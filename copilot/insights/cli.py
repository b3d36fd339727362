"""`copilot import postmortems DIR` (history in) and `copilot insights` (figures out)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from copilot.cliutil import UsageError, incident_store, print_json
from copilot.settings import Settings


def cmd_import_postmortems(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.insights.history import import_postmortems

    root: Path = args.dir
    if not root.exists():
        raise UsageError(f"no such file or directory: {root}")
    # Always in this process, on the data directory's database (a running server shares it):
    # imported history sends no webhooks.
    with incident_store(settings) as store:
        report = import_postmortems(store, root)
    if args.json:
        print_json(report.as_dict())
    else:
        for result in report.files:
            target = f" -> {result.incident_id}" if result.incident_id else ""
            detail = (
                f" ({result.events} events, {result.follow_ups} follow-ups)"
                if result.outcome == "imported"
                else ""
            )
            print(f"{result.outcome}: {result.source}{target}{detail}")
            for problem in result.problems:
                print(f"    {problem}")
        print(report.line())
    if report.count("failed"):
        print(
            f"warning: {report.count('failed')} file(s) could not be imported (listed above)",
            file=sys.stderr,
        )
    return 0


def register(subparsers: Any) -> None:
    """Add `copilot import postmortems DIR` to the main parser."""
    group = subparsers.add_parser("import", help="bring history in (postmortem documents)")
    sub = group.add_subparsers(dest="import_command", required=True, metavar="WHAT")
    p = sub.add_parser(
        "postmortems",
        help="turn postmortem documents into incidents and follow-ups (idempotent)",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a folder of markdown postmortems")
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.set_defaults(handler=cmd_import_postmortems)
