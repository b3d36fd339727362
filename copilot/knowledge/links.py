"""Links between documents of the knowledge base: "See [Node clock skew](./NodeClockSkew.md)"."""

from __future__ import annotations

import posixpath
import re

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
