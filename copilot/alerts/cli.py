"""`copilot alerts list|show|replay`: alerts and alert groups, and saved payloads fed offline."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from copilot.cliutil import UsageError, fmt_time, incident_store, print_json, print_model, server
from copilot.settings import Settings

MAX_REPLAY_BYTES = 256 * 1024 * 1024


def _print_alert(alert: Any) -> None:
    flaps = f" · {alert.flaps} flap(s)" if alert.flaps else ""
    where = (
        f" · group {alert.group_id}"
        if alert.group_id
        else (" · heartbeat" if alert.heartbeat else "")
    )
    service = alert.labels.get("service", "")
    print(
        f"{alert.fingerprint}  {alert.status:<8} {alert.name}"
        f"{' on ' + service if service else ''} · since {fmt_time(alert.starts_at)}{flaps}{where}"
    )


def _print_group(group: Any, *, alerts: bool) -> None:
    incident = f" · {group.incident_id}" if group.incident_id else ""
    print(
        f"group {group.id}  {group.status:<9} {group.suggested_severity}  {group.title}"
        f" · {group.firing} firing, {group.resolved} resolved{incident}"
    )
    print(f"  why: {group.reason}")
    if group.dismissed_reason:
        print(f"  dismissed: {group.dismissed_reason}")
    if group.reopen is not None:
        print(
            f"  proposes reopening {group.reopen.incident_id} ({group.reopen.incident_status}): "
            f"{group.reopen.reason}"
        )
    if group.policy:
        print(f"  declared by the auto-declare policy {group.policy}")
    for runbook in group.runbooks:
        print(
            f"  runbook for {runbook.alertname}: {runbook.source}:{runbook.lines[0]}-"
            f"{runbook.lines[1]} ({runbook.section}; {runbook.found_by}, score {runbook.score:.2f})"
        )
    if alerts:
        for alert in group.alerts:
            print("  ", end="")
            _print_alert(alert)
            if alert.group_reason:
                print(f"      joined: {alert.group_reason}")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.alerts import schemas, service
    from copilot.alerts.rules import load_rules

    if not 1 <= args.limit <= 500:
        raise UsageError("--limit must be between 1 and 500")
    remote = server(settings)
    if args.groups:
        query = {"limit": args.limit, **({"status": args.status} if args.status else {})}
        if remote is not None:
            groups = remote.get(schemas.GroupList, "/v1/alert-groups", **query)
        else:
            with incident_store(settings) as store:
                groups = schemas.GroupList(
                    items=service.list_groups(
                        store=store,
                        rules=load_rules(settings.alert_rules),
                        status=args.status,
                        limit=args.limit,
                    )
                )
        if args.json:
            print_model(groups)
            return 0
        for group in groups.items:
            _print_group(group, alerts=False)
        if not groups.items:
            print("no alert groups")
        return 0
    if args.status not in (None, "firing", "resolved"):
        raise UsageError("alerts are firing or resolved; use --groups for group statuses")
    query = {"limit": args.limit, **({"status": args.status} if args.status else {})}
    if remote is not None:
        alerts = remote.get(schemas.AlertList, "/v1/alerts", **query)
    else:
        with incident_store(settings) as store:
            alerts = schemas.AlertList(
                items=service.list_alerts(store=store, status=args.status, limit=args.limit)
            )
    if args.json:
        print_model(alerts)
        return 0
    for alert in alerts.items:
        _print_alert(alert)
    if not alerts.items:
        print("no alerts")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.alerts import schemas, service
    from copilot.alerts.rules import load_rules

    ident = args.id.strip()
    remote = server(settings)
    if ident.isdigit():
        if remote is not None:
            group = remote.get(schemas.GroupView, f"/v1/alert-groups/{int(ident)}")
        else:
            with incident_store(settings) as store:
                group = service.get_group(
                    store=store, rules=load_rules(settings.alert_rules), group_id=int(ident)
                )
        if args.json:
            print_model(group)
        else:
            _print_group(group, alerts=True)
        return 0
    if remote is not None:
        alert = remote.get(schemas.AlertView, f"/v1/alerts/{quote(ident, safe='')}")
    else:
        with incident_store(settings) as store:
            alert = service.get_alert(store=store, fingerprint=ident)
    if args.json:
        print_model(alert)
        return 0
    _print_alert(alert)
    for name, value in sorted(alert.annotations.items()):
        print(f"  {name}: {value}")
    if alert.group_reason:
        print(f"  joined group {alert.group_id}: {alert.group_reason}")
    return 0


def _payloads(path: Path) -> list[Any]:
    """One payload, a JSON list of payloads, or one payload a line (JSON lines)."""
    try:
        if path.stat().st_size > MAX_REPLAY_BYTES:
            raise UsageError(f"{path} is larger than {MAX_REPLAY_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{path}: not JSON nor JSON lines (line {exc.lineno}: {exc.msg})"
            ) from None
    return data if isinstance(data, list) else [data]


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.alerts import intake, schemas, service
    from copilot.alerts.rules import load_rules
    from copilot.errors import InvalidInput

    rules = load_rules(Path(args.rules) if args.rules else settings.alert_rules)
    payloads = _payloads(Path(args.file))
    model = schemas.GrafanaPayload if args.source == "grafana" else schemas.AlertmanagerPayload
    # Every payload is checked before any is applied: a bad file applies nothing.
    notifications = []
    for n, raw in enumerate(payloads, 1):
        try:
            payload = model.model_validate(raw)
            notifications.append(intake.normalise(payload, source=args.source))
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "payload"
            raise UsageError(f"payload {n}: {where}: {first['msg']}") from None
        except InvalidInput as exc:
            raise UsageError(f"payload {n}: {exc}") from None
    totals = {"payloads": len(notifications), "duplicates": 0, "new": 0, "changed": 0, "flaps": 0}
    with incident_store(settings) as store:
        catalog = service.catalog_for(store)
        for notification in notifications:
            result = service.apply(
                store=store, rules=rules, notification=notification, catalog=catalog
            )
            totals["duplicates"] += result.duplicate
            totals["new"] += result.new
            totals["changed"] += result.changed
            totals["flaps"] += result.flaps
        groups = service.list_groups(store=store, rules=rules, limit=service.MAX_LIST)
    if args.json:
        print_json({**totals, "groups": [g.model_dump(mode="json") for g in groups]})
        return 0
    print(
        f"replayed {totals['payloads']} payload(s): {totals['new']} new alert(s), "
        f"{totals['changed']} change(s), {totals['flaps']} flap(s), "
        f"{totals['duplicates']} duplicate notification(s)"
    )
    candidates = [g for g in groups if g.status == "candidate"]
    print(f"{len(groups)} group(s), {len(candidates)} candidate(s):")
    for group in groups:
        _print_group(group, alerts=False)
    return 0


def register(subparsers: Any) -> None:
    """Add `copilot alerts ...` to the main parser."""
    parser = subparsers.add_parser("alerts", help="alerts in: list, show, replay payloads")
    sub = parser.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace, Settings], int], help_: str) -> Any:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        p.add_argument("--json", action="store_true")
        return p

    p = add("list", cmd_list, "alerts (or --groups), latest first")
    p.add_argument("--groups", action="store_true", help="list alert groups instead")
    p.add_argument(
        "--status",
        choices=("firing", "resolved", "open", "candidate", "declared", "attached", "dismissed"),
    )
    p.add_argument("--limit", type=int, default=100, help="1..500 (default 100)")
    p = add("show", cmd_show, "one alert group (by id) or alert (by fingerprint)")
    p.add_argument("id", help="a group id (12) or an alert fingerprint")
    p = add("replay", cmd_replay, "feed saved webhook payloads through the intake")
    p.add_argument("file", help="a payload, a JSON list of them, or JSON lines")
    p.add_argument("--source", choices=("alertmanager", "grafana"), default="alertmanager")
    p.add_argument("--rules", help="correlation rules to use (default: COPILOT_ALERT_RULES)")
