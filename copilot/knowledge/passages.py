"""Retrieved sections made safe to compose from: redacted, instruction text isolated, numbered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from copilot.guardrails.injection import isolate
from copilot.guardrails.redact import redact
from copilot.guardrails.screened import hold_severe
from copilot.guardrails.verify import hosts_in, strip_hosts
from copilot.knowledge.models import Chunk
from copilot.knowledge.sections import PROCEDURE_HEADING

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
        # "After recovery" and "after failover" are verification; "(after upgrade)" or a
        # title's "... after reindex" names a case, not a phase.
        re.compile(
            r"\bverif|\bvalidat|\bconfirm|\bafterwards\b|\bpost-?mitigation|\bafter (?:the )?"
            r"(?:recover|mitigat|failover|fail-?back|fix|roll-?back|restor|resol|the incident)",
            re.I,
        ),
    ),
    (
        "mitigate",
        re.compile(
            r"\bmitigat|\bremediat|\bresol|\bfix|\bworkaround|\brecover|\brollback|\broll back|"
            r"\brestor|\bprocedure|\bsteps\b|\bactions?\b|\bresponse\b|\bhow to\b|"
            + PROCEDURE_HEADING,
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
_MITIGATE = dict(_PHASES)["mitigate"]
PHASE_ORDER = {"diagnose": 0, "mitigate": 1, "verify": 2, "escalate": 3}


# Where one sentence ends and the next begins: after . ! or ?, before a capital, code or a link;
# not after an abbreviation that opens an example or a gloss ("the root cause (e.g. DaemonSet
# not scheduling) and restore ...", "i.e.", "vs.", "cf.").
_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?])(?<!\b[eE]\.g\.)(?<!\b[iI]\.e\.)(?<!\b[vV]s\.)(?<!\b[cC]f\.)\s+(?=[A-Z`*(\[])"
)


def split_sentences(flat: str) -> list[str]:
    """The sentences of text already on one line."""
    return _SENTENCE_BREAK.split(flat)


def _heading_phase(heading: str) -> str | None:
    """The phase one heading names. A verification that opens on a fix is a fix ("Fix
    validation errors"); "Verify resolution" is a verification."""
    for phase, pattern in _PHASES:
        if found := pattern.search(heading):
            fix = _MITIGATE.search(heading)
            if phase == "verify" and fix and fix.start() < found.start():
                return "mitigate"
            return phase
    return None


def section_phase(section: str) -> str | None:
    """Which part of a response a section serves, from its heading path (deepest first).

    Verifying inside a Diagnosis section is a check ("Diagnosis > 2. Verify the
    ClusterRoleBinding"), not the verification that follows a fix."""
    named = (phase for h in reversed(section.split(" > ")) if (phase := _heading_phase(h)))
    first = next(named, None)
    if first == "verify" and next(named, None) == "diagnose":
        return "diagnose"
    return first


@lru_cache(maxsize=4096)
def _screen(
    text: str, diagnosis: bool = False
) -> tuple[str, int, bool, tuple[str, ...], tuple[str, ...]]:
    """Isolate then redact a section's text; chunk texts repeat, so this is cached.

    Isolation reads the text as written (an address decides whether a copy goes outside);
    what a composer is handed is redacted."""
    isolated = isolate(text)
    redacted = redact(isolated.text)
    tainted = tuple(sorted(hosts_in("\n".join(isolated.removed))))
    text = strip_hosts(redacted.text, set(tainted)) if tainted else redacted.text
    # Neither a model nor the extractive composer is handed a severe command or the case its
    # paragraph makes for it: the step says what it is for and sends the reader to the source.
    text, _ = hold_severe(text, diagnosis=diagnosis)
    return text, redacted.total, isolated.suspected, tuple(isolated.reasons), tainted


def make_passage(index: int, chunk: Chunk, *, score: float, similarity: float | None) -> Passage:
    diagnosis = section_phase(chunk.section) == "diagnose"
    text, redactions, flagged, found, tainted = _screen(chunk.text, diagnosis)
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


def _overlap(previous: list[str], lines: list[str]) -> int:
    """How many leading lines of `lines` repeat the last lines of `previous`."""
    # Windows are stripped, so the first line of one lost its indentation: compare stripped.
    before = [line.strip() for line in previous]
    after = [line.strip() for line in lines]
    for size in range(min(len(before), len(after)), 0, -1):
        if before[-size:] == after[:size]:
            return size
    return 0


_FENCE_LINE = re.compile(r"^\s*(?:`{3,}|~{3,})")


def _joined(previous: list[str], lines: list[str]) -> list[str]:
    """Two overlapping windows as one. A window cut inside a code block was closed at its end
    and the next one reopened at its start (ingest.chunking): those fences go, or the block
    would close and reopen in the middle."""
    closed = previous[:-1] if previous and _FENCE_LINE.match(previous[-1]) else previous
    reopened = lines[1:] if lines and _FENCE_LINE.match(lines[0]) else lines
    # The longest overlap wins ("```" alone would match a bare closing and opening fence).
    size, before, after = max(
        (
            (_overlap(b, a), b, a)
            for b, a in (
                (closed, reopened),
                (previous, reopened),
                (closed, lines),
                (previous, lines),
            )
        ),
        key=lambda found: found[0],
    )
    return before + after[size:] if size else previous + lines


def merge_windows(chunks: Sequence[Chunk]) -> list[Chunk]:
    """One chunk per section: the overlapping windows of a long section joined back together,
    so a list item or a table row cut at a window's edge is whole again, and nothing repeats."""
    out: list[Chunk] = []
    for chunk in chunks:
        last = out[-1] if out else None
        # The next window of a section starts on or before the last one's end; a later section
        # under the same heading is another section.
        if (
            last is None
            or last.section != chunk.section
            or last.source != chunk.source
            or chunk.line_start > last.line_end
        ):
            out.append(chunk)
            continue
        text = "\n".join(_joined(last.text.split("\n"), chunk.text.split("\n")))
        out[-1] = replace(last, text=text, line_end=max(last.line_end, chunk.line_end))
    return out


def document_passages(chunks: Sequence[Chunk], *, score: float) -> list[Passage]:
    """Every section of one document, screened, with the links its hidden instructions named
    removed from all of them."""
    merged = merge_windows(chunks)
    passages = [make_passage(i, c, score=score, similarity=None) for i, c in enumerate(merged)]
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
