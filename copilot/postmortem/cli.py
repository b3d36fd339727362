"""`copilot postmortem ID`: the pre-filled postmortem as markdown on stdout (or JSON)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from copilot.cliutil import UsageError, open_kb, server
from copilot.settings import Settings


def _record(settings: Settings, store: Any, response: Any) -> None:
    """Audit the draft like the API does, as `cli:<os user>`."""
    from copilot.postmortem.service import sources_of
    from copilot.security.audit import AuditLog, record_output

    audit = AuditLog(settings.security_path)
    try:
        record_output(
            audit=audit,
            incidents=store,
            who=f"cli:{getpass.getuser()}",
            action="postmortem",
            question=f"postmortem draft for {response.incident_id}",
            sources=sources_of(response),
            incident_id=response.incident_id,
        )
    finally:
        audit.close()


def cmd_postmortem(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.errors import ConfigError
    from copilot.postmortem.schemas import PostmortemResponse
    from copilot.postmortem.template import load_template

    if not 0 <= args.similar <= 10:
        raise UsageError("--similar must be between 0 and 10")
    template_path: Path | None = args.template or settings.postmortem_template
    try:
        template = load_template(template_path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    # A template of one's own is filled here; the server fills the one it is configured with.
    remote = None if args.template else server(settings)
    if remote is not None:
        similar = 0 if args.no_kb else args.similar
        path = f"/v1/incidents/{quote(args.id, safe='')}/postmortem"
        response = remote.post(PostmortemResponse, path, {"similar": similar})
    else:
        response = _draft_locally(settings, args, template)
    if args.json:
        print(response.model_dump_json(indent=2))
    else:
        sys.stdout.write(response.markdown)
    if not args.json and sys.stderr.isatty():
        print(
            f"{response.incident_id}: {len(response.open_questions)} open question(s), "
            f"{len(response.blameless)} language flag(s), {len(response.missing)} gap(s) in the "
            "record",
            file=sys.stderr,
        )
    return 0


def _draft_locally(settings: Settings, args: argparse.Namespace, template: Any) -> Any:
    from copilot.incidents.db import IncidentStore
    from copilot.postmortem import service

    kb = None if args.no_kb else open_kb(settings, threads=settings.serve_threads)
    try:
        store = IncidentStore.open(settings)
        try:
            response = service.draft_postmortem(
                store=store, incident_id=args.id, kb=kb, template=template, similar=args.similar
            )
            _record(settings, store, response)
        finally:
            store.close()
    finally:
        if kb is not None:
            kb.close()
    return response


def register(subparsers: Any) -> None:
    """Add `copilot postmortem ID` to the main parser."""
    p = subparsers.add_parser(
        "postmortem", help="pre-fill a blameless postmortem from an incident (markdown on stdout)"
    )
    p.add_argument("id", metavar="INCIDENT", help="incident id, e.g. INC-42")
    p.add_argument("--json", action="store_true", help="print the full draft object as JSON")
    p.add_argument(
        "--template", type=Path, help="a markdown template to fill instead of the default"
    )
    p.add_argument("--similar", type=int, default=3, help="similar past incidents to list (0-10)")
    p.add_argument(
        "--no-kb", action="store_true", help="skip the knowledge base (no similar incidents)"
    )
    p.set_defaults(handler=cmd_postmortem)
