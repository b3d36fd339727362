"""Retrieved sections made safe to compose from: redacted, instruction text isolated, numbered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from copilot.guardrails.injection import isolate
from copilot.guardrails.redact import redact
from copilot.guardrails.verify import hosts_in, strip_hosts
from copilot.knowledge.models import Chunk

HIDDEN_INSTRUCTIONS = "hidden_instructions"


@dataclass
class Passage:
    """A section as the composer sees it; `text` holds no instruction aimed at an AI."""

    id: str
    chunk: Chunk
    text: str
    score: float
    similarity: float | None
    suspected: bool = False
    reasons: list[str] = field(default_factory=list)
    redactions: int = 0
    # Hosts named by the instructions removed from this section: the attacker's, by assumption.
    tainted_hosts: tuple[str, ...] = ()

    @property
    def phase(self) -> str | None:
        return section_phase(self.chunk.section)


_PHASES: list[tuple[str, re.Pattern[str]]] = [
    ("escalate", re.compile(r"\bescalat|\bwho to (?:call|page)|\bcontacts?\b|\bpage\b", re.I)),
    (
        "verify",
        re.compile(r"\bverif|\bvalidat|\bconfirm|\bafter(?:wards)?\b|\bpost-?mitigation", re.I),
    ),
    (
        "mitigate",
        re.compile(
            r"\bmitigat|\bremediat|\bresol|\bfix|\bworkaround|\brecover|\brollback|\broll back|"
            r"\brestor|\bprocedure|\bsteps\b|\bactions?\b|\bresponse\b|\bhow to\b",
            re.I,
        ),
    ),
    (
        "diagnose",
        re.compile(
            r"\bdiagnos|\binvestigat|\btriage|\btroubleshoot|\bcheck|\bdebug|\bidentif", re.I
        ),
    ),
]
PHASE_ORDER = {"diagnose": 0, "mitigate": 1, "verify": 2, "escalate": 3}


def section_phase(section: str) -> str | None:
    """Which part of a response a section serves, from its heading path (deepest first)."""
    for heading in reversed(section.split(" > ")):
        for phase, pattern in _PHASES:
            if pattern.search(heading):
                return phase
    return None


@lru_cache(maxsize=4096)
def _screen(text: str) -> tuple[str, int, bool, tuple[str, ...], tuple[str, ...]]:
    """Redact then isolate a section's text; chunk texts repeat, so this is cached."""
    redacted = redact(text)
    isolated = isolate(redacted.text)
    tainted = tuple(sorted(hosts_in("\n".join(isolated.removed))))
    text = strip_hosts(isolated.text, set(tainted)) if tainted else isolated.text
    return text, redacted.total, isolated.suspected, tuple(isolated.reasons), tainted


def make_passage(index: int, chunk: Chunk, *, score: float, similarity: float | None) -> Passage:
    text, redactions, flagged, found, tainted = _screen(chunk.text)
    suspected = flagged or HIDDEN_INSTRUCTIONS in chunk.sanitized
    reasons = list(found)
    if HIDDEN_INSTRUCTIONS in chunk.sanitized:
        reasons.append("hidden_text")
    return Passage(
        id=f"P{index}",
        chunk=chunk,
        text=text,
        score=score,
        similarity=similarity,
        suspected=suspected,
        reasons=reasons,
        redactions=redactions,
        tainted_hosts=tainted,
    )


def document_passages(chunks: Sequence[Chunk], *, score: float) -> list[Passage]:
    """Every section of one document, screened, with the links its hidden instructions named
    removed from all of them."""
    passages = [make_passage(i, c, score=score, similarity=None) for i, c in enumerate(chunks)]
    untaint(passages)
    return passages


def untaint(passages: list[Passage]) -> set[str]:
    """Remove, from every passage of a document, the links to hosts that the document's hidden
    instructions named (a reference-style link keeps its URL away from the text that uses it).
    Returns the hosts."""
    by_source: dict[str, set[str]] = {}
    for p in passages:
        by_source.setdefault(p.chunk.source, set()).update(p.tainted_hosts)
    tainted = set().union(*by_source.values()) if by_source else set()
    for p in passages:
        hosts = by_source.get(p.chunk.source)
        if not hosts:
            continue
        cleaned = strip_hosts(p.text, hosts)
        if cleaned != p.text:
            p.text = cleaned
            p.suspected = True
            if "tainted_link" not in p.reasons:
                p.reasons.append("tainted_link")
    return tainted
