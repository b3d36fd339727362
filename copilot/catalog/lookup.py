"""What other packages ask of the catalog, over an open `copilot.db.Database`.

Every function takes the Database first (the one the app and CLI open; `IncidentStore.db` is the
same object) and reads the catalog as the last import left it; with no catalog imported they
return None / empty results, so callers need no special case.

    resolve(db, name) -> str | None
        "component:default/checkout-api" for a ref, name, title or alias (`copilot/aliases`,
        `pagerduty.com/service-id`, `copilot/public-name`), case-insensitive; None if unknown.
    resolve_labels(db, labels, keys=LABEL_KEYS) -> str | None
        the entity the first of an alert's labels `service`, `job`, `app`, `namespace` names.
    linked_groups(db, refs) -> list[set[str]]
        `refs` grouped into sets that are linked by dependency (one depends on the other, directly
        or transitively); a ref the catalog does not know is a set of its own.
    origin(db, refs) -> str | None
        the most depended-upon of `refs` (the probable origin of a set of failures).
    public_components(db) -> list[PublicComponent]
        (ref, public_name, group) for every user-facing entity; group is the status-page group
        (`copilot/public-group`, else the public name of its System), or None.
    owner_of(db, ref) -> Owner | None
        the owning Group: ref, display name, contacts (who to escalate to first, then email,
        Slack, links) and the escalation contact alone (`copilot/escalation`, else
        `pagerduty.com/escalation-policy`), or None.
    ask_context(db, services, upstream_limit=5, dependents_limit=10) -> AskContext
        for an answer: `.affected` (each service with its owner and contacts), `.upstream` (the
        nearest Components/Resources it depends on, with path and owner), `.dependents` (what
        depends on them, user-facing ones first, with public name, path and owner; at most
        `dependents_limit` of `.dependents_total`), `.unmapped`; `.lines()` gives ready markdown
        lines (screened), `.services()` the entity names to look runbooks up by (runbooks'
        `services` front matter uses the same names).
    names_in(db, text, limit=5) -> list[str]
        Component and Resource names written as words in free text ("checkout-api is slow").

    internal_names(db) -> set[str]
        lower-cased names, titles and aliases of entities that are not user-facing, for a
        public update's leak check (a name that is also a public name is left out).
    unknown(db, names, limit=3) -> list[tuple[str, list[str]]]
        each of `names` the catalog does not know, with up to `limit` entity names close to it
        in spelling (by name or alias); empty without a catalog.
    public_impact(db, services) -> PublicImpact | None
        for a status update: the public names of the user-facing services the failure of
        `services` reaches (its blast radius, failing ones first), which of `services` name an
        entity and by what public name (None: internal), the names of every user-facing entity,
        and `internal_names`; None when no catalog is imported.

Text these return that came from catalog files (titles, contacts) has been screened.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import networkx as nx

from copilot.catalog import service
from copilot.catalog.graph import CatalogGraph, linked, load_graph, reach
from copilot.catalog.impact import contact
from copilot.db import Database
from copilot.guardrails.screened import Screened, ours, screened

if TYPE_CHECKING:
    from sqlalchemy import Connection

LABEL_KEYS = ("service", "job", "app", "namespace")


class PublicComponent(NamedTuple):
    ref: str
    public_name: str
    group: str | None


class Owner(NamedTuple):
    ref: str
    name: str
    contacts: list[str]  # who to escalate to first, when the catalog says
    escalation: str | None = None  # the on-call / escalation contact (see graph.escalation)


def resolve(db: Database, name: str) -> str | None:
    with db.reading() as conn:
        return service.resolve_name(conn, name)


def resolve_labels(
    db: Database, labels: Mapping[str, str], keys: Sequence[str] = LABEL_KEYS
) -> str | None:
    for key in keys:
        value = labels.get(key)
        if isinstance(value, str) and value.strip():
            ref = resolve(db, value)
            if ref is not None:
                return ref
    return None


def linked_groups(db: Database, refs: Iterable[str]) -> list[set[str]]:
    return linked(load_graph(db), list(refs))


def origin(db: Database, refs: Iterable[str]) -> str | None:
    graph = load_graph(db)
    known = [r for r in dict.fromkeys(refs) if r in graph.deps]
    if not known:
        return None
    # Most dependents first; ties go to the one the others reach (deepest), then by name.
    return min(known, key=lambda r: (-len(nx.ancestors(graph.deps, r)), r))


def public_components(db: Database) -> list[PublicComponent]:
    graph = load_graph(db)
    found = []
    for ref in sorted(graph.entities):
        public = graph.public_name(ref)
        if public and not ref.startswith(("system:", "domain:", "group:", "user:")):
            found.append(PublicComponent(ref, public, graph.public_group(ref)))
    return found


def owner_of(db: Database, ref: str) -> Owner | None:
    graph = load_graph(db)
    group = graph.owner.get(ref)
    if group is None:
        return None
    return _owner(graph, group)


def _owner(graph: CatalogGraph, group: str) -> Owner:
    escalation = graph.escalation(group)
    return Owner(
        group,
        screened(graph.title(group)),
        [contact(c) for c in graph.contacts(group)],
        contact(escalation) if escalation else None,
    )


# --- for ask: who owns what is affected, and what to check upstream ---------------------------


class Contactable(NamedTuple):
    ref: str
    name: str  # the entity's name, as runbooks' `services` front matter names it
    title: str
    owner: Owner | None
    path: list[str]  # upstream: from the incident's service to this one; dependents: the reverse
    public_name: str | None = None  # set when the entity is user-facing
    # As written in the catalog (unscreened): for looking things up by, never to show.
    description: str = ""


class AskContext(NamedTuple):
    affected: list[Contactable]
    upstream: list[Contactable]
    unmapped: list[str]
    dependents: list[Contactable] = []  # noqa: RUF012 - a NamedTuple default, never mutated
    dependents_total: int = 0

    def services(self) -> list[str]:
        """Entity names of the affected services and their upstream, for retrieval filters."""
        return list(dict.fromkeys(c.name for c in (*self.affected, *self.upstream)))

    def lines(self) -> list[Screened]:
        """Markdown lines for an answer: owners and contacts, then upstream to check first."""
        out: list[Screened] = []

        def who(c: Contactable) -> str:
            if c.owner is None:
                return "no owner in the catalog"
            contacts = ", ".join(c.owner.contacts[:3]) or "no contact listed"
            return f"{c.owner.name} ({contacts})"

        for c in self.affected:
            out.append(ours(f"- **{c.title}** (`{c.name}`) is owned by {who(c)}."))
        if self.dependents:
            hurt = ", ".join(
                f"{c.title} (user-facing: {c.public_name})" if c.public_name else c.title
                for c in self.dependents
            )
            more = self.dependents_total - len(self.dependents)
            tail = f" and {more} more" if more > 0 else ""
            out.append(ours(f"- Depends on them (blast radius): {hurt}{tail}."))
        for c in self.upstream:
            via = " → ".join(p.split("/", 1)[-1] for p in c.path)
            out.append(ours(f"- Check upstream **{c.title}** (`{c.name}`, {via}): {who(c)}."))
        return out


def ask_context(
    db: Database, services: Iterable[str], *, upstream_limit: int = 5, dependents_limit: int = 10
) -> AskContext:
    """Owners (with contacts) of an incident's services, what depends on them (user-facing ones
    first, at most `dependents_limit`), and the nearest upstream dependencies worth checking
    (Components and Resources, nearest first, at most `upstream_limit`)."""
    graph = load_graph(db)
    names = [s for s in dict.fromkeys(services) if isinstance(s, str) and s.strip()]
    refs: list[str] = []
    unmapped: list[str] = []
    with db.reading() as conn:
        for name in names:
            ref = service.resolve_name(conn, name)
            if ref is None:
                unmapped.append(name)
            elif ref not in refs:
                refs.append(ref)

    def contactable(ref: str, path: list[str]) -> Contactable:
        group = graph.owner.get(ref)
        owner = _owner(graph, group) if group is not None else None
        name = str(graph.entities[ref]["name"])
        title, public = graph.shown(ref)
        about = graph.entities[ref]["data"].get("metadata", {}).get("description")
        about = about.strip()[:500] if isinstance(about, str) else ""
        return Contactable(ref, name, title, owner, path, public, about)

    reached = reach(graph, refs)
    upstream = [
        contactable(r.ref, r.path)
        for r in reached.upstream
        if r.ref.startswith(("component:", "resource:"))
    ][:upstream_limit]
    # Who else is hurt: Components and Resources that depend on the failing ones (Systems,
    # Domains and APIs only restate them); what customers see comes first, then the nearest.
    hurt = [r for r in reached.dependents if r.ref.startswith(("component:", "resource:"))]
    hurt.sort(key=lambda r: (graph.public_name(r.ref) is None, len(r.path), r.ref))
    return AskContext(
        affected=[contactable(r, [r]) for r in reached.failing],
        upstream=upstream,
        unmapped=[screened(n) for n in unmapped],
        dependents=[contactable(r.ref, r.path) for r in hurt[:dependents_limit]],
        dependents_total=len(hurt),
    )


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]")


# A question about who owns or answers for something ("who owns payments", "which team runs
# checkout", "who is on call for the cart"): the words it names the service by are the ones
# people use, so aliases count there.
OWNERSHIP = re.compile(
    r"\b(?:who (?:owns|runs|maintains|is on[- ]?call|do (?:i|we) (?:page|call|ping|escalate))|"
    r"owners? (?:of|for)|which team|on[- ]?call for|escalat\w* (?:to|for))\b",
    re.IGNORECASE,
)


def names_in(db: Database, text: str, *, limit: int = 5) -> list[str]:
    """Names of Components and Resources written as words in `text`, in order of appearance.

    Entity names (`checkout-api`, `orders-db`, `vault`); aliases only when the text asks who owns
    something (OWNERSHIP): elsewhere aliases and titles are often everyday words ("Website",
    "gateway", "payments") and would name services a question does not mean.
    """
    graph = load_graph(db)
    if not graph.entities:
        return []
    names = {
        str(row["name"]).casefold(): str(row["name"])
        for ref, row in graph.entities.items()
        if ref.startswith(_SERVICES)
    }
    if OWNERSHIP.search(text):
        with db.reading() as conn:
            for alias, service_name in _services_by_alias(graph, _alias_rows(conn)).items():
                names.setdefault(alias, service_name)
    found: list[str] = []
    for word in _WORD.findall(text[:8000]):
        name = _named(names, word.casefold())
        if name is not None and name not in found:
            found.append(name)
            if len(found) == limit:
                break
    return found


_SERVICES = ("component:", "resource:")


def _named(names: dict[str, str], word: str) -> str | None:
    """The service `word` names, as written or in the other number: "who owns carts" means the
    alias `cart`, "the payment team" the alias `payments` (words of four letters or more)."""
    if word in names:
        return names[word]
    if len(word) < 4:
        return None
    other = word[:-1] if word.endswith("s") else f"{word}s"
    return names.get(other)


def _alias_rows(conn: Connection) -> list[tuple[str, str]]:
    """(alias, ref) for every way the catalog knows an entity: its names, titles and aliases,
    lower-cased as stored."""
    from sqlalchemy import select

    from copilot.catalog import models as m

    rows = conn.execute(select(m.aliases.c.alias, m.aliases.c.ref)).all()
    return [(str(alias), str(ref)) for alias, ref in rows]


def _services_by_alias(graph: CatalogGraph, rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Every way the catalog knows a Component or Resource, pointing at its name."""
    known: dict[str, str] = {}
    for alias, ref in rows:
        if ref in graph.entities and ref.startswith(_SERVICES):
            known.setdefault(alias.casefold(), str(graph.entities[ref]["name"]))
    return known


def internal_names(db: Database) -> set[str]:
    """Names a public status update must not use: the name, title and aliases of every entity
    that is not user-facing (Components, Resources, APIs, Systems, Domains, Groups, Users), less
    any that is also a public name. Lower-cased; empty without a catalog."""
    graph = load_graph(db)
    public = {n.casefold() for r in graph.entities if (n := graph.public_name(r))}
    internal = {r for r in graph.entities if graph.public_name(r) is None}
    with db.reading() as conn:
        rows = _alias_rows(conn)
    return {str(alias) for alias, ref in rows if ref in internal and alias not in public}


class PublicImpact(NamedTuple):
    components: list[str]  # public names (screened) of the user-facing services reached
    labels: dict[str, str | None]  # lower-cased service label -> its public name, None: internal
    public_labels: dict[str, str]  # lower-cased name of every user-facing entity -> public name
    internal: set[str]  # see internal_names()
    unmapped: list[str]  # services the catalog does not know


def public_impact(db: Database, services: Iterable[str]) -> PublicImpact | None:
    """What a status update may say about the failure of `services`; None without a catalog."""
    graph = load_graph(db)
    if not graph.entities:
        return None
    labels: dict[str, str | None] = {}
    refs: list[str] = []
    unmapped: list[str] = []
    with db.reading() as conn:
        for name in dict.fromkeys(s for s in services if isinstance(s, str) and s.strip()):
            ref = service.resolve_name(conn, name)
            if ref is None:
                unmapped.append(name)
                continue
            refs.append(ref)
            labels[name.strip().lower()] = graph.shown(ref)[1]
    reached = reach(graph, refs)
    # A System's public name groups the status page; it is not a service a customer uses.
    grouping = ("system:", "domain:", "group:", "user:")
    components: list[str] = []
    for ref in [*reached.failing, *(r.ref for r in reached.dependents)]:
        public = None if ref.startswith(grouping) else graph.shown(ref)[1]
        if public and public not in components:
            components.append(public)
    public_labels: dict[str, str] = {
        str(row["name"]).lower(): public
        for ref, row in graph.entities.items()
        if not ref.startswith(grouping) and (public := graph.shown(ref)[1]) is not None
    }
    return PublicImpact(components, labels, public_labels, internal_names(db), unmapped)


def unknown(db: Database, names: Iterable[str], *, limit: int = 3) -> list[tuple[str, list[str]]]:
    """Names the catalog does not know, each with the entity names closest to it in spelling."""
    graph = load_graph(db)
    if not graph.entities:
        return []
    missing: list[str] = []
    with db.reading() as conn:
        for name in dict.fromkeys(n for n in names if isinstance(n, str) and n.strip()):
            if service.resolve_name(conn, name) is None:
                missing.append(name)
        if not missing:
            return []
        rows = _alias_rows(conn)
    # Every way the catalog knows a service, pointing at the name to suggest for it.
    known = _services_by_alias(graph, rows)
    out = []
    for name in missing:
        close = difflib.get_close_matches(name.strip().casefold()[:200], known, n=10, cutoff=0.6)
        out.append((name, list(dict.fromkeys(known[c] for c in close))[:limit]))
    return out
