"""Views of the catalog: entity summaries and details, and the blast radius of failing entities."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from copilot.catalog import schemas as s
from copilot.catalog import service
from copilot.catalog.graph import CatalogGraph, load_graph, reach
from copilot.db import Database
from copilot.errors import NotFound
from copilot.guardrails.screened import ours, screened


def _opt(value: Any) -> str | None:
    return screened(str(value)) if isinstance(value, str | int | float) and str(value) else None


def summary(graph: CatalogGraph, ref: str) -> s.EntitySummary:
    row = graph.entities[ref]
    spec = graph.spec(ref)
    public = graph.public_name(ref)
    return s.EntitySummary(
        ref=ref,
        kind=row["kind"],
        name=row["name"],
        title=screened(graph.title(ref)),
        type=_opt(spec.get("type")),
        lifecycle=_opt(spec.get("lifecycle")),
        owner=graph.owner.get(ref),
        system=graph.system_of(ref),
        public_name=screened(public) if public else None,
        file=row["file"],
        line=row["line"],
    )


# A team's mailbox or chat channel is the point of a contact: shown as written when it is only
# an address (nothing else fits these patterns), screened like any other text otherwise.
_ADDRESS = re.compile(
    r"(mailto:[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}|slack: #[A-Za-z0-9._-]{1,80}"
    r"|pagerduty: [A-Za-z0-9._-]{1,80})"
)


def contact(text: str) -> str:
    return ours(text) if _ADDRESS.fullmatch(text) else screened(text)


def owner_view(graph: CatalogGraph, group: str, owns: Iterable[str] = ()) -> s.Owner:
    return s.Owner(
        ref=group,
        name=screened(graph.title(group)),
        contacts=[contact(c) for c in graph.contacts(group)],
        owns=sorted(set(owns)),
    )


def list_entities(*, db: Database, kind: str | None = None) -> s.EntityList:
    kind = service.check_kind(kind)
    graph = load_graph(db)
    refs = [r for r in sorted(graph.entities) if kind is None or graph.entities[r]["kind"] == kind]
    return s.EntityList(entities=[summary(graph, r) for r in refs])


def show(*, db: Database, name: str) -> s.EntityDetail:
    with db.reading() as conn:
        ref = service.resolve_name(conn, name)
        if ref is None:
            raise NotFound(
                f"no catalog entity named {name[:100]!r}",
                public="catalog entity not found (by ref, name, title or alias)",
            )
        rels = service.relation_rows(conn)
    graph = load_graph(db)
    row = graph.entities[ref]
    meta = row["data"].get("metadata", {})
    links = []
    for link in meta.get("links") or []:
        if isinstance(link, dict) and isinstance(link.get("url"), str):
            links.append(s.Link(url=screened(link["url"]), title=_opt(link.get("title"))))
    out = [(t, g) for src, t, g in rels if src == ref]
    owner = graph.owner.get(ref)
    return s.EntityDetail(
        **summary(graph, ref).model_dump(exclude={"title", "type", "lifecycle", "public_name"}),
        title=screened(graph.title(ref)),
        type=_opt(graph.spec(ref).get("type")),
        lifecycle=_opt(graph.spec(ref).get("lifecycle")),
        public_name=_opt(graph.public_name(ref)),
        description=_opt(meta.get("description")),
        domain=graph.domain_of(ref),
        aliases=[
            screened(a)
            for a in _aliases(db, ref)
            if a not in (row["name"].casefold(), graph.title(ref).casefold())
        ],
        tags=[screened(str(t)) for t in meta.get("tags") or [] if isinstance(t, str)],
        links=links,
        depends_on=sorted(graph.deps.successors(ref)),
        dependents=sorted(graph.deps.predecessors(ref)),
        provides_apis=sorted(g for t, g in out if t == "providesApi"),
        consumes_apis=sorted(g for t, g in out if t == "consumesApi"),
        owned=sorted(r for r, o in graph.owner.items() if o == ref),
        owner_detail=owner_view(graph, owner) if owner and owner in graph.entities else None,
    )


def _aliases(db: Database, ref: str) -> list[str]:
    from sqlalchemy import select

    from copilot.catalog import models as m

    with db.reading() as conn:
        return [
            str(a)
            for (a,) in conn.execute(
                select(m.aliases.c.alias).where(m.aliases.c.ref == ref).order_by(m.aliases.c.alias)
            )
        ]


def resolve_all(db: Database, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(refs found, names left unmapped), each in the order given, without repeats."""
    found: list[str] = []
    unmapped: list[str] = []
    with db.reading() as conn:
        for name in names:
            ref = service.resolve_name(conn, name)
            if ref is None:
                if name not in unmapped:
                    unmapped.append(name)
            elif ref not in found:
                found.append(ref)
    return found, unmapped


def _owners(graph: CatalogGraph, refs: Iterable[str]) -> list[s.Owner]:
    owned: dict[str, list[str]] = {}
    for ref in refs:
        group = graph.owner.get(ref)
        if group is not None:
            owned.setdefault(group, []).append(ref)
    return [
        owner_view(graph, group, owns)
        if group in graph.entities
        else s.Owner(ref=group, name=screened(group.split("/", 1)[-1]), contacts=[], owns=owns)
        for group, owns in sorted(owned.items())
    ]


def blast_radius(*, db: Database, names: Sequence[str]) -> s.Impact:
    """What the failure of `names` reaches: dependents with paths, systems, domains, user-facing
    services, owners with contacts; and upstream dependencies to check first."""
    refs, unmapped = resolve_all(db, names)
    graph = load_graph(db)
    reached = reach(graph, refs)

    def affected(ref: str, path: list[str]) -> s.Affected:
        title, public = graph.shown(ref)
        return s.Affected(
            ref=ref,
            title=title,
            path=path,
            user_facing=public is not None,
            public_name=public,
            owner=graph.owner.get(ref),
        )

    failing = [affected(r, [r]) for r in reached.failing]
    dependents = [affected(r.ref, r.path) for r in reached.dependents]
    upstream = [affected(r.ref, r.path) for r in reached.upstream]
    hit = [a.ref for a in (*failing, *dependents)]
    systems = sorted(
        {x for r in hit if (x := graph.system_of(r))} | {r for r in hit if r.startswith("system:")}
    )
    domains = sorted({x for r in [*hit, *systems] if (x := graph.domain_of(r))})
    public = [
        s.PublicService(ref=a.ref, public_name=screened(a.public_name))
        for a in (*failing, *dependents)
        if a.public_name is not None
    ]
    return s.Impact(
        failing=failing,
        dependents=dependents,
        upstream=upstream,
        systems=systems,
        domains=domains,
        user_facing=public,
        owners=_owners(graph, hit),
        upstream_owners=_owners(graph, [a.ref for a in upstream]),
        unmapped=[screened(n) for n in unmapped],
    )


def import_response(report: service.ImportReport) -> s.ImportResponse:
    def problems(items: Iterable[Any]) -> list[s.Problem]:
        return [s.Problem(file=p.file, line=p.line, message=screened(p.message)) for p in items]

    return s.ImportResponse(
        imported=report.imported,
        unchanged=report.unchanged,
        removed=report.removed,
        failed=problems(report.failed),
        problems=problems(report.problems),
        unresolved=problems(report.unresolved),
        cycles=report.cycles,
        entities=report.entities,
    )
