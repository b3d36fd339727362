"""Import, store and read the catalog. Keyword-only, HTTP-agnostic.

`import_paths` is incremental like ingest: a file whose content hash is unchanged is skipped, a
changed file's entities are replaced, and a file that was imported from under a folder given
again, but is gone from it, has its entities removed. Every change of one import is written in
one transaction (PostgreSQL: under an advisory lock; SQLite: `BEGIN IMMEDIATE`), so a reader sees
the catalog before or after it, never half of it. A file that cannot be read keeps what it had.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text

from copilot.catalog import models as m
from copilot.catalog.parse import (
    KINDS,
    Entity,
    FileError,
    Problem,
    normalise,
    parse_bytes,
    parse_ref,
    split_ref,
)
from copilot.db import Database
from copilot.errors import InvalidInput, NotFound

# pg_advisory_xact_lock key for catalog imports ("copilotC").
CATALOG_LOCK = 0x636F70696C6F7443
SUFFIXES = (".yaml", ".yml")
MAX_FILES = 10_000
MAX_PATH = 1024  # catalog_files.path


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)  # files left out entirely
    problems: list[Problem] = field(default_factory=list)  # entities / references left out
    unresolved: list[Problem] = field(default_factory=list)  # references to unknown entities
    cycles: list[list[str]] = field(default_factory=list)
    entities: int = 0

    @property
    def clean(self) -> bool:
        return not (self.failed or self.problems or self.unresolved)


def _files(
    paths: Sequence[Path], report: ImportReport
) -> tuple[list[tuple[Path, str]], list[Path]]:
    """(resolved file, path as given) for every YAML file under `paths`; the folders walked."""
    found: dict[Path, str] = {}
    roots: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            root = path.resolve()
            roots.append(root)
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if child.suffix.lower() not in SUFFIXES or not child.is_file():
                    continue
                real = child.resolve()
                if not real.is_relative_to(root):
                    # A symlink out of the folder: the folder given is what may be read.
                    report.failed.append(
                        Problem(str(child), 0, "links outside the folder; skipped")
                    )
                    continue
                found.setdefault(real, str(child))
                if len(found) > MAX_FILES:
                    raise InvalidInput(
                        f"paths: more than {MAX_FILES} YAML files; import a narrower folder"
                    )
        elif path.is_file():
            found.setdefault(path.resolve(), str(path))
        else:
            report.failed.append(Problem(str(given), 0, "no such file or directory"))
    return list(found.items()), roots


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CATALOG_LOCK})


def _remove_file(conn: Connection, path: str) -> int:
    refs = [r for (r,) in conn.execute(select(m.entities.c.ref).where(m.entities.c.file == path))]
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        conn.execute(delete(m.relations).where(m.relations.c.source.in_(chunk)))
        conn.execute(delete(m.aliases).where(m.aliases.c.ref.in_(chunk)))
        conn.execute(delete(m.entities).where(m.entities.c.ref.in_(chunk)))
    conn.execute(delete(m.files).where(m.files.c.path == path))
    return len(refs)


def _insert(conn: Connection, path: str, entities: list[Entity]) -> None:
    if not entities:
        return
    conn.execute(
        insert(m.entities),
        [
            {
                "ref": e.ref,
                "kind": e.kind,
                "namespace": e.namespace,
                "name": e.name,
                "title": e.title,
                "file": path,
                "line": e.line,
                "data": e.data,
            }
            for e in entities
        ],
    )
    rels = {(e.ref, t, target): line for e in entities for (t, target, line) in e.relations}
    if rels:
        conn.execute(
            insert(m.relations),
            [{"source": s, "type": t, "target": g, "line": ln} for (s, t, g), ln in rels.items()],
        )
    aliases = {(a, e.ref): src for e in entities for (a, src) in e.aliases}
    if aliases:
        conn.execute(
            insert(m.aliases),
            [{"alias": a, "ref": r, "source": s} for (a, r), s in aliases.items()],
        )


def import_paths(*, db: Database, paths: Sequence[Path | str]) -> ImportReport:
    """Bring the catalog in line with the YAML files under `paths` (see the module docstring)."""
    report = ImportReport()
    files, roots = _files([Path(p) for p in paths], report)
    with db.reading() as conn:
        found = conn.execute(select(m.files.c.path, m.files.c.sha256)).all()
    stored: dict[str, str] = {str(p): str(h) for p, h in found}
    parsed: list[tuple[str, str, str, list[Entity]]] = []  # (key, display, hash, entities)
    for real, display in files:
        key = str(real)
        if len(key) > MAX_PATH:
            report.failed.append(
                Problem(display[:200], 0, f"path longer than {MAX_PATH} characters")
            )
            continue
        try:
            raw = real.read_bytes()
        except OSError as exc:
            report.failed.append(Problem(display, 0, f"cannot read: {exc.strerror}"))
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if stored.get(key) == digest:
            report.unchanged.append(display)
            continue
        try:
            result = parse_bytes(raw, display)
        except FileError as exc:
            report.failed.append(exc.problem)
            continue
        report.problems.extend(result.problems)
        parsed.append((key, display, digest, result.entities))
    present = {str(real) for real, _ in files}
    gone = [
        p
        for p in stored
        if p not in present and any(Path(p).is_relative_to(root) for root in roots)
    ]
    now = datetime.now(UTC).isoformat()
    with db.begin() as conn:
        _lock(conn)
        for path in gone:
            _remove_file(conn, path)
            report.removed.append(path)
        for key, display, digest, entities in parsed:
            _remove_file(conn, key)
            refs = [e.ref for e in entities]
            taken: dict[str, tuple[str, int]] = {}
            for start in range(0, len(refs), 500):
                rows = conn.execute(
                    select(m.entities.c.ref, m.entities.c.file, m.entities.c.line).where(
                        m.entities.c.ref.in_(refs[start : start + 500])
                    )
                )
                taken.update({r: (f, ln) for r, f, ln in rows})
            keep: list[Entity] = []
            for entity in entities:
                if entity.ref in taken:
                    other, line = taken[entity.ref]
                    report.problems.append(
                        Problem(
                            display,
                            entity.line,
                            f"{entity.ref} is already defined in "
                            f"{Path(other).name}:{line}; skipped",
                        )
                    )
                    continue
                keep.append(entity)
            _insert(conn, key, keep)
            conn.execute(insert(m.files).values(path=key, sha256=digest, imported_at=now))
            report.imported.append(display)
        report.entities = conn.execute(select(func.count()).select_from(m.entities)).scalar_one()
        shown = {str(real): display for real, display in files}
        report.unresolved = [
            Problem(shown.get(p.file, p.file), p.line, p.message) for p in _unresolved(conn)
        ]
    from copilot.catalog.graph import cycles, load_graph

    report.cycles = cycles(load_graph(db))
    return report


def _unresolved(conn: Connection) -> list[Problem]:
    target = m.entities.alias("target")
    rows = conn.execute(
        select(m.relations.c.target, m.relations.c.type, m.relations.c.line, m.entities.c.file)
        .join(m.entities, m.entities.c.ref == m.relations.c.source)
        .outerjoin(target, target.c.ref == m.relations.c.target)
        .where(target.c.ref.is_(None))
        .order_by(m.entities.c.file, m.relations.c.line)
    )
    return [
        Problem(file, line, f"{rel} refers to an unknown entity {tgt}")
        for tgt, rel, line, file in rows
    ]


# --- reads -----------------------------------------------------------------------------------


def entity_rows(
    conn: Connection, *, kind: str | None = None, refs: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    query = select(m.entities).order_by(m.entities.c.ref)
    if kind:
        query = query.where(m.entities.c.kind == kind.lower())
    if refs is not None:
        query = query.where(m.entities.c.ref.in_(list(refs)))
    return [dict(row._mapping) for row in conn.execute(query)]


def relation_rows(conn: Connection) -> list[tuple[str, str, str]]:
    return [
        (s, t, g)
        for s, t, g in conn.execute(
            select(m.relations.c.source, m.relations.c.type, m.relations.c.target)
        )
    ]


def version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever an import changes anything (used to cache the graph)."""
    row = conn.execute(
        select(func.count(), func.max(m.files.c.imported_at)).select_from(m.files)
    ).one()
    entities = conn.execute(select(func.count()).select_from(m.entities)).scalar_one()
    return (row[0], row[1], entities)


def resolve_name(conn: Connection, name: str) -> str | None:
    """The ref an entity is known by `name` (a ref, its name, title or an alias), or None.

    Several matches: Components and Resources before APIs, Systems, Domains and Groups; then a
    name beats a title beats an alias; then the default namespace; then the first ref in order.
    """
    raw = str(name).strip()
    if not raw or len(raw) > 400:
        return None
    if ":" in raw:
        try:
            ref = parse_ref(raw, default_kind=None)
        except ValueError:
            ref = None
        if ref is not None:
            found = conn.execute(select(m.entities.c.ref).where(m.entities.c.ref == ref)).first()
            if found is not None:
                return str(found[0])
    rows = list(
        conn.execute(
            select(m.aliases.c.ref, m.aliases.c.source).where(m.aliases.c.alias == normalise(raw))
        )
    )
    if not rows:
        return None
    source_rank = {"name": 0, "title": 1}
    # What fails in an incident is a component or resource far more often than a system or team.
    kind_rank = {"component": 0, "resource": 0, "api": 1, "system": 2, "domain": 3, "group": 4}

    def rank(row: tuple[str, str]) -> tuple[int, int, int, str]:
        ref, source = row
        kind, namespace, _ = split_ref(ref)
        return (
            kind_rank.get(kind, 9),
            source_rank.get(source, 2),
            0 if namespace == "default" else 1,
            ref,
        )

    return str(min(((r, s) for r, s in rows), key=rank)[0])


def get_entity_row(conn: Connection, name: str) -> dict[str, Any]:
    ref = resolve_name(conn, name)
    if ref is None:
        raise NotFound(
            f"no catalog entity named {name[:100]!r}",
            public="catalog entity not found (by ref, name, title or alias)",
        )
    rows = entity_rows(conn, refs=[ref])
    return rows[0]


def check_kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    if kind.lower() not in KINDS:
        raise InvalidInput(f"kind: expected one of {', '.join(KINDS)}")
    return kind.lower()
