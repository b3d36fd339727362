"""`copilot status ...`: draft, list, show, publish and export status updates."""

from __future__ import annotations

import argparse
import functools
import getpass
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from copilot.cliutil import UsageError, api_word, build, fmt_time, open_kb, print_json, server
from copilot.settings import Settings

if TYPE_CHECKING:
    from copilot.client import Client
    from copilot.status import schemas


@contextmanager
def _open(settings: Settings) -> Iterator[tuple[Any, Any]]:
    from copilot.incidents.db import IncidentStore
    from copilot.status.config import StatusConfig, config_dir

    config = StatusConfig.load(config_dir(settings.data_dir))
    store = IncidentStore.open(settings)
    try:
        yield store, config
    finally:
        store.close()


_time = fmt_time


def _path(incident_id: str, *rest: str) -> str:
    parts = [quote(str(p), safe="") for p in (incident_id, "status-updates", *rest)]
    return "/v1/incidents/" + "/".join(parts)


def _draft(remote: Client, path: str, body: Any = None, *, post: bool = False) -> Any:
    from copilot.status import schemas

    if post:
        return remote.post(schemas.Draft, path, body)
    return remote.get(schemas.Draft, path)


def _print_draft(draft: Any) -> None:
    due = f" · next update by {_time(draft.next_update_by)}" if draft.next_update_by else ""
    state = draft.state if draft.state == "draft" else f"published {_time(draft.published_at)}"
    print(
        f"{draft.incident_id} draft {draft.id} · {draft.audience} · {draft.status} · {state} · "
        f"{draft.provider}{due}"
    )
    print()
    print(draft.title)
    print()
    print(draft.body)
    g = draft.guardrails
    print()
    print(f"checks: {', '.join(g.checks)}")
    for f in g.removed:
        how = f"replaced by {f.replacement!r}" if f.action == "replaced" else f.action
        print(f"  {f.check}: {f.kind} {f.text!r} {how}")
    if g.fallback:
        print(f"  model draft not used: {g.fallback}")


def _record(settings: Settings, store: Any, draft: Any) -> None:
    """Audit the draft like the API does, as `cli:<os user>`."""
    from copilot.security.audit import AuditLog, record_output

    audit = AuditLog(settings.security_path)
    try:
        record_output(
            audit=audit,
            incidents=store,
            who=f"cli:{getpass.getuser()}",
            action="status_update",
            question=f"{draft.audience} status update (draft {draft.id}, {draft.status})",
            sources=[],
            incident_id=draft.incident_id,
        )
    finally:
        audit.close()


def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import service as incident_service
    from copilot.llm.providers import build_chat_model
    from copilot.status import schemas, service

    remote = server(settings)
    if remote is not None:
        request = build(schemas.DraftRequest, {"audience": args.audience, "author": args.author})
        body = request.model_dump(mode="json", exclude_unset=True)
        # The server drafts with its knowledge base whenever it has one (--runbook or not).
        draft = _draft(remote, _path(args.id), body, post=True)
        severity: Callable[[], str | None] = functools.partial(_severity_remote, remote, draft)
    else:
        chat = build_chat_model(settings)
        with _open(settings) as (store, config):
            kb = None
            if args.runbook and args.audience == "internal":
                kb = open_kb(settings, threads=settings.serve_threads)
            try:
                draft = service.create_draft(
                    store=store,
                    config=config,
                    incident_id=args.id,
                    audience=args.audience,
                    chat=chat,
                    author=args.author,
                    kb=kb,
                )
            finally:
                if kb is not None:
                    kb.close()
            _record(settings, store, draft)
            known = incident_service.get_incident(store=store, incident_id=args.id).severity
            severity = functools.partial(str, known)
    if args.json:
        print(draft.model_dump_json(indent=2))
        return 0
    _print_draft(draft)
    print(_publish_hint(draft, severity, settings))
    return 0


def _severity_remote(remote: Client, draft: schemas.Draft) -> str | None:
    """The incident's severity from the server; None when it cannot say (the draft is made)."""
    from copilot.errors import CopilotError
    from copilot.incidents import schemas as incident_schemas

    path = "/v1/incidents/" + quote(draft.incident_id, safe="")
    try:
        return str(remote.get(incident_schemas.Incident, path).severity)
    except CopilotError:
        return None


def _publish_hint(
    draft: schemas.Draft, severity: Callable[[], str | None], settings: Settings
) -> str:
    """How to publish the draft; for a public one, how to mark its components on the page with
    the status an export gives them (SEV1: major outage, SEV2: partial, by `catalog.yaml`)."""
    from copilot.status.config import StatusConfig, config_dir
    from copilot.status.export import component_status

    command = f"copilot status publish {draft.incident_id} {draft.id}"
    level = severity() if draft.audience == "public" and draft.components else None
    if level is None:
        return f"\npublish it with: {command}"
    state = component_status(draft.status, level, StatusConfig.load(config_dir(settings.data_dir)))
    if state == "operational":
        return f"\npublish it with: {command}"  # a resolved update returns them to operational
    marks = " ".join(f"--component {shlex.quote(f'{name}={state}')}" for name in draft.components)
    return (
        f"\npublish it with: {command} {marks}\n"
        "  each status one of degraded_performance, partial_outage, major_outage; a component "
        "left out stays as the status page shows it (operational unless an update set it)"
    )


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.status import schemas, service

    remote = server(settings)
    if remote is not None:
        found = remote.get(schemas.DraftList, _path(args.id), audience=args.audience)
        drafts = found.drafts
    else:
        with _open(settings) as (store, _config):
            drafts = service.list_drafts(store=store, incident_id=args.id, audience=args.audience)
    if args.json:
        canonical = drafts[0].incident_id if drafts else args.id
        print(schemas.DraftList(incident_id=canonical, drafts=drafts).model_dump_json(indent=2))
        return 0
    if not drafts:
        print("no status update drafts")
    for d in drafts:
        state = "draft" if d.state == "draft" else f"published {_time(d.published_at)}"
        print(f"{d.id:<5} {d.audience:<10} {d.status:<14} {state:<28} {d.title}")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.status import service

    remote = server(settings)
    if remote is not None:
        draft = _draft(remote, _path(args.id, args.draft))
    else:
        with _open(settings) as (store, _config):
            draft = service.get_draft(store=store, incident_id=args.id, draft_id=args.draft)
    if args.json:
        print(draft.model_dump_json(indent=2))
    else:
        _print_draft(draft)
    return 0


def _read_body(args: argparse.Namespace) -> str | None:
    if args.body is not None and args.body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if args.body_file is None:
        body: str | None = args.body
        return body
    if args.body_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.body_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {args.body_file}: {exc.strerror}") from None


def _page_components(pairs: list[str]) -> dict[str, str]:
    """`--component NAME=STATUS` options as the publish request's components."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, status = pair.rpartition("=")
        if not sep or not name.strip() or not status.strip():
            raise UsageError(
                f"--component {pair!r}: give NAME=STATUS, e.g. --component Checkout=partial_outage"
            )
        out[name.strip()] = api_word(status)
    return out


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.status import schemas, service

    data: dict[str, Any] = {"title": args.title, "body": _read_body(args), "author": args.author}
    if args.component:
        data["components"] = _page_components(args.component)
    if args.impact:
        data["impact"] = args.impact
    if args.public_status:
        data["status"] = args.public_status
    request = build(schemas.PublishRequest, data)
    remote = server(settings)
    if remote is not None:
        body = request.model_dump(mode="json", exclude_unset=True)
        draft = _draft(remote, _path(args.id, args.draft, "publish"), body, post=True)
    else:
        from copilot.statuspage import config as page_config

        with _open(settings) as (store, config):

            def page_components(names: list[str]) -> list[str]:
                page = page_config.current(store.db, settings.status_components)
                return page.resolve(names)

            draft = service.publish(
                store=store,
                config=config,
                incident_id=args.id,
                draft_id=args.draft,
                request=request,
                page_components=page_components,
            )
    if args.json:
        print(draft.model_dump_json(indent=2))
        return 0
    edited = " (edited)" if draft.edited else ""
    print(
        f"published {draft.audience} update {draft.id}{edited} on {draft.incident_id}: "
        f"timeline event #{draft.event_id}"
    )
    if draft.next_update_by:
        print(f"next update due by {_time(draft.next_update_by)}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.status import schemas
    from copilot.status.export import export

    remote = server(settings)
    if remote is not None:
        result = remote.get(schemas.StatusExport, _path(args.id, args.draft, "export"))
    else:
        with _open(settings) as (store, config):
            result = export(store=store, config=config, incident_id=args.id, draft_id=args.draft)
    if args.format == "slack":
        print(result.slack)
    elif args.format == "statuspage":
        if result.statuspage is None:
            raise UsageError(
                f"update {result.update_id} is an {result.audience} update; only public updates "
                "go to a status page"
            )
        print(result.statuspage.model_dump_json(indent=2))
    else:
        print_json(result.model_dump(mode="json"))
    return 0


def register(subparsers: Any) -> None:
    """Add `copilot status ...` to the main parser."""
    parser = subparsers.add_parser("status", help="draft and publish status updates")
    sub = parser.add_subparsers(dest="status_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace, Settings], int], help_: str) -> Any:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        p.add_argument("id", metavar="INCIDENT", help="incident id, e.g. INC-42")
        return p

    p = add("draft", cmd_draft, "draft an update for one audience from the incident record")
    p.add_argument("--audience", "-a", required=True, choices=["internal", "executive", "public"])
    p.add_argument("--author", help="who asks for it")
    p.add_argument(
        "--runbook",
        action="store_true",
        help="internal drafts: load the knowledge base and point at the best-matching runbook",
    )
    p.add_argument("--json", action="store_true")

    p = add("list", cmd_list, "list an incident's drafts, newest first")
    p.add_argument("--audience", choices=["internal", "executive", "public"])
    p.add_argument("--json", action="store_true")

    p = add("show", cmd_show, "show one draft")
    p.add_argument("draft", metavar="DRAFT", help="draft id")
    p.add_argument("--json", action="store_true")

    p = add("publish", cmd_publish, "publish a draft (once) to the incident timeline")
    p.add_argument("draft", metavar="DRAFT", help="draft id")
    p.add_argument("--title", help="an edited title")
    p.add_argument("--body", help="an edited body (it passes the same checks)")
    p.add_argument("--body-file", metavar="PATH", help="read the edited body from a file (- stdin)")
    p.add_argument("--author", help="who publishes it")
    p.add_argument(
        "--component",
        action="append",
        metavar="NAME=STATUS",
        help="public updates: set a status page component (operational, degraded_performance, "
        "partial_outage, major_outage); repeat for several",
    )
    p.add_argument(
        "--impact",
        choices=["none", "minor", "major", "critical"],
        help="public updates: the incident's impact on the status page",
    )
    p.add_argument(
        "--public-status",
        choices=["investigating", "identified", "monitoring", "resolved"],
        help="public updates: the incident's status on the status page (by default its phase's)",
    )
    p.add_argument("--json", action="store_true")

    p = add("export", cmd_export, "a published update for a status page or Slack")
    p.add_argument("draft", metavar="DRAFT", help="draft id")
    p.add_argument("--format", choices=["json", "slack", "statuspage"], default="json")
