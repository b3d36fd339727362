"""The catalog as a networkx graph, and what a failure reaches through it.

`deps` has an edge u -> v when u depends on v: `dependsOn`, the inverse of `dependencyOf`,
a consumer on the API it consumes, an API on the component that provides it, and a component on
its subcomponents. Dependents of a failing entity are its ancestors in `deps`; the places to look
first are its descendants. Paths are networkx's shortest paths from the nearest failing entity.

The graph is built from the database once per catalog version and cached per Database.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from copilot.catalog import service
from copilot.catalog.parse import PUBLIC_GROUP, PUBLIC_NAME
from copilot.db import Database
from copilot.guardrails.screened import Screened, screened

# Contact annotations on a Group, and how each is shown.
CONTACT_ANNOTATIONS = {
    "copilot/contact": "",
    "slack.com/channel": "slack: ",
    "pagerduty.com/escalation-policy": "pagerduty: ",
}
# Who to page for a Group, first found wins: its own word, then its paging policy.
ESCALATION_ANNOTATIONS = {
    "copilot/escalation": "",
    "pagerduty.com/escalation-policy": "pagerduty: ",
}


@dataclass
class CatalogGraph:
    deps: nx.DiGraph
    entities: dict[str, dict[str, Any]]  # ref -> row (kind, name, title, data, file, line)
    owner: dict[str, str] = field(default_factory=dict)  # ref -> owner ref
    part_of: dict[str, str] = field(default_factory=dict)  # ref -> system / domain ref
    # ref -> (screened title, screened public name or None), filled on first use
    _shown: dict[str, tuple[Screened, Screened | None]] = field(default_factory=dict)

    def shown(self, ref: str) -> tuple[Screened, Screened | None]:
        """The entity's title and public name as they may be shown (screened once per graph)."""
        found = self._shown.get(ref)
        if found is None:
            public = self.public_name(ref)
            found = (screened(self.title(ref)), screened(public) if public else None)
            self._shown[ref] = found
        return found

    def title(self, ref: str) -> str:
        row = self.entities.get(ref)
        if row is None:
            return ref.split("/", 1)[-1]
        return str(row["title"] or row["name"])

    def annotations(self, ref: str) -> dict[str, Any]:
        row = self.entities.get(ref)
        if row is None:
            return {}
        ann = row["data"].get("metadata", {}).get("annotations") or {}
        return ann if isinstance(ann, dict) else {}

    def spec(self, ref: str) -> dict[str, Any]:
        row = self.entities.get(ref)
        spec = row["data"].get("spec", {}) if row else {}
        return spec if isinstance(spec, dict) else {}

    def public_name(self, ref: str) -> str | None:
        """The name customers know, when the entity is user-facing; None otherwise.

        User-facing: a `copilot/public-name` annotation, or `type: website` in production
        (shown by its title).
        """
        public = self.annotations(ref).get(PUBLIC_NAME)
        if isinstance(public, str) and public.strip():
            return public.strip()
        spec = self.spec(ref)
        if spec.get("type") == "website" and spec.get("lifecycle") == "production":
            return self.title(ref)
        return None

    def public_group(self, ref: str) -> str | None:
        group = self.annotations(ref).get(PUBLIC_GROUP)
        if isinstance(group, str) and group.strip():
            return group.strip()
        system = self.system_of(ref)
        return self.public_name(system) if system else None

    def system_of(self, ref: str) -> str | None:
        parent = self.part_of.get(ref)
        return parent if parent and parent.startswith("system:") else None

    def domain_of(self, ref: str) -> str | None:
        parent = self.part_of.get(ref)
        if parent and parent.startswith("domain:"):
            return parent
        system = self.system_of(ref)
        if system:
            up = self.part_of.get(system)
            return up if up and up.startswith("domain:") else None
        return None

    def escalation(self, group: str) -> str | None:
        """Who to escalate to for a group: `copilot/escalation`, else its PagerDuty policy."""
        ann = self.annotations(group)
        for key, label in ESCALATION_ANNOTATIONS.items():
            value = ann.get(key)
            if isinstance(value, str) and value.strip():
                return f"{label}{value.strip()}"
        return None

    def contacts(self, group: str) -> list[str]:
        """Ways to reach a group: who to escalate to first, then its profile email, Slack and
        other annotations, its links."""
        escalation = self.escalation(group)
        found: list[str] = [escalation] if escalation else []
        profile = self.spec(group).get("profile")
        if isinstance(profile, dict) and isinstance(profile.get("email"), str):
            found.append(f"mailto:{profile['email'].strip()}")
        ann = self.annotations(group)
        for key, label in CONTACT_ANNOTATIONS.items():
            value = ann.get(key)
            if isinstance(value, str) and value.strip():
                found.append(f"{label}{value.strip()}")
        links = self.entities.get(group, {}).get("data", {}).get("metadata", {}).get("links")
        if isinstance(links, list):
            for link in links:
                if isinstance(link, dict) and isinstance(link.get("url"), str):
                    found.append(link["url"])
        return list(dict.fromkeys(found))


def build(rows: list[dict[str, Any]], relations: list[tuple[str, str, str]]) -> CatalogGraph:
    entities = {row["ref"]: row for row in rows}
    deps = nx.DiGraph()
    deps.add_nodes_from(entities)
    graph = CatalogGraph(deps=deps, entities=entities)
    for source, rel, target in relations:
        if target not in entities or source not in entities:
            continue  # unknown references are reported at import, not followed
        if rel in ("dependsOn", "consumesApi"):
            deps.add_edge(source, target)
        elif rel == "dependencyOf":
            deps.add_edge(target, source)
        elif rel == "providesApi":
            deps.add_edge(target, source)  # the API is only as up as what provides it
        elif rel == "subcomponentOf":
            deps.add_edge(target, source)
        elif rel == "ownedBy":
            graph.owner[source] = target
        elif rel == "partOf":
            graph.part_of[source] = target
    return graph


_cache: weakref.WeakKeyDictionary[Database, tuple[tuple[Any, ...], CatalogGraph]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def load_graph(db: Database) -> CatalogGraph:
    """The catalog graph of `db`, rebuilt only when an import changed the catalog."""
    with db.reading() as conn:
        current = service.version(conn)
        with _cache_lock:
            cached = _cache.get(db)
        if cached is not None and cached[0] == current:
            return cached[1]
        graph = build(service.entity_rows(conn), service.relation_rows(conn))
    with _cache_lock:
        _cache[db] = (current, graph)
    return graph


def cycles(graph: CatalogGraph, limit: int = 20) -> list[list[str]]:
    """Dependency cycles (strongly connected sets of more than one entity), sorted."""
    found = [
        sorted(c)
        for c in nx.strongly_connected_components(graph.deps)
        if len(c) > 1 or graph.deps.has_edge(next(iter(c)), next(iter(c)))
    ]
    return sorted(found)[:limit]


@dataclass
class Reached:
    ref: str
    path: list[str]  # from the failing entity to this one


@dataclass
class Reach:
    failing: list[str]
    dependents: list[Reached]
    upstream: list[Reached]


def reach(graph: CatalogGraph, failing: list[str]) -> Reach:
    """Dependents (transitively, with a shortest path) and upstream dependencies of `failing`."""
    sources = [r for r in dict.fromkeys(failing) if r in graph.deps]
    if not sources:
        return Reach([], [], [])
    # Paths in the reversed graph run from a failing entity to each of its dependents.
    down = nx.multi_source_dijkstra_path(graph.deps.reverse(copy=False), set(sources))
    up = nx.multi_source_dijkstra_path(graph.deps, set(sources))
    failing_set = set(sources)

    def ordered(paths: dict[str, list[str]]) -> list[Reached]:
        items = [Reached(ref, list(p)) for ref, p in paths.items() if ref not in failing_set]
        return sorted(items, key=lambda r: (len(r.path), r.ref))

    return Reach(sources, ordered(down), ordered(up))


def linked(graph: CatalogGraph, refs: list[str]) -> list[set[str]]:
    """`refs` grouped: two are linked when one depends on the other, directly or transitively."""
    known = [r for r in dict.fromkeys(refs) if r in graph.deps]
    links = nx.Graph()
    links.add_nodes_from(dict.fromkeys(refs))
    wanted = set(known)
    for ref in known:
        for other in nx.descendants(graph.deps, ref) & wanted:
            links.add_edge(ref, other)
    return [set(c) for c in nx.connected_components(links)]
