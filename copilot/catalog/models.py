"""The catalog's tables (SQLAlchemy Core); migration 0005 owns the schema itself.

- `catalog_files`: each imported file (resolved path), its content hash, when it was imported.
- `catalog_entities`: one row per entity, keyed by its lower-case ref `kind:namespace/name`, with
  the file and line it came from and the whole entity as parsed (`data`, JSON).
- `catalog_relations`: directed relations between refs (`dependsOn`, `providesApi`, ...), each
  with the line of the reference; the target may be unknown (reported, not followed).
- `catalog_aliases`: lower-cased names an entity is found by (name, title, aliases, PagerDuty id).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

files = Table(
    "catalog_files",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("imported_at", String(40), nullable=False),
)

entities = Table(
    "catalog_entities",
    metadata,
    Column("ref", String(400), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("namespace", String(100), nullable=False),
    Column("name", String(253), nullable=False),
    Column("title", Text, nullable=True),
    Column("file", String(1024), nullable=False),
    Column("line", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_catalog_entities_file", "file"),
    Index("ix_catalog_entities_name", "name"),
)

relations = Table(
    "catalog_relations",
    metadata,
    Column("source", String(400), primary_key=True),
    Column("type", String(40), primary_key=True),
    Column("target", String(400), primary_key=True),
    Column("line", Integer, nullable=False),
    Index("ix_catalog_relations_target", "target"),
)

aliases = Table(
    "catalog_aliases",
    metadata,
    Column("alias", String(400), primary_key=True),
    Column("ref", String(400), primary_key=True),
    Column("source", String(40), nullable=False),
    Index("ix_catalog_aliases_ref", "ref"),
)
