"""Backstage descriptors (`catalog-info.yaml`) parsed and validated, with the line of every problem.

A file is multi-document YAML; each document is an entity (`apiVersion: backstage.io/v1alpha1`,
`kind`, `metadata`, `spec`). References follow Backstage's `[kind:][namespace/]name` form: the kind
defaults by field (`owner` a Group, `system` a System, `providesApis` an API, `dependsOn` a
Component), the namespace to the referring entity's own. Refs are compared case-insensitively, as
Backstage does, and stored lower-case.

What cannot be read at all (not UTF-8, not YAML, larger than `MAX_FILE_BYTES`, an alias bomb whose
expansion exceeds `MAX_NODES`) fails the whole file, which is then left as it was. An entity that
is invalid (unknown kind, missing or malformed name) is reported with its line and skipped; the
other entities of the file go in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# libyaml's parser when PyYAML was built with it (the wheels are): the same nodes and marks,
# several times faster than the pure-Python one.
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 5_000_000
MAX_NODES = 2_000_000  # YAML nodes after alias expansion, per file
MAX_DOCUMENTS = 20_000

KINDS = ("component", "api", "resource", "system", "domain", "group", "user", "location")
DEFAULT_NAMESPACE = "default"
# Backstage's rule for names and namespaces (the catalog model's "makeValidator").
NAME_RE = re.compile(r"^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")

# spec field -> (relation type, the kind a reference defaults to, one value or many)
RELATION_FIELDS: dict[str, tuple[str, str, bool]] = {
    "owner": ("ownedBy", "group", False),
    "system": ("partOf", "system", False),
    "domain": ("partOf", "domain", False),
    "dependsOn": ("dependsOn", "component", True),
    "dependencyOf": ("dependencyOf", "component", True),
    "providesApis": ("providesApi", "api", True),
    "consumesApis": ("consumesApi", "api", True),
    "subcomponentOf": ("subcomponentOf", "component", False),
    "parent": ("childOf", "group", False),
    "children": ("parentOf", "group", True),
    "members": ("hasMember", "user", True),
    "memberOf": ("memberOf", "group", True),
}

ALIAS_ANNOTATIONS = ("copilot/aliases", "pagerduty.com/service-id")
PUBLIC_NAME = "copilot/public-name"
PUBLIC_GROUP = "copilot/public-group"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the problem concerns the whole file
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )


@dataclass
class Entity:
    ref: str
    kind: str
    namespace: str
    name: str
    title: str | None
    line: int
    data: dict[str, Any]
    relations: list[tuple[str, str, int]] = field(default_factory=list)  # (type, target, line)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (alias, source)


@dataclass
class ParsedFile:
    entities: list[Entity]
    problems: list[Problem]


class FileError(ValueError):
    """The whole file cannot be imported."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def normalise(name: str) -> str:
    """How names are compared: case-folded, whitespace collapsed."""
    return " ".join(str(name).split()).casefold()


def parse_ref(
    value: str, *, default_kind: str | None, default_namespace: str = DEFAULT_NAMESPACE
) -> str:
    """`[kind:][namespace/]name` as a full lower-case ref; ValueError when malformed."""
    text = str(value).strip()
    kind, sep, rest = text.partition(":")
    if not sep:
        kind, rest = "", text
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "", rest
    kind = (kind or default_kind or "").lower()
    namespace = namespace or default_namespace
    if not kind:
        raise ValueError(f"reference {text[:100]!r} needs a kind (kind:namespace/name)")
    if kind not in KINDS:
        raise ValueError(f"reference {text[:100]!r} names an unknown kind {kind!r}")
    if not NAME_RE.match(name) or len(name) > 63:
        raise ValueError(f"reference {text[:100]!r} has an invalid name")
    if not NAME_RE.match(namespace) or len(namespace) > 63:
        raise ValueError(f"reference {text[:100]!r} has an invalid namespace")
    return f"{kind}:{namespace}/{name}".lower()


def split_ref(ref: str) -> tuple[str, str, str]:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return kind, namespace, name


def _expanded_size(root: Node) -> int:
    """Nodes after alias expansion, counted with a memo so a bomb is measured, not expanded."""
    memo: dict[int, int] = {}

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if depth > 200:
            raise RecursionError
        memo[key] = 1  # a recursive alias counts once
        total = 1
        if isinstance(node, SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
            if total > MAX_NODES:
                return total
        memo[key] = total
        return total

    return size(root, 0)


def _child(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            found: Node = v
            return found
    return None


def _line(node: Node | None, fallback: int) -> int:
    return node.start_mark.line + 1 if node is not None else fallback


def load_documents(raw: bytes, display: str) -> list[tuple[Node, Any]]:
    """Each YAML document's node and value; FileError when the file cannot be read as a whole."""
    if len(raw) > MAX_FILE_BYTES:
        raise FileError(
            Problem(display, 0, f"file is {len(raw)} bytes, more than the {MAX_FILE_BYTES} allowed")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileError(Problem(display, line, "not UTF-8 text")) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    docs: list[tuple[Node, Any]] = []
    try:
        for node in yaml.compose_all(text, Loader=LOADER):
            if node is None:
                continue
            if len(docs) >= MAX_DOCUMENTS:
                raise FileError(
                    Problem(display, _line(node, 0), f"more than {MAX_DOCUMENTS} documents")
                )
            try:
                nodes = _expanded_size(node)
            except RecursionError:
                raise FileError(
                    Problem(display, _line(node, 0), "YAML nested too deeply")
                ) from None
            if nodes > MAX_NODES:
                raise FileError(
                    Problem(
                        display,
                        _line(node, 0),
                        "YAML aliases expand to more than "
                        f"{MAX_NODES} nodes (an alias bomb?); refused",
                    )
                )
            value = SafeConstructor().construct_document(node)
            docs.append((node, value))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise FileError(Problem(display, line, f"invalid YAML: {exc.problem or exc}")) from None
    except yaml.YAMLError as exc:
        raise FileError(Problem(display, 0, f"invalid YAML: {exc}")) from None
    except RecursionError:
        raise FileError(Problem(display, 0, "YAML nested too deeply")) from None
    return docs


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float) and str(v).strip()]
    if isinstance(value, str | int | float):
        return [str(value)] if str(value).strip() else []
    return []


def _entity(node: Node, doc: Any, display: str) -> tuple[Entity | None, list[Problem]]:
    line = _line(node, 1)
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        return None, [Problem(display, line, "a catalog entity must be a YAML mapping")]
    api_version = str(doc.get("apiVersion", ""))
    if not api_version.startswith("backstage.io/"):
        return None, [
            Problem(display, line, f"apiVersion {api_version[:60]!r} is not backstage.io/...")
        ]
    kind = str(doc.get("kind", "")).strip()
    if kind.lower() not in KINDS:
        return None, [
            Problem(display, _line(_child(node, "kind"), line), f"unknown kind {kind[:60]!r}")
        ]
    metadata = doc.get("metadata")
    meta_node = _child(node, "metadata")
    if not isinstance(metadata, dict):
        return None, [Problem(display, line, "metadata is missing or not a mapping")]
    name = str(metadata.get("name", "") or "")
    name_line = _line(_child(meta_node, "name"), line)
    if not NAME_RE.match(name) or len(name) > 63:
        return None, [
            Problem(display, name_line, f"metadata.name {name[:80]!r} is not a valid entity name")
        ]
    namespace = str(metadata.get("namespace") or DEFAULT_NAMESPACE)
    if not NAME_RE.match(namespace) or len(namespace) > 63:
        return None, [
            Problem(display, name_line, f"metadata.namespace {namespace[:80]!r} is not valid")
        ]
    spec = doc.get("spec") or {}
    if not isinstance(spec, dict):
        return None, [Problem(display, line, "spec is not a mapping")]
    kind = kind.lower()
    ref = f"{kind}:{namespace}/{name}".lower()
    title = metadata.get("title")
    title = str(title) if isinstance(title, str | int | float) and str(title).strip() else None
    entity = Entity(
        ref=ref,
        kind=kind,
        namespace=namespace.lower(),
        name=name,
        title=title,
        line=line,
        data={"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec},
    )
    spec_node = _child(node, "spec")
    for fld, (rel, default_kind, many) in RELATION_FIELDS.items():
        if fld not in spec:
            continue
        if fld == "domain" and kind != "system":
            continue
        fnode = _child(spec_node, fld)
        values = spec[fld]
        if not many and isinstance(values, list):
            problems.append(Problem(display, _line(fnode, line), f"spec.{fld} takes one reference"))
            continue
        items = values if isinstance(values, list) else [values]
        item_nodes = fnode.value if isinstance(fnode, SequenceNode) else [fnode] * len(items)
        for item, inode in zip(items, item_nodes, strict=False):
            iline = _line(inode, line)
            if not isinstance(item, str):
                problems.append(
                    Problem(display, iline, f"spec.{fld}: a reference must be a string")
                )
                continue
            try:
                target = parse_ref(item, default_kind=default_kind, default_namespace=namespace)
            except ValueError as exc:
                problems.append(Problem(display, iline, f"spec.{fld}: {exc}"))
                continue
            entity.relations.append((rel, target, iline))
    seen: set[str] = set()

    def alias(value: str, source: str) -> None:
        key = normalise(value)
        if key and key not in seen and len(key) <= 400:
            seen.add(key)
            entity.aliases.append((key, source))

    alias(name, "name")
    if title:
        alias(title, "title")
    annotations = metadata.get("annotations") or {}
    if isinstance(annotations, dict):
        for key in ALIAS_ANNOTATIONS:
            raw = annotations.get(key)
            for part in _strings(raw):
                for one in part.split(","):
                    alias(one, key)
        public = annotations.get(PUBLIC_NAME)
        if isinstance(public, str) and public.strip():
            alias(public, PUBLIC_NAME)
    return entity, problems


def parse_bytes(raw: bytes, display: str) -> ParsedFile:
    """The entities of one file and the problems of the ones left out (FileError: none go in)."""
    entities: list[Entity] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for node, doc in load_documents(raw, display):
        entity, found = _entity(node, doc, display)
        problems.extend(found)
        if entity is None:
            continue
        if entity.ref in seen:
            problems.append(
                Problem(
                    display,
                    entity.line,
                    f"{entity.ref} is defined twice (first on line {seen[entity.ref]})",
                )
            )
            continue
        seen[entity.ref] = entity.line
        entities.append(entity)
    return ParsedFile(entities, problems)
