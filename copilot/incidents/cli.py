"""`copilot incident ...`: declare, list, show, note, status, severity, role, metrics, triage."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel

from copilot.cliutil import (
    UsageError,
    api_word,
    build,
    fmt_time,
    incident_store,
    moment,
    print_json,
    server,
)
from copilot.settings import Settings

if TYPE_CHECKING:
    from copilot.client import Client

# The API's role names, and the shorter or hyphenated ones the CLI also accepts.
ROLES = ("incident_commander", "escalation_lead", "scribe", "customer_liaison", "responder")
ROLE_ALIASES = {"commander": "incident_commander", "ic": "incident_commander"}
ROLE_ALIASES |= {"liaison": "customer_liaison", "lead": "escalation_lead"}
STATUSES = ("triage", "mobilized", "mitigating", "monitoring", "resolved", "closed")

_store = incident_store
_build = build
_time = fmt_time


def _share(value: str) -> float:
    """A share as people write it: 0.2, or 20% (a bare 20 is refused: 20% or 0.2?)."""
    text = value.strip()
    percent = text.endswith("%")
    try:
        number = float(text.removesuffix("%").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a share like 0.2 or 20%") from None
    share = number / 100 if percent else number
    if not 0 <= share <= 1:
        hint = f" (did you mean {number:g}%?)" if not percent and 1 < number <= 100 else ""
        raise argparse.ArgumentTypeError(f"{value!r} is not a share between 0 and 1{hint}")
    return share


def role_name(value: str) -> str:
    """A role as the API names it, from that name, a hyphenated one or a short alias."""
    key = api_word(value)
    role = ROLE_ALIASES.get(key, key)
    if role not in ROLES:
        raise argparse.ArgumentTypeError(
            f"unknown role {value!r}; expected one of {', '.join(ROLES)} "
            "(hyphens work too, and ic, commander, liaison, lead)"
        )
    return role


def _path(incident_id: str, *rest: str) -> str:
    parts = [quote(incident_id, safe=""), *(quote(p, safe="") for p in rest)]
    return "/v1/incidents/" + "/".join(parts)


def _body(request: BaseModel) -> Any:
    """A validated request as the JSON the API takes (only what was given)."""
    return request.model_dump(mode="json", exclude_unset=True)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign, total = ("-" if seconds < 0 else ""), int(abs(round(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


def _roles_line(incident: Any) -> str:
    r = incident.roles
    parts = [f"IC {r.incident_commander or '(none)'}"]
    for label, person in (
        ("escalation lead", r.escalation_lead),
        ("scribe", r.scribe),
        ("liaison", r.customer_liaison),
    ):
        if person:
            parts.append(f"{label} {person}")
    if r.responders:
        parts.append(f"responders {', '.join(r.responders)}")
    return " · ".join(parts)


def _print_incident(incident: Any) -> None:
    print(f"{incident.id}  {incident.title}")
    print(
        f"  severity  {incident.severity} ({incident.severity_name})   status  {incident.status}"
        f"   next: {', '.join(incident.allowed_transitions) or '-'}"
    )
    if incident.services or incident.tags:
        print(
            f"  services  {', '.join(incident.services) or '-'}   "
            f"tags  {', '.join(incident.tags) or '-'}"
        )
    if incident.summary:
        print(f"  summary   {incident.summary}")
    if incident.customer_impact:
        print(f"  impact    {incident.customer_impact}")
    stamps = [
        ("started", incident.started_at),
        ("detected", incident.detected_at),
        ("declared", incident.declared_at),
        ("mitigated", incident.mitigated_at),
        ("resolved", incident.resolved_at),
        ("closed", incident.closed_at),
    ]
    print("  " + "   ".join(f"{name} {_time(v)}" for name, v in stamps if v))
    print(f"  roles     {_roles_line(incident)}")
    if incident.next_update_due is not None:
        overdue = " (OVERDUE)" if incident.update_overdue else ""
        print(
            f"  updates   every {incident.update_cadence_minutes} min; last "
            f"{_time(incident.last_status_update_at)}; next due "
            f"{_time(incident.next_update_due)}{overdue}"
        )


def _print_event(event: Any) -> None:
    extra = f" (corrects #{event.corrects})" if event.corrects else ""
    fixed = f" [corrected by {', '.join(f'#{i}' for i in event.corrected_by)}]"
    fixed = fixed if event.corrected_by else ""
    author = event.author or "-"
    print(
        f"  #{event.id:<4} {_time(event.at)}  {event.kind:<15} {author:<10} "
        f"{event.text}{extra}{fixed}"
    )


# -- commands ---------------------------------------------------------------------------------


def cmd_declare(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import schemas, service

    roles = {"incident_commander": args.commander} if args.commander else None
    request = _build(
        schemas.IncidentCreate,
        {
            "title": args.title,
            "severity": args.severity,
            "summary": args.summary,
            "services": args.service,
            "tags": args.tag,
            "customer_impact": args.impact,
            "started_at": args.started_at,
            "detected_at": args.detected_at,
            "declared_at": args.declared_at,
            "roles": roles,
            "author": args.author,
        },
    )
    remote = server(settings)
    if remote is not None:
        incident = remote.post(schemas.Incident, "/v1/incidents", _body(request))
    else:
        with _store(settings) as store:
            incident = service.declare(store=store, request=request)
    if args.json:
        print(incident.model_dump_json(indent=2))
    else:
        print(f"declared {incident.id} ({incident.severity}, {incident.status})")
        _print_incident(incident)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import schemas, service

    if not 1 <= args.limit <= service.MAX_LIST:
        raise UsageError(f"--limit must be between 1 and {service.MAX_LIST}")
    remote = server(settings)
    if remote is not None:
        found = remote.get(
            schemas.IncidentList,
            "/v1/incidents",
            status=args.status,
            severity=args.severity,
            service=args.service,
            limit=args.limit,
        )
        incidents = found.incidents
    else:
        with _store(settings) as store:
            incidents = service.list_incidents(
                store=store,
                status=args.status,
                severity=args.severity,
                service=args.service,
                limit=args.limit,
            )
    if args.json:
        print(schemas.IncidentList(incidents=incidents).model_dump_json(indent=2))
        return 0
    if not incidents:
        print("no incidents")
    for i in incidents:
        due = " update overdue" if i.update_overdue else ""
        print(
            f"{i.id:<8} {i.severity:<5} {i.status:<11} {_time(i.declared_at)}  {i.title}"
            f"{'  [' + ', '.join(i.services) + ']' if i.services else ''}{due}"
        )
    return 0


def _get_incident(remote: Client | None, settings: Settings, incident_id: str) -> Any:
    from copilot.incidents import schemas, service

    if remote is not None:
        return remote.get(schemas.Incident, _path(incident_id))
    with _store(settings) as store:
        return service.get_incident(store=store, incident_id=incident_id)


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import schemas, service

    remote = server(settings)
    if remote is not None:
        incident = remote.get(schemas.Incident, _path(args.id))
        events = remote.get(schemas.EventList, _path(args.id, "events")).events
    else:
        with _store(settings) as store:
            incident = service.get_incident(store=store, incident_id=args.id)
            events = service.list_events(store=store, incident_id=args.id)
    if args.json:
        print_json(
            {
                "incident": incident.model_dump(mode="json"),
                "events": [e.model_dump(mode="json") for e in events],
            }
        )
        return 0
    _print_incident(incident)
    print("Timeline")
    for event in events:
        _print_event(event)
    return 0


def cmd_note(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import schemas, service

    kind = "correction" if args.corrects and args.kind == "note" else args.kind
    event = _build(
        schemas.EventCreate,
        {
            "kind": kind,
            "text": args.text,
            "author": args.author,
            "at": args.at,
            "corrects": args.corrects,
            "audience": args.audience,
        },
    )
    remote = server(settings)
    if remote is not None:
        row = remote.post(schemas.Event, _path(args.id, "events"), _body(event))
    else:
        with _store(settings) as store:
            row = service.add_event(store=store, incident_id=args.id, event=event)
    if args.json:
        print(row.model_dump_json(indent=2))
    else:
        print(f"{row.incident_id}: added #{row.id}")
        _print_event(row)
    return 0


def _patch(
    args: argparse.Namespace,
    settings: Settings,
    changes: dict[str, Any],
    remote: Client | None = None,
) -> int:
    from copilot.incidents import schemas, service

    patch = _build(
        schemas.IncidentPatch,
        {**changes, "at": args.at, "author": args.author, "reason": args.reason},
    )
    if remote is not None:
        incident = remote.patch(schemas.Incident, _path(args.id), _body(patch))
    else:
        with _store(settings) as store:
            incident = service.update_incident(store=store, incident_id=args.id, patch=patch)
    if args.json:
        print(incident.model_dump_json(indent=2))
    else:
        _print_incident(incident)
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    return _patch(args, settings, {"status": args.status}, server(settings))


def cmd_severity(args: argparse.Namespace, settings: Settings) -> int:
    return _patch(args, settings, {"severity": args.severity}, server(settings))


def cmd_role(args: argparse.Namespace, settings: Settings) -> int:
    role: str = args.role
    remote = server(settings)
    roles: dict[str, Any]
    if role == "responder":
        roles = {"remove_responders" if args.remove else "add_responders": [args.person]}
    else:
        roles = {role: None if args.remove else args.person}
    if args.remove and role != "responder":
        # Only the current holder can be removed; say so rather than relieve someone else.
        current = getattr(_get_incident(remote, settings, args.id).roles, role)
        if current != args.person:
            raise UsageError(f"{args.person} is not the {role} of {args.id}")
    return _patch(args, settings, {"roles": roles}, remote)


def cmd_metrics(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import schemas, service

    if args.id and (args.since or args.until):
        raise UsageError("--since and --until are for the aggregate, not one incident")
    remote = server(settings)
    if args.id:
        if remote is not None:
            one = remote.get(schemas.IncidentMetrics, _path(args.id, "metrics"))
        else:
            with _store(settings) as store:
                one = service.incident_metrics(store=store, incident_id=args.id)
        if args.json:
            print(one.model_dump_json(indent=2))
        else:
            _print_metrics(one)
        return 0
    if remote is not None:
        agg = remote.get(
            schemas.AggregateMetrics, "/v1/metrics/incidents", since=args.since, until=args.until
        )
    else:
        with _store(settings) as store:
            agg = service.aggregate_metrics(store=store, since=args.since, until=args.until)
    if args.json:
        print(agg.model_dump_json(indent=2))
    else:
        _print_aggregate(agg)
    return 0


def _print_metrics(mx: Any) -> None:
    print(f"{mx.incident_id}  {mx.severity}  {mx.status}")
    print(f"  time to detect     {_duration(mx.time_to_detect_s)}")
    for name in ("declare", "mitigate", "resolve"):
        value = getattr(mx, f"time_to_{name}_s")
        check = mx.targets.get(name)
        note = ""
        if check is not None:
            verdict = {True: "met", False: "MISSED", None: "running"}[check.met]
            note = f"   (target {_duration(check.target_s)}: {verdict})"
        print(f"  time to {name:<10} {_duration(value)}{note}")
    imp = mx.impact
    end = "ongoing" if imp.ongoing else _time(imp.end)
    print(f"  impact window      {_time(imp.start)} -> {end} ({_duration(imp.duration_s)})")
    c = mx.update_cadence
    compliance = "-" if c.compliance is None else f"{c.compliance:.0%}"
    print(
        f"  status updates     {c.updates_published} published, every {c.cadence_minutes} min: "
        f"{c.intervals} intervals, {c.breaches} late ({compliance} on time)"
    )
    if c.next_update_due is not None:
        print(f"  next update due    {_time(c.next_update_due)}{' (OVERDUE)' if c.overdue else ''}")
    print(f"  reopened           {mx.reopened}")


def _stat(st: Any) -> str:
    if not st.count:
        return "-"
    return f"{_duration(st.mean)} / {_duration(st.p50)}"


def _print_aggregate(agg: Any) -> None:
    since = _time(agg.since) if agg.since else "the beginning"
    print(f"Incidents declared from {since} to {_time(agg.until)}: {agg.overall.incidents}")
    header = f"  {'group':<18}{'n':>3}  {'mitigate mean/p50':<20}{'resolve mean/p50':<20}late"
    print(header)
    rows: list[tuple[str, Any]] = [("all", agg.overall)]
    rows += [(sev, g) for sev, g in agg.by_severity.items()]
    rows += [(f"service {svc}", g) for svc, g in agg.by_service.items()]
    for name, g in rows:
        print(
            f"  {name:<18}{g.incidents:>3}  {_stat(g.time_to_mitigate_s):<20}"
            f"{_stat(g.time_to_resolve_s):<20}{g.update_breaches}"
        )
    for label, items in (("services", agg.recurring.services), ("tags", agg.recurring.tags)):
        if items:
            listed = "; ".join(f"{r.name} ({', '.join(r.incidents)})" for r in items)
            print(f"  recurring {label}: {listed}")


def cmd_triage(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents import schemas
    from copilot.incidents.severity import load_taxonomy
    from copilot.incidents.triage import triage

    request = _build(
        schemas.TriageRequest,
        {
            "alerts": args.alert,
            "services": args.service,
            "error_rate": args.error_rate,
            "latency_p99_ms": args.latency_p99_ms,
            "duration_minutes": args.duration_minutes,
            "users_affected": args.users_affected,
            "revenue_per_hour": args.revenue_per_hour,
            "customer_facing": args.customer_facing,
        },
    )
    result = triage(taxonomy=load_taxonomy(settings.severity_file), request=request)
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    if result.declare:
        print(f"declare: yes, {result.severity} ({result.severity_name})")
    else:
        print("declare: no")
    for reason in result.reasons:
        print(f"  - {reason}")
    return 0


# -- parser -----------------------------------------------------------------------------------


def _change_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--at", type=moment, help="when it happened (HH:MM UTC, or ISO 8601); default now"
    )
    p.add_argument("--author", help="who is recording it")
    p.add_argument("--reason", help="why, for the timeline")
    p.add_argument("--json", action="store_true")


def register(subparsers: Any) -> None:
    """Add `copilot incident ...` to the main parser."""
    parser = subparsers.add_parser("incident", help="declare and run incidents")
    sub = parser.add_subparsers(dest="incident_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace, Settings], int], help_: str) -> Any:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        return p

    p = add("declare", cmd_declare, "declare an incident")
    p.add_argument("title")
    p.add_argument("-s", "--severity", required=True, help="SEV1..SEV4 or P1..P4")
    p.add_argument("--summary")
    p.add_argument("--service", action="append", help="a service it touches (repeatable)")
    p.add_argument("--tag", action="append", help="a failure mode or cause (repeatable)")
    p.add_argument("--impact", help="customer impact, in words")
    p.add_argument("--started-at", type=moment, help="when impact began (HH:MM UTC, or ISO 8601)")
    p.add_argument("--detected-at", type=moment, help="when it was detected (HH:MM or ISO 8601)")
    p.add_argument(
        "--declared-at", type=moment, help="back-fill the declaration time (default now)"
    )
    p.add_argument("--commander", help="the incident commander")
    p.add_argument("--author", help="who is declaring")
    p.add_argument("--json", action="store_true")

    p = add("list", cmd_list, "list incidents, newest first")
    p.add_argument("--status", type=api_word, choices=STATUSES)
    p.add_argument("--severity")
    p.add_argument("--service")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")

    p = add("show", cmd_show, "show an incident and its timeline")
    p.add_argument("id", help="e.g. INC-42")
    p.add_argument("--json", action="store_true")

    p = add("note", cmd_note, "add an event to the timeline")
    p.add_argument("id")
    p.add_argument("text")
    p.add_argument(
        "--kind",
        default="note",
        type=api_word,
        choices=[
            "note",
            "action",
            "decision",
            "hypothesis",
            "alert",
            "mitigation",
            "impact",
            "status_update",
            "correction",
        ],
    )
    p.add_argument("--corrects", type=int, help="id of the event this corrects")
    p.add_argument("--audience", choices=["internal", "executive", "public"])
    p.add_argument("--at", type=moment, help="when it happened (HH:MM UTC, or ISO 8601)")
    p.add_argument("--author")
    p.add_argument("--json", action="store_true")

    p = add("status", cmd_status, "move an incident through its lifecycle")
    p.add_argument("id")
    p.add_argument("status", type=api_word, choices=STATUSES)
    _change_options(p)

    p = add("severity", cmd_severity, "change an incident's severity")
    p.add_argument("id")
    p.add_argument("severity", help="SEV1..SEV4 or P1..P4")
    _change_options(p)

    p = add("role", cmd_role, "assign (or --remove) a role")
    p.add_argument("id")
    p.add_argument(
        "role",
        type=role_name,
        metavar="ROLE",
        help=f"{', '.join(ROLES)} (or with hyphens; ic, commander, liaison, lead)",
    )
    p.add_argument("person")
    p.add_argument("--remove", action="store_true", help="relieve the person of the role")
    _change_options(p)

    p = add("metrics", cmd_metrics, "response metrics of one incident, or aggregates")
    p.add_argument("id", nargs="?", help="one incident; omit for aggregates")
    p.add_argument("--since", help="30d, 12h, 2w or an ISO date (aggregates)")
    p.add_argument("--until", help="end of the period (aggregates); default now")
    p.add_argument("--json", action="store_true")

    p = add("triage", cmd_triage, "should we declare? suggest a severity from alert signals")
    p.add_argument("--alert", action="append", help="an alert name (repeatable)")
    p.add_argument("--service", action="append")
    p.add_argument("--error-rate", type=_share, help="failing share: 0.05 or 5%%")
    p.add_argument("--latency-p99-ms", type=float)
    p.add_argument("--duration-minutes", type=float)
    p.add_argument("--users-affected", type=int)
    p.add_argument("--revenue-per-hour", type=float)
    facing = p.add_mutually_exclusive_group()
    facing.add_argument(
        "--customer-facing", dest="customer_facing", action="store_true", default=None
    )
    facing.add_argument("--internal", dest="customer_facing", action="store_false")
    p.add_argument("--json", action="store_true")
