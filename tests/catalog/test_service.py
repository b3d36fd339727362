"""Import into the one database (SQLite and PostgreSQL): incremental, validated, whole or not at
all per file; names resolve; the blast radius matches an independent reading of the YAML."""

from __future__ import annotations

import random
from collections import deque
from pathlib import Path

import pytest
import yaml

from copilot.catalog import impact, lookup, service
from copilot.db import Database
from copilot.errors import NotFound
from tests.catalog.conftest import SAMPLE, docs, entity


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- an independent reading of the sample: dependency edges straight from the YAML --------------


def _ref(value: str, default_kind: str) -> str:
    kind, _, name = value.rpartition(":")
    return f"{(kind or default_kind).lower()}:default/{name.lower()}"


def _edges() -> dict[str, set[str]]:
    """u -> the refs u depends on, read from the YAML without the copilot's parser."""
    deps: dict[str, set[str]] = {}
    providers: dict[str, str] = {}
    consumers: list[tuple[str, str]] = []
    for path in sorted(SAMPLE.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            ref = f"{doc['kind'].lower()}:default/{doc['metadata']['name']}"
            spec = doc.get("spec") or {}
            deps.setdefault(ref, set())
            deps[ref].update(_ref(v, "component") for v in spec.get("dependsOn", []))
            for api in spec.get("providesApis", []):
                providers[_ref(api, "api")] = ref
            consumers += [(ref, _ref(api, "api")) for api in spec.get("consumesApis", [])]
    for consumer, api in consumers:
        deps[consumer].add(api)
    for api, provider in providers.items():
        deps.setdefault(api, set()).add(provider)
    return deps


def _dependents(deps: dict[str, set[str]], failing: set[str]) -> set[str]:
    reverse: dict[str, set[str]] = {}
    for u, vs in deps.items():
        for v in vs:
            reverse.setdefault(v, set()).add(u)
    seen, todo = set(failing), deque(failing)
    while todo:
        for w in reverse.get(todo.popleft(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen - failing


def test_the_blast_radius_matches_an_independent_reachability(sample_db: Database) -> None:
    deps = _edges()
    refs = sorted(deps)
    rng = random.Random(13)
    for _ in range(25):
        failing = set(rng.sample(refs, rng.randint(1, 3)))
        result = impact.blast_radius(db=sample_db, names=sorted(failing))
        assert {a.ref for a in result.dependents} == _dependents(deps, failing)
        for a in result.dependents:  # each path is a real chain of dependencies
            assert a.path[0] in failing
            assert all(v in deps[u] for v, u in zip(a.path, a.path[1:], strict=False))


def test_a_database_failure_reaches_the_public_services_and_their_owners(
    sample_db: Database,
) -> None:
    result = impact.blast_radius(db=sample_db, names=["orders-db"])
    assert [a.ref for a in result.failing] == ["resource:default/orders-db"]
    public = {p.public_name for p in result.user_facing}
    assert {"Orders", "Checkout", "Website", "Mobile apps", "Delivery slots"} <= public
    assert "Login" not in public  # identity does not depend on the orders database
    owners = {o.ref: o for o in result.owners}
    assert owners["group:default/team-data-platform"].owns == ["resource:default/orders-db"]
    assert "mailto:checkout@larkfield.example" in owners["group:default/team-checkout"].contacts
    assert "slack: #team-checkout" in owners["group:default/team-checkout"].contacts
    assert "system:default/orders" in result.systems
    assert result.domains == ["domain:default/commerce", "domain:default/operations"]
    # Upstream: what the database runs on, to look at first.
    assert {a.ref for a in result.upstream} >= {"resource:default/prod-eu-1"}


def test_names_resolve_by_name_title_alias_and_pagerduty_id(sample_db: Database) -> None:
    checkout = "component:default/checkout-api"
    for name in ("checkout-api", "Checkout API", "checkout", "PCHK001", "component:checkout-api"):
        assert lookup.resolve(sample_db, name) == checkout, name
    assert lookup.resolve(sample_db, "system:checkout") == "system:default/checkout"
    assert lookup.resolve(sample_db, "no-such-service") is None
    labels = {"job": "kube-state-metrics", "app": "bff", "namespace": "shop"}
    assert lookup.resolve_labels(sample_db, labels) == "component:default/mobile-bff"
    result = impact.blast_radius(db=sample_db, names=["checkout", "mystery-box"])
    assert result.unmapped == ["mystery-box"]


def test_lookup_functions_other_packages_use(sample_db: Database) -> None:
    groups = lookup.linked_groups(
        sample_db,
        [
            "resource:default/redis-carts",
            "component:default/cart-service",
            "component:default/notifications",
            "component:default/fraud-scorer",
            "component:nope/unknown",
        ],
    )
    assert sorted(map(sorted, groups)) == [
        ["component:default/cart-service", "resource:default/redis-carts"],
        ["component:default/fraud-scorer"],
        ["component:default/notifications"],
        ["component:nope/unknown"],
    ]
    public = {c.ref: c for c in lookup.public_components(sample_db)}
    assert public["component:default/checkout-api"].public_name == "Checkout"
    assert public["component:default/checkout-api"].group == "Checkout and payments"
    assert "resource:default/orders-db" not in public
    owner = lookup.owner_of(sample_db, "component:default/checkout-api")
    assert owner is not None
    assert (owner.ref, owner.name) == ("group:default/team-checkout", "Checkout team")
    assert lookup.owner_of(sample_db, "component:default/nope") is None
    assert (
        lookup.origin(sample_db, ["component:default/checkout-api", "resource:default/orders-db"])
        == "resource:default/orders-db"
    )


def test_show_lists_an_entitys_neighbours_and_owner(sample_db: Database) -> None:
    detail = impact.show(db=sample_db, name="payments")
    assert detail.ref == "component:default/payments-gateway"
    assert "component:default/fraud-scorer" in detail.depends_on
    assert detail.dependents == ["component:default/checkout-api"]
    assert detail.owner_detail is not None and detail.owner_detail.name == "Payments team"
    with pytest.raises(NotFound):
        impact.show(db=sample_db, name="nothing-like-this")


# -- import: incremental, validated --------------------------------------------------------------


def test_import_is_incremental(database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "cat"
    _write(root / "a.yaml", docs(entity("Component", "api", spec="dependsOn: [resource:db]")))
    _write(root / "b.yaml", entity("Resource", "db"))
    with Database(database_url) as db:
        first = service.import_paths(db=db, paths=[root])
        assert (len(first.imported), first.entities, first.clean) == (2, 2, True)
        again = service.import_paths(db=db, paths=[root])
        assert (again.imported, len(again.unchanged)) == ([], 2)
        _write(root / "b.yaml", docs(entity("Resource", "db"), entity("Resource", "cache")))
        changed = service.import_paths(db=db, paths=[root])
        assert (changed.imported, changed.entities) == ([str(root / "b.yaml")], 3)
        (root / "b.yaml").unlink()
        gone = service.import_paths(db=db, paths=[root])
        assert gone.entities == 1
        assert [p.message for p in gone.unresolved] == [
            "dependsOn refers to an unknown entity resource:default/db"
        ]
        assert gone.unresolved[0].file == str(root / "a.yaml")
        assert gone.unresolved[0].line == 6


def test_a_broken_file_keeps_its_previous_entities_and_the_rest_goes_in(
    db: Database, tmp_path: Path
) -> None:
    root = tmp_path / "cat"
    _write(root / "a.yaml", entity("Component", "kept"))
    service.import_paths(db=db, paths=[root])
    _write(root / "a.yaml", entity("Component", "kept") + "spec: [unclosed\n")
    _write(root / "b.yaml", entity("Component", "new"))
    report = service.import_paths(db=db, paths=[root])
    # The unclosed "[" opens on line 5; YAML finds it unclosed at the end of the file, line 6.
    assert [(p.file, p.line) for p in report.failed] == [(str(root / "a.yaml"), 6)]
    assert report.imported == [str(root / "b.yaml")]
    assert lookup.resolve(db, "kept") == "component:default/kept"
    assert lookup.resolve(db, "new") == "component:default/new"


def test_a_ref_defined_in_two_files_is_reported_once_and_kept_from_the_first(
    db: Database, tmp_path: Path
) -> None:
    root = tmp_path / "cat"
    _write(root / "a.yaml", entity("Component", "twin", meta="title: First"))
    _write(root / "b.yaml", entity("Component", "twin", meta="title: Second"))
    report = service.import_paths(db=db, paths=[root])
    assert [(p.file, p.line) for p in report.problems] == [(str(root / "b.yaml"), 1)]
    assert "already defined in a.yaml:1" in report.problems[0].message
    assert impact.show(db=db, name="twin").title == "First"


def test_names_in_two_namespaces_prefer_the_default_one(db: Database, tmp_path: Path) -> None:
    _write(
        tmp_path / "c.yaml",
        docs(entity("Component", "x", meta="namespace: lab"), entity("Component", "x")),
    )
    service.import_paths(db=db, paths=[tmp_path / "c.yaml"])
    assert lookup.resolve(db, "x") == "component:default/x"
    assert lookup.resolve(db, "component:lab/x") == "component:lab/x"


def test_cycles_are_allowed_reported_and_traversed_once(db: Database, tmp_path: Path) -> None:
    _write(
        tmp_path / "c.yaml",
        docs(
            entity("Component", "a", spec="dependsOn: [b]"),
            entity("Component", "b", spec="dependsOn: [c]"),
            entity("Component", "c", spec="dependsOn: [a]"),
            entity("Component", "d", spec="dependsOn: [a]"),
        ),
    )
    report = service.import_paths(db=db, paths=[tmp_path / "c.yaml"])
    assert report.cycles == [["component:default/a", "component:default/b", "component:default/c"]]
    result = impact.blast_radius(db=db, names=["a"])
    assert sorted(a.ref for a in result.dependents) == [
        "component:default/b",
        "component:default/c",
        "component:default/d",
    ]


def test_a_missing_path_is_named(db: Database, tmp_path: Path) -> None:
    report = service.import_paths(db=db, paths=[tmp_path / "absent"])
    assert [(p.file, p.message) for p in report.failed] == [
        (str(tmp_path / "absent"), "no such file or directory")
    ]


def test_ask_context_names_owners_contacts_and_upstream_to_check(sample_db: Database) -> None:
    context = lookup.ask_context(sample_db, ["checkout", "checkout-api", "lark-v9"])
    assert [c.ref for c in context.affected] == ["component:default/checkout-api"]
    assert context.unmapped == ["lark-v9"]
    upstream = [c.name for c in context.upstream]
    assert upstream[:4] == ["cart-service", "orders-service", "payments-gateway", "pricing-engine"]
    assert len(upstream) == 5 and "storefront-api" not in upstream  # APIs are not places to look
    assert context.services()[0] == "checkout-api"
    lines = context.lines()
    assert lines[0].startswith("- **Checkout API** (`checkout-api`) is owned by Checkout team")
    assert "slack: #team-checkout" in lines[0]
    assert any(
        "Payments team" in line and "checkout-api → payments-gateway" in line for line in lines
    )
    nothing = lookup.ask_context(sample_db, [])
    assert (nothing.affected, nothing.upstream, nothing.lines()) == ([], [], [])


def test_a_symlink_out_of_the_folder_is_not_read(db: Database, tmp_path: Path) -> None:
    secret = _write(tmp_path / "outside" / "private.yaml", entity("Component", "private"))
    root = tmp_path / "cat"
    _write(root / "a.yaml", entity("Component", "inside"))
    (root / "link.yaml").symlink_to(secret)
    report = service.import_paths(db=db, paths=[root])
    assert [(p.file, p.message) for p in report.failed] == [
        (str(root / "link.yaml"), "links outside the folder; skipped")
    ]
    assert lookup.resolve(db, "private") is None
    assert lookup.resolve(db, "inside") == "component:default/inside"


def test_internal_names_cover_what_is_not_user_facing(sample_db: Database) -> None:
    names = lookup.internal_names(sample_db)
    assert {
        "orders-db",
        "pgbouncer-orders",
        "redis-carts",
        "team-checkout",
        "fraud-scorer",
    } <= names
    assert {"checkout", "website", "checkout-api", "shopping cart"}.isdisjoint(names)


def test_a_path_too_long_to_store_is_named_not_a_database_error(
    db: Database, tmp_path: Path
) -> None:
    deep = tmp_path.joinpath(*["d" * 200] * 5)
    _write(deep / "far.yaml", entity("Component", "far"))
    _write(tmp_path / "near.yaml", entity("Component", "near"))
    report = service.import_paths(db=db, paths=[tmp_path])
    assert [p.message for p in report.failed] == ["path longer than 1024 characters"]
    assert lookup.resolve(db, "near") == "component:default/near"
    assert lookup.resolve(db, "far") is None
