"""`copilot keys create|list|revoke` and `copilot audit list`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from copilot.cliutil import UsageError, print_json
from copilot.errors import InvalidInput
from copilot.settings import Settings

# Imported when a command runs, not when the parser is built: every `copilot` call builds it.
SCOPE_HELP = (
    "read (search, ask, view), respond (incident writes, drafts), admin (ingest, keys), "
    "alerts (the Alertmanager and Grafana webhooks only); repeatable"
)


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.security.keys import KeyStore

    keys = KeyStore(settings.security_path)
    try:
        record, key = keys.create(args.name, args.scope)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    finally:
        keys.close()
    if args.json:
        print_json({"name": record.name, "key": key, "scopes": list(record.scopes)})
    else:
        print(f"key {record.name!r} ({', '.join(record.scopes)}):\n{key}")
        print("Store it now: it is not shown again (only its hash is kept).")
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.security.keys import KeyStore

    keys = KeyStore(settings.security_path)
    try:
        found = keys.list(include_revoked=args.all)
    finally:
        keys.close()
    if args.json:
        print_json({"keys": [k.public() for k in found]})
        return 0
    if not found:
        print("no API keys: the server runs open, on loopback only")
    for k in found:
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        print(f"{k.name}\t{','.join(k.scopes)}\tcreated {k.created_at}\t{state}\tid {k.key_id}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.security.keys import KeyStore

    keys = KeyStore(settings.security_path)
    try:
        record = keys.revoke(args.name)
    finally:
        keys.close()
    if args.json:
        print_json(record.public())
    else:
        print(f"revoked {record.name!r}; it stops working on the next request")
    return 0


def cmd_audit_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.incidents.service import canonical_id
    from copilot.security.audit import AuditLog

    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit must be between 1 and 1000")
    incident = canonical_id(args.incident) if args.incident else None
    audit = AuditLog(settings.security_path)
    try:
        records = audit.list(incident_id=incident, limit=args.limit)
    finally:
        audit.close()
    if args.json:
        print_json({"records": [r.as_dict() for r in records]})
        return 0
    for r in records:
        where = f" [{r.incident_id}]" if r.incident_id else ""
        print(f"{r.at}  {r.who}  {r.action}{where}: {r.question}")
        if r.sources:
            print(f"    sources: {', '.join(r.sources)}")
    return 0


def register(subparsers: Any) -> None:
    """Add `copilot keys ...` and `copilot audit ...` to the main parser."""
    keys = subparsers.add_parser("keys", help="create, list and revoke API keys")
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace, Settings], int], help_: str) -> Any:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        p.add_argument("--json", action="store_true")
        return p

    p = add("create", cmd_keys_create, "create a key; it is printed once")
    p.add_argument("name", help="who or what uses it, e.g. oncall-bot")
    p.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help=SCOPE_HELP,
    )
    p = add("list", cmd_keys_list, "list keys (never the keys themselves)")
    p.add_argument("--all", action="store_true", help="include revoked keys")
    p = add("revoke", cmd_keys_revoke, "revoke a key by name")
    p.add_argument("name")

    audit = subparsers.add_parser("audit", help="what the copilot answered, for whom")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = asub.add_parser("list", help="latest audit records, newest first")
    p.set_defaults(handler=cmd_audit_list)
    p.add_argument("--incident", metavar="ID", help="only records about this incident")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
