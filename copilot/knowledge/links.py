"""Links between documents of the knowledge base: "See [Node clock skew](./NodeClockSkew.md)"."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from copilot.knowledge.sections import is_boilerplate
from copilot.knowledge.store import KnowledgeBase

# [text](target) with a relative .md target, or Hugo's {{< ref "target" >}} shortcode.
_LINK = re.compile(
    r"\[(?P<text>[^\]\n]{1,200})\]\(\s*(?:\{\{<\s*ref\s+\"(?P<ref>[^\"]+)\"\s*>\}\}|"
    r"(?P<path>[^)\s]+?\.md)(?:#[^)\s]*)?)\s*\)"
)


def _targets(source: str, text: str) -> Iterator[tuple[str, str]]:
    """(link text, path in the knowledge base) of each relative link in `text`."""
    base = posixpath.dirname(source)
    for match in _LINK.finditer(text):
        target = (match.group("ref") or match.group("path") or "").strip()
        if target and "://" not in target:
            yield match.group("text"), posixpath.normpath(posixpath.join(base, target)).lstrip("/")


def opens_with_link(text: str) -> bool:
    """Whether a text opens with a relative link to another page ("[pod debug](helpers/
    podDebug.md) ...", "[Upgrade]({{< ref "upgrade.md" >}})")."""
    match = _LINK.match(text)
    return match is not None and "://" not in (match.group("ref") or match.group("path") or "")


def linked_sources(kb: KnowledgeBase, source: str, text: str) -> list[tuple[str, str]]:
    """(link text, source) of the documents in the knowledge base that `text` links to."""
    found = [
        (label, target)
        for label, target in _targets(source, text)
        if target != source and kb.document_chunks(target)
    ]
    return list(dict.fromkeys(found))


_DEFERS = re.compile(r"\b(?:see|refer to|follow|use)\b[^.\n]{0,160}\]\(", re.I)


def defers(text: str) -> bool:
    """Whether a section hands its steps to another document ("See [X](x.md) for mitigation")."""
    return bool(_DEFERS.search(text))


def _links_into(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    chunks = kb.all_chunks()
    sources = {c.source for c in chunks}
    into: dict[str, set[str]] = {}
    for chunk in chunks:
        # A "Related" list links everything to everything; a step's link says "use that page".
        if is_boilerplate(chunk.section):
            continue
        for _, target in _targets(chunk.source, chunk.text):
            if target != chunk.source and target in sources:
                into.setdefault(target, set()).add(chunk.source)
    return {target: frozenset(found) for target, found in into.items()}


def links_into(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    """Each linked page of the knowledge base, and the documents that link to it outside their
    link lists (one scan, kept until the knowledge base changes)."""
    return kb.derived("links_into", _links_into)


def linked_from(kb: KnowledgeBase, source: str) -> frozenset[str]:
    """The documents of the knowledge base that link to `source` outside their link lists."""
    return links_into(kb).get(source, frozenset())
