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
        the owning Group: ref, display name, contacts (email, Slack/PagerDuty, links).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import networkx as nx

from copilot.catalog import service
from copilot.catalog.graph import linked, load_graph
from copilot.db import Database

LABEL_KEYS = ("service", "job", "app", "namespace")


class PublicComponent(NamedTuple):
    ref: str
    public_name: str
    group: str | None


class Owner(NamedTuple):
    ref: str
    name: str
    contacts: list[str]


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
    return Owner(group, graph.title(group), graph.contacts(group))
