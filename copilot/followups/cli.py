"""`copilot follow-ups list|add|show|update`: tracked action items, through a running server when
there is one. Alone, changes go to the webhook outbox, which a server delivers when it runs."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import quote

from copilot.cliutil import UsageError, api_word, build, incident_store, print_json, server
from copilot.settings import Settings


def _listeners(settings: Settings) -> list[Any]:
    from copilot.integrations import webhooks

    dispatcher = webhooks.from_settings(settings)
    return [dispatcher.on_follow_up] if dispatcher is not None else []


@contextmanager
def _local(settings: Settings) -> Iterator[Any]:
    with incident_store(settings) as store:
        yield store


def _print(item: Any) -> None:
    due = item.due_on.isoformat() if item.due_on else "no due date"
    late = " OVERDUE" if item.overdue else ""
    who = item.owner or item.team or "no owner"
    origin = f" from {item.incident_id}" if item.incident_id else ""
    print(f"{item.id} [{item.status}] {item.priority} {due}{late} - {who}{origin}: {item.title}")
    if item.external_url:
        print(f"    {item.external_url}")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.followups import schemas as s
    from copilot.followups import service

    query = {
        "status": args.status,
        "overdue": args.overdue or None,
        "incident": args.incident,
        "owner": args.owner,
        "team": args.team,
        "limit": args.limit,
    }
    remote = server(settings)
    if remote is not None:
        result = remote.get(
            s.FollowUpList, "/v1/follow-ups", **{k: v for k, v in query.items() if v is not None}
        )
    else:
        if not 1 <= args.limit <= service.MAX_LIST:
            raise UsageError(f"--limit must be between 1 and {service.MAX_LIST}")
        with _local(settings) as store:
            result = service.list_follow_ups(
                store=store,
                status=args.status,
                overdue=args.overdue,
                incident_id=args.incident,
                owner=args.owner,
                team=args.team,
                limit=args.limit,
            )
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0
    for item in result.follow_ups:
        _print(item)
    print(f"{result.count} listed, {result.overdue} overdue in all")
    return 0


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "title": args.title,
        "owner": args.owner,
        "team": args.team,
        "due_on": args.due,
        "priority": args.priority,
        "status": args.status,
        "external_url": args.link,
    }


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.followups import schemas as s
    from copilot.followups import service

    request = build(s.FollowUpCreate, {**_fields(args), "incident_id": args.incident})
    remote = server(settings)
    if remote is not None:
        item = remote.post(s.FollowUp, "/v1/follow-ups", request.model_dump(mode="json"))
    else:
        with _local(settings) as store:
            item = service.create(store=store, request=request, listeners=_listeners(settings))
    if args.json:
        print_json(item.model_dump(mode="json"))
    else:
        _print(item)
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.followups import schemas as s
    from copilot.followups import service

    remote = server(settings)
    if remote is not None:
        item = remote.get(s.FollowUp, f"/v1/follow-ups/{quote(args.id, safe='')}")
    else:
        with _local(settings) as store:
            item = service.get(store=store, follow_up_id=args.id)
    if args.json:
        print_json(item.model_dump(mode="json"))
    else:
        _print(item)
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.followups import schemas as s
    from copilot.followups import service

    patch = build(s.FollowUpPatch, _fields(args))
    remote = server(settings)
    if remote is not None:
        body = patch.model_dump(mode="json", exclude_unset=True)
        item = remote.patch(s.FollowUp, f"/v1/follow-ups/{quote(args.id, safe='')}", body)
    else:
        with _local(settings) as store:
            item = service.update(
                store=store, follow_up_id=args.id, patch=patch, listeners=_listeners(settings)
            )
    if args.json:
        print_json(item.model_dump(mode="json"))
    else:
        _print(item)
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-31") from None


STATUSES = ["open", "in_progress", "done", "wont_do"]


def _common(p: argparse.ArgumentParser, *, title_required: bool) -> None:
    if title_required:
        p.add_argument("title", help="what is to be done")
    else:
        p.add_argument("--title")
    p.add_argument("--owner", help="who does it")
    p.add_argument("--team", help="the team that owns it")
    p.add_argument("--due", type=_day, metavar="YYYY-MM-DD")
    p.add_argument("--priority", choices=["high", "medium", "low"])
    p.add_argument("--status", type=api_word, choices=STATUSES)
    p.add_argument("--link", metavar="URL", help="the issue tracker's link")
    p.add_argument("--json", action="store_true")


def register(subparsers: Any) -> None:
    """Add `copilot follow-ups ...` to the main parser."""
    group = subparsers.add_parser(
        "follow-ups", help="postmortem action items tracked to done (list, add, show, update)"
    )
    sub = group.add_subparsers(dest="follow_ups_command", required=True, metavar="ACTION")

    p = sub.add_parser("list", help="follow-ups, overdue first")
    p.add_argument("--status", type=api_word, choices=STATUSES)
    p.add_argument("--overdue", action="store_true", help="only the overdue ones")
    p.add_argument("--incident", metavar="ID")
    p.add_argument("--owner")
    p.add_argument("--team")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("add", help="track a new follow-up")
    _common(p, title_required=True)
    p.add_argument("--incident", metavar="ID", help="the incident it came from, e.g. INC-42")
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser("show", help="one follow-up")
    p.add_argument("id", metavar="FOLLOW_UP", help="e.g. FU-7")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("update", help="change a follow-up (status, owner, due date, ...)")
    p.add_argument("id", metavar="FOLLOW_UP", help="e.g. FU-7")
    _common(p, title_required=False)
    p.set_defaults(handler=cmd_update)
