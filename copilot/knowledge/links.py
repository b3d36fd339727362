"""Links between documents of the knowledge base: "See [Node clock skew](./NodeClockSkew.md)"."""

from __future__ import annotations

import posixpath
import re

from copilot.knowledge.sections import is_boilerplate
from copilot.knowledge.store import KnowledgeBase

# [text](target) with a relative .md target, or Hugo's {{< ref "target" >}} shortcode.
_LINK = re.compile(
    r"\[(?P<text>[^\]\n]{1,200})\]\(\s*(?:\{\{<\s*ref\s+\"(?P<ref>[^\"]+)\"\s*>\}\}|"
    r"(?P<path>[^)\s]+?\.md)(?:#[^)\s]*)?)\s*\)"
)


def linked_sources(kb: KnowledgeBase, source: str, text: str) -> list[tuple[str, str]]:
    """(link text, source) of the documents in the knowledge base that `text` links to."""
    out: list[tuple[str, str]] = []
    base = posixpath.dirname(source)
    for match in _LINK.finditer(text):
        target = (match.group("ref") or match.group("path") or "").strip()
        if not target or "://" in target:
            continue
        resolved = posixpath.normpath(posixpath.join(base, target)).lstrip("/")
        if resolved != source and kb.document_chunks(resolved):
            out.append((match.group("text"), resolved))
    return list(dict.fromkeys(out))


_DEFERS = re.compile(r"\b(?:see|refer to|follow|use)\b[^.\n]{0,160}\]\(", re.I)


def defers(text: str) -> bool:
    """Whether a section hands its steps to another document ("See [X](x.md) for mitigation")."""
    return bool(_DEFERS.search(text))


def _link_targets(source: str, text: str) -> set[str]:
    base = posixpath.dirname(source)
    out: set[str] = set()
    for match in _LINK.finditer(text):
        target = (match.group("ref") or match.group("path") or "").strip()
        if target and "://" not in target:
            out.add(posixpath.normpath(posixpath.join(base, target)).lstrip("/"))
    return out


def _links_into(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    chunks = kb.all_chunks()
    sources = {c.source for c in chunks}
    into: dict[str, set[str]] = {}
    for chunk in chunks:
        # A "Related" list links everything to everything; a step's link says "use that page".
        if is_boilerplate(chunk.section):
            continue
        for target in _link_targets(chunk.source, chunk.text):
            if target != chunk.source and target in sources:
                into.setdefault(target, set()).add(chunk.source)
    return {target: frozenset(found) for target, found in into.items()}


def linked_from(kb: KnowledgeBase, source: str) -> frozenset[str]:
    """The documents of the knowledge base that link to `source` outside their link lists (one
    scan, kept until the knowledge base changes)."""
    return kb.derived("links_into", _links_into).get(source, frozenset())
