"""Service catalog: import time, blast-radius latency beside networkx's own traversal, memory,
correctness against an independent reachability, and the sample catalog's incidents scored.

    python -m evals.catalog [--entities 5000] [--queries 300] [--seed 13] [--json]

A generated catalog (seeded) with a realistic shape: teams own systems; systems hold frontends,
services and resources; frontends depend on services, services on a few other services (a few
popular ones are depended on by many: preferential attachment) and on resources; shared
platform resources (DNS, clusters) sit under everything; a few back-edges make cycles. It is
written as one YAML file per system, imported into a temporary SQLite database, then:

- import: the first import, and a second one of the unchanged files (skipped by hash);
- blast radius: `copilot.catalog.impact.blast_radius` (resolve names in the database, walk the
  cached graph, build the response model) for random failing sets of 1-3 entities, p50/p99,
  beside `networkx.ancestors` over the same prebuilt graph (the traversal alone) in the same run;
- memory: the peak Python allocation (tracemalloc) of building the graph from the database;
- correctness: the dependents returned against a breadth-first search over the generator's own
  edge list (not the database, not networkx), on the same random failing sets;
- sample: `evals/datasets/catalog/incidents.jsonl`, hand-written incidents on the shipped sample
  catalog with the user-facing public names and owners they must yield, scored exactly.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import tracemalloc
from collections import deque
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from copilot.catalog import graph as graph_mod
from copilot.catalog import impact, service
from copilot.db import Database

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "runbooks" / "catalog"
INCIDENTS = Path(__file__).with_name("datasets") / "catalog" / "incidents.jsonl"


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "title": name.replace("-", " ").title()},
        "spec": spec,
    }


def generate(n: int, seed: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, set[str]]]:
    """(file name -> documents, ref -> refs it depends on) for about `n` entities."""
    rng = random.Random(seed)
    teams = max(4, n // 50)
    systems = max(2, n // 50)
    files: dict[str, list[dict[str, Any]]] = {"groups.yaml": [], "platform.yaml": []}
    deps: dict[str, set[str]] = {}
    for t in range(teams):
        files["groups.yaml"].append(
            _doc("Group", f"team-{t}", {"type": "team", "profile": {"email": f"t{t}@example.org"}})
        )
    platform = [f"platform-{i}" for i in range(5)]
    for i, name in enumerate(platform):
        below = [f"resource:{p}" for p in platform[i + 1 :][:1]]
        files["platform.yaml"].append(
            _doc("Resource", name, {"type": "infra", "owner": "team-0", "dependsOn": below})
        )
        deps[f"resource:default/{name}"] = {r.replace(":", ":default/") for r in below}
    remaining = n - teams - len(platform)
    per_system = max(3, remaining // systems - 1)
    services: list[str] = []  # refs, in creation order (preferential attachment by popularity)
    popularity: list[str] = []
    for s in range(systems):
        owner = f"team-{rng.randrange(teams)}"
        docs = [_doc("System", f"sys-{s}", {"owner": owner})]
        deps[f"system:default/sys-{s}"] = set()
        for i in range(per_system):
            roll = rng.random()
            name = f"s{s}-{i}"
            spec: dict[str, Any] = {"owner": owner, "system": f"sys-{s}", "lifecycle": "production"}
            if roll < 0.3:
                kind, spec["type"] = "Resource", rng.choice(["database", "queue", "cache"])
                targets = [f"resource:{rng.choice(platform)}"]
            else:
                kind = "Component"
                spec["type"] = "website" if roll > 0.95 else "service"
                targets = [f"resource:{rng.choice(platform)}"]
                pool = popularity[-4000:]
                for _ in range(rng.randint(1, 4)):
                    if pool:
                        targets.append(rng.choice(pool))
                own = [d["metadata"]["name"] for d in docs[1:] if d["kind"] == "Resource"]
                if own:
                    targets.append(f"resource:{rng.choice(own)}")
            spec["dependsOn"] = sorted(set(targets))
            docs.append(_doc(kind, name, spec))
            ref = f"{kind.lower()}:default/{name}"
            deps[ref] = {t.replace(":", ":default/", 1) for t in spec["dependsOn"]}
            if kind == "Component":
                services.append(f"component:{name}")
                popularity.extend([f"component:{name}"] * rng.choice([1, 1, 1, 2, 5]))
        files[f"system-{s}.yaml"] = docs
    # A few back-edges: cycles are allowed and must be handled.
    comps = [r for r in deps if r.startswith("component:")]
    for _ in range(max(1, n // 1000)):
        a, b = rng.sample(comps, 2)
        deps[a].add(b)
        deps[b].add(a)
        for docs in files.values():
            for d in docs:
                ref = f"{d['kind'].lower()}:default/{d['metadata']['name']}"
                if ref in (a, b):
                    other = b if ref == a else a
                    d["spec"]["dependsOn"] = sorted(
                        set(d["spec"].get("dependsOn", [])) | {other.replace(":default/", ":")}
                    )
    return files, deps


def bfs_dependents(deps: dict[str, set[str]], failing: set[str]) -> set[str]:
    reverse: dict[str, list[str]] = {}
    for u, vs in deps.items():
        for v in vs:
            reverse.setdefault(v, []).append(u)
    seen, todo = set(failing), deque(failing)
    while todo:
        for w in reverse.get(todo.popleft(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen - failing


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_generated(n: int, queries: int, seed: int) -> dict[str, Any]:
    files, deps = generate(n, seed)
    with tempfile.TemporaryDirectory(prefix="copilot-catalog-eval-") as tmp:
        root = Path(tmp) / "catalog"
        root.mkdir()
        for name, docs in files.items():
            (root / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
        with Database(f"sqlite:///{Path(tmp) / 'db.sqlite'}") as db:
            started = time.perf_counter()
            report = service.import_paths(db=db, paths=[root])
            first = time.perf_counter() - started
            started = time.perf_counter()
            again = service.import_paths(db=db, paths=[root])
            second = time.perf_counter() - started
            assert not again.imported, "unchanged files were imported again"

            with db.reading() as conn:
                rows, rels = service.entity_rows(conn), service.relation_rows(conn)
            tracemalloc.start()
            graph_mod.build(rows, rels)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()

            graph = graph_mod.load_graph(db)
            rng = random.Random(seed + 1)
            refs = sorted(r for r in deps if not r.startswith("system:"))
            sets = [set(rng.sample(refs, rng.randint(1, 3))) for _ in range(queries)]
            product: list[float] = []
            baseline: list[float] = []
            exact = 0
            for failing in sets:
                started = time.perf_counter()
                result = impact.blast_radius(db=db, names=sorted(failing))
                product.append(time.perf_counter() - started)
                started = time.perf_counter()
                reached: set[str] = set()
                for ref in failing:
                    reached |= nx.ancestors(graph.deps, ref)
                baseline.append(time.perf_counter() - started)
                if {a.ref for a in result.dependents} == bfs_dependents(deps, failing):
                    exact += 1
    p50, p99 = pct(product, 0.5), pct(product, 0.99)
    b50, b99 = pct(baseline, 0.5), pct(baseline, 0.99)
    return {
        "entities": report.entities,
        "files": len(files),
        "edges": graph.deps.number_of_edges(),
        "import_s": round(first, 3),
        "reimport_unchanged_s": round(second, 3),
        "graph_build_peak_mb": round(peak / 1e6, 2),
        "blast_radius_ms": {"p50": round(p50 * 1e3, 3), "p99": round(p99 * 1e3, 3)},
        "networkx_ancestors_ms": {"p50": round(b50 * 1e3, 3), "p99": round(b99 * 1e3, 3)},
        "ratio_p50": round(p50 / b50, 1) if b50 else None,
        "mean_dependents": round(statistics.mean(len(bfs_dependents(deps, s)) for s in sets), 1),
        "correct": exact,
        "queries": len(sets),
        "cycles_reported": len(report.cycles),
    }


def run_sample() -> dict[str, Any]:
    cases = [json.loads(line) for line in INCIDENTS.read_text().splitlines() if line.strip()]
    misses = []
    with (
        tempfile.TemporaryDirectory(prefix="copilot-catalog-sample-") as tmp,
        Database(f"sqlite:///{Path(tmp) / 'db.sqlite'}") as db,
    ):
        service.import_paths(db=db, paths=[SAMPLE])
        for case in cases:
            result = impact.blast_radius(db=db, names=case["services"])
            public = sorted({p.public_name for p in result.user_facing})
            owners = sorted({a.owner for a in result.failing if a.owner})
            got = {"public": public, "owners": owners, "unmapped": list(result.unmapped)}
            want = {
                "public": sorted(case["public"]),
                "owners": sorted(case["owners"]),
                "unmapped": case.get("unmapped", []),
            }
            if got != want:
                misses.append({"case": case["name"], "want": want, "got": got})
    return {"cases": len(cases), "exact": len(cases) - len(misses), "misses": misses}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.catalog", description=__doc__)
    parser.add_argument("--entities", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = {
        "generated": run_generated(args.entities, args.queries, args.seed),
        "sample": run_sample(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        g, s = result["generated"], result["sample"]
        print(
            f"generated catalog: {g['entities']} entities, {g['edges']} dependency edges, "
            f"{g['files']} files"
        )
        print(f"  import {g['import_s']} s; unchanged re-import {g['reimport_unchanged_s']} s")
        print(f"  graph build peak {g['graph_build_peak_mb']} MB")
        print(
            f"  blast radius p50 {g['blast_radius_ms']['p50']} ms, "
            f"p99 {g['blast_radius_ms']['p99']} ms; "
            f"networkx.ancestors p50 {g['networkx_ancestors_ms']['p50']} ms, "
            f"p99 {g['networkx_ancestors_ms']['p99']} ms (x{g['ratio_p50']} at p50)"
        )
        print(f"  correct {g['correct']}/{g['queries']} against an independent BFS")
        print(f"sample incidents: {s['exact']}/{s['cases']} exact")
        for miss in s["misses"]:
            print(f"  miss {miss['case']}: want {miss['want']} got {miss['got']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
