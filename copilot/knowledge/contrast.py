"""What a question says it is *not* about.

A responder tells near twins apart the way they would tell a colleague: "a client cert expires
in a week. not the kubelet one", "the list calls fail (list, not watch)", "75% used, not
critical yet". Searched as written, the word they rule out pulls the twin they ruled out ahead:
it is in that runbook's title. A contrast opens a clause ("..., not X", "(not X)", ". not X") or
hedges ("not just X", "not fully X"); "pods not ready" is a symptom, not a contrast, and is left
alone, as is a clause-opening "not ready" or "not sure why".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.knowledge.terms import split_camel, stem

_HEDGE = (
    r"just|only|simply|merely|even|fully|exactly|totally|completely|entirely|"
    r"necessarily|yet"
)
# "not" opening a clause (after the start, a stop, a comma, a bracket or a dash), then at most
# four words up to the clause's end.
_CONTRAST = re.compile(
    r"(?:^|(?<=[,.;:(\[—–-])|(?<=[,.;:(\[—–-]\s))\s*\bnot\s+"
    r"(?P<hedge>(?:" + _HEDGE + r")\s+)?"
    r"(?P<body>[^\s,.;:()\[\]!?]+(?:\s+[^\s,.;:()\[\]!?]+){0,3}?)"
    r"(?=\s*(?:[,.;:()\[\]!?]|\bbut\b|$))",
    re.IGNORECASE,
)
# A clause-opening "not" that states a symptom or a doubt ("not ready", "not sure", "not really
# HA"), unhedged.
_STATE = frozenset(
    """ready running working responding reachable available starting started scheduled
    scheduling healthy found syncing synced loading updating resolving progressing serving
    coming getting going able allowed sure certain much many all always enough there happening
    showing firing really quite""".split()
)
_FILLER = frozenset(
    "the a an one ones my our its this that kind sort yet though anyway either at all".split()
)
_WORD = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class Contrast:
    """The question without what it rules out, and the stems of the words it rules out."""

    kept: str
    ruled_out: frozenset[str]


def contrasted(query: str) -> Contrast:
    """Split off the clauses of `query` that say what it is not about."""
    ruled: set[str] = set()
    spans: list[tuple[int, int]] = []
    for match in _CONTRAST.finditer(query):
        words = match.group("body").lower().split()
        if not match.group("hedge") and words[0] in _STATE:
            continue
        # Every word counts, stop words too: "not fully down" rules out the Down twin.
        terms = [w for w in _WORD.findall(" ".join(words)) if w not in _FILLER and len(w) > 1]
        if not terms:
            continue
        ruled.update(stem(t) for t in terms)
        spans.append(match.span())
    if not spans:
        return Contrast(query, frozenset())
    kept, last = [], 0
    for start, end in spans:
        kept.append(query[last:start])
        last = end
    kept.append(query[last:])
    text = " ".join(" ".join(kept).split())
    return Contrast(text or query, frozenset(ruled))


def names_ruled_out(contrast: Contrast, title: str) -> bool:
    """Whether a document's title names what the question ruled out ("KubeletClient..." for
    "not the kubelet one")."""
    if not contrast.ruled_out:
        return False
    words = _WORD.findall(split_camel(title).lower())
    return any(stem(w) in contrast.ruled_out for w in words)
