"""`copilot catalog ...`: import, list, show, impact.

The catalog lives in the data directory's database (or COPILOT_DATABASE_URL), which a running
server shares safely, so these commands work on it directly.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from copilot.cliutil import print_model
from copilot.settings import Settings


@contextmanager
def _db(settings: Settings) -> Iterator[Any]:
    from copilot.db import Database

    db = Database.open(settings)
    try:
        yield db
    finally:
        db.close()


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.catalog import impact, service

    with _db(settings) as db:
        report = service.import_paths(db=db, paths=args.paths)
    if args.json:
        print_model(impact.import_response(report))
    else:
        print(
            f"catalog: {len(report.imported)} file(s) imported, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed, {len(report.failed)} failed; "
            f"{report.entities} entities"
        )
        for problem in report.failed:
            print(f"error: {problem} (file not imported)")
        for problem in report.problems:
            print(f"error: {problem} (left out)")
        for problem in report.unresolved:
            print(f"warning: {problem}")
        for cycle in report.cycles:
            print(f"warning: dependency cycle: {' -> '.join(cycle)}")
    return 1 if report.failed or report.problems else 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.catalog import impact

    with _db(settings) as db:
        result = impact.list_entities(db=db, kind=args.kind)
    if args.json:
        print_model(result)
        return 0
    for e in result.entities:
        owner = f"  owner {e.owner}" if e.owner else ""
        print(f"{e.ref}  {e.title}{owner}")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.catalog import impact

    with _db(settings) as db:
        e = impact.show(db=db, name=args.name)
    if args.json:
        print_model(e)
        return 0
    print(f"{e.ref}  {e.title}")
    for label, value in (
        ("type", e.type),
        ("lifecycle", e.lifecycle),
        ("system", e.system),
        ("domain", e.domain),
        ("public name", e.public_name),
        ("description", e.description),
        ("defined in", f"{e.file}:{e.line}"),
    ):
        if value:
            print(f"  {label}: {value}")
    if e.owner_detail:
        contacts = ", ".join(e.owner_detail.contacts) or "no contact listed"
        print(f"  owner: {e.owner_detail.name} ({e.owner_detail.ref}): {contacts}")
    for label, refs in (
        ("depends on", e.depends_on),
        ("depended on by", e.dependents),
        ("provides", e.provides_apis),
        ("consumes", e.consumes_apis),
        ("owns", e.owned),
    ):
        if refs:
            print(f"  {label}: {', '.join(refs)}")
    if e.aliases:
        print(f"  also known as: {', '.join(e.aliases)}")
    return 0


def cmd_impact(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.catalog import impact

    with _db(settings) as db:
        result = impact.blast_radius(db=db, names=args.names)
    if args.svg:
        from pathlib import Path

        from copilot.catalog import render

        Path(args.svg).write_bytes(render.svg(result))
    if args.json:
        print_model(result)
        return 0
    print("failing: " + (", ".join(a.ref for a in result.failing) or "nothing the catalog knows"))
    if result.unmapped:
        print("not in the catalog: " + ", ".join(result.unmapped))
    print(f"affected dependents ({len(result.dependents)}):")
    for a in result.dependents:
        public = f"  [public: {a.public_name}]" if a.public_name else ""
        print(f"  {a.ref}{public}  via {' <- '.join(a.path)}")
    if result.user_facing:
        print("user-facing: " + ", ".join(f"{p.public_name} ({p.ref})" for p in result.user_facing))
    if result.systems:
        print("systems: " + ", ".join(result.systems))
    if result.domains:
        print("domains: " + ", ".join(result.domains))
    print("owners:")
    for o in result.owners:
        print(f"  {o.name} ({o.ref}): {', '.join(o.contacts) or 'no contact listed'}")
        print(f"    owns: {', '.join(o.owns)}")
    if result.upstream:
        print("check first (what the failing entities depend on):")
        for a in result.upstream:
            print(f"  {a.ref}  owner {a.owner or '-'}  via {' -> '.join(a.path)}")
    return 0


def register(sub: Any) -> None:
    """Add `copilot catalog ...` to the CLI's sub-commands."""
    catalog = sub.add_parser("catalog", help="service catalog: import, list, show, impact")
    commands = catalog.add_subparsers(dest="catalog_command", required=True)

    def command(
        name: str, handler: Callable[[argparse.Namespace, Settings], int], **kw: Any
    ) -> Any:
        p = commands.add_parser(name, **kw)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=handler)
        return p

    p = command("import", cmd_import, help="import Backstage catalog-info YAML (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = command("list", cmd_list, help="list entities")
    p.add_argument("--kind", help="component, api, resource, system, domain, group, user")
    p = command("show", cmd_show, help="one entity: owner, contacts, dependencies")
    p.add_argument("name", metavar="NAME")
    p = command("impact", cmd_impact, help="blast radius of failing entities")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--svg", metavar="FILE", help="also write the picture (needs Graphviz's dot)")
