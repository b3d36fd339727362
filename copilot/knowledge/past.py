"""Read a past postmortem from the knowledge base: what happened, why, what fixed it, what followed.

Shared by ask (its "similar incidents") and the postmortem draft. Everything returned is text of
the postmortem's own sections, redacted and with instruction-carrying units isolated (through
`document_passages`), together with the section and line range it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from copilot.knowledge.models import Hit
from copilot.knowledge.passages import Passage, document_passages, split_sentences
from copilot.knowledge.store import KnowledgeBase
from copilot.listitems import LIST_MARKER


def close_enough(hit: Hit, *, floor: float, ratio: float, best: float) -> bool:
    """Whether a past incident's hit is worth listing beside a question, an alert or a draft: its
    postmortem names the alert or title asked for, or matches at least `floor` in meaning; and it
    scores at least `ratio` of the best one's `best`. Each list sets its own floor and ratio."""
    if hit.match is not None and hit.match < floor and not hit.reasons:
        return False
    return hit.score >= ratio * best


_FIXED = re.compile(
    r"resolution|mitigat|recover|remediat|fix|how (?:it|we) (?:was|were)? ?(?:fixed|resolved)", re.I
)
_FIX_LINE = re.compile(
    r"\b(?:mitigat\w*|rolled back|roll(?:ing)? back|revert\w*|restart\w*|fix\w*|restor\w*|"
    r"failed over|fail(?:ing)? over|scaled|increased|raised|disabled|re-?enabled|flushed|patched|"
    r"switched|paused|drained|purged|corrected)\b",
    re.I,
)
# What a responder did, said in words that also tell how an incident began ("Culprit Ingress
# object applied", "deleted all worker nodes"): a fix only in an entry after the incident was
# noticed, and never in one that names a cause or is itself the noticing ("X fires; deploy
# freeze applied"). Measured on the labelled DFDS postmortems: fixed-by agreement 0.68 -> 0.76.
_ACTED = re.compile(
    r"\b(?:deleted|excluded|applied|rebuilt|replaced|terminated|killed|cancell?ed|rerouted|"
    r"redeployed|rotated|renewed)\b",
    re.I,
)
_NOTICED = re.compile(
    r"\b(?:fires?|fired|alerts?|alerted|paged?|declared|raised|reported|noticed|discovered|"
    r"detected|investigat\w*|escalated|sev ?\d)\b",
    re.I,
)
_CAUSE_WORDS = re.compile(
    r"\b(?:accidental\w*|unintentional\w*|culprit|malformed|mistaken\w*|erroneous\w*|"
    r"expire[sd]?|caus\w*|resulting|due to|discovered that|found (?:out )?that|found out)\b",
    re.I,
)
_TIMELINE = re.compile(r"timeline", re.I)
_SUMMARY = re.compile(r"summary|overview|what happened|description|incident", re.I)
_ROOT_CAUSE = re.compile(r"root cause|\bcauses?\b|why it happened", re.I)
_CONTRIBUTING = re.compile(r"contribut", re.I)
_ACTIONS = re.compile(r"action items?|follow[- ]?ups?|remediation items|corrective actions?", re.I)
_LESSONS = re.compile(r"lessons?", re.I)
_DATE = re.compile(r"(?<!\d)(20\d\d)-(\d\d)-(\d\d)(?!\d)")
_POSTMORTEM_YEAR = re.compile(r"\bPM(20\d\d)-\d{3}\b")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}")
_LIST_ITEM = re.compile(r"^\s*" + LIST_MARKER + r"(.*)$")
NOT_STATED = "not stated in the postmortem"


def sentences(text: str, n: int = 2, limit: int = 400) -> str:
    """The first `n` sentences of `text` on one line, cut at a word near `limit` characters."""
    flat = " ".join(text.split())
    parts = re.split(r"(?<=[.!?])\s+", flat)
    out = " ".join(parts[:n])
    return out if len(out) <= limit else out[:limit].rsplit(" ", 1)[0] + " …"


# A sentence that says how the incident ended, not one that merely mentions recovery.
_RESOLVED = re.compile(
    r"\b(?:restored|resolved|fixed|mitigated|recovered|ended|stopped) (?:service|the (?:incident|"
    r"outage|issue|problem|impact))\b|\b(?:service|it|the incident|the outage|the issue|the "
    r"problem|impact|checkout|orders?|traffic|search|logins?) (?:was |were |had )?(?:fully )?"
    r"(?:restored|resolved|fixed|mitigated|recovered)\b|\b(?:resolved|fixed|mitigated|recovered|"
    r"restored) (?:by|after|once|when|with)\b|\brestor\w* (?:service|normal)",
    re.I,
)
_NOT_A_FIX = re.compile(
    r"\b(?:did not|didn't|could not|couldn't|failed to|was slowed|slowed|not work|without)\b", re.I
)


def _whole_sentences(text: str, n: int = 2, limit: int = 500) -> str:
    """Up to `n` whole sentences of `text` on one line; a sentence is never cut (one longer
    than `limit` is kept whole on its own)."""
    flat = " ".join(text.split())
    out: list[str] = []
    for sentence in split_sentences(flat):
        if out and (len(out) >= n or len(" ".join([*out, sentence])) > limit):
            break
        out.append(sentence)
    return " ".join(out)


def _summary_passage(passages: list[Passage]) -> Passage | None:
    return next((p for p in passages if _SUMMARY.search(p.chunk.section)), None)


def happened_excerpt(passages: list[Passage]) -> Excerpt | None:
    """Two whole sentences of the summary section (or of the first section), with its lines."""
    if not passages:
        return None
    passage = _summary_passage(passages) or passages[0]
    text = _whole_sentences(passage.text)
    return _excerpt(passage, text) if text else None


def fixed_excerpt(passages: list[Passage]) -> Excerpt | None:
    """What fixed it, as whole sentences with their lines: the resolution or mitigation
    section; else the summary's sentences that name a fix; else the timeline entries that do.
    None when the postmortem does not say."""
    fixed_passage = next(
        (p for p in passages if _FIXED.search(p.chunk.section) and p.text.strip()), None
    )
    if fixed_passage is not None:
        listed = items(fixed_passage.text)
        text = "; ".join(listed[:3]) if listed else _whole_sentences(fixed_passage.text)
        if text:
            return _excerpt(fixed_passage, text)
    summary = _summary_passage(passages)
    if summary is not None:
        flat = " ".join(summary.text.split())
        said = [
            x for x in split_sentences(flat) if _RESOLVED.search(x) and not _NOT_A_FIX.search(x)
        ]
        if said:
            return _excerpt(summary, " ".join(said[-2:]))
    for passage in passages:
        if not _TIMELINE.search(passage.chunk.section):
            continue
        entries = _fix_entries(list(dict.fromkeys(items(passage.text))))
        if entries:
            return _excerpt(passage, " ".join(_timeline_sentence(e) for e in entries[:3]))
    return None


def _fix_entries(entries: list[str]) -> list[str]:
    """The timeline entries that say what was done to fix it, in order."""
    out: list[str] = []
    noticed = False
    for entry in entries:
        noticing = bool(_NOTICED.search(entry))
        acted = noticed and not noticing and _ACTED.search(entry) and not _CAUSE_WORDS.search(entry)
        if not _NOT_A_FIX.search(entry) and (_FIX_LINE.search(entry) or acted):
            out.append(entry)
        noticed = noticed or noticing
    return out


# A timeline entry's stamp: `2026-09-30 10:34`, 2026-09-30T10:34Z, **10:34**, 10:34 UTC.
_STAMP = re.compile(
    r"^[`*]*(?:(?:20\d\d-\d\d-\d\d)[ T])?(?P<time>\d{1,2}:\d\d)(?::\d\d)?Z?"
    r"(?: ?(?:UTC|GMT))?[`*]*\s*(?:[-—:|]\s*)?"
)


def _timeline_sentence(entry: str) -> str:
    """A timeline entry as a sentence a person reads: "10:34: Argo CD auto-sync paused ...".
    The date is the incident's; the time says when in it."""
    entry = entry.replace(" | ", " — ").strip().rstrip(".")
    match = _STAMP.match(entry)
    if match and entry[match.end() :].strip():
        rest = entry[match.end() :].strip()
        return f"{match.group('time')}: {rest[0].upper()}{rest[1:]}."
    return f"{entry}."


def what_happened(passages: list[Passage]) -> str:
    """Two sentences of the summary section (or of the first section)."""
    excerpt = happened_excerpt(passages)
    return excerpt.text if excerpt else ""


def what_fixed_it(passages: list[Passage]) -> str:
    """What fixed it as whole sentences, or NOT_STATED."""
    excerpt = fixed_excerpt(passages)
    return excerpt.text if excerpt else NOT_STATED


_FIX_MORE = re.compile(
    r"\b(?:roll(?:ed|ing)?[ -]?back|rollback|revert\w*|restor\w*|resolv\w*|recover\w*|fix\w*|"
    r"mitigat\w*|terminat\w*|capped|replac\w*|delet\w*|remov\w*|upgrad\w*|downgrad\w*|"
    r"re-?ran|re-?run|re-?attach\w*|attach\w*|uncordon\w*|drain\w*|restart\w*|rotat\w*|"
    r"renew\w*|regenerat\w*|scaled|increas\w*|disabl\w*|flush\w*|patch\w*|switch\w*|paus\w*)\b",
    re.I,
)


def fixed_detail(passages: list[Passage]) -> str:
    """What fixed it, read harder than `what_fixed_it` (for the postmortem draft).

    After the resolution section, the summary's last sentence that names a fix, then the last
    timeline lines that do.
    """
    first = what_fixed_it(passages)
    if first != NOT_STATED:
        return first
    summary = next((p for p in passages if _SUMMARY.search(p.chunk.section)), None)
    if summary is not None:
        said = [
            x
            for x in re.split(r"(?<=[.!?])\s+", " ".join(summary.text.split()))
            if _FIX_MORE.search(x)
        ]
        if said:
            return sentences(said[-1], n=1, limit=400)
    lines = [
        " ".join(line.strip(" |-*").split())
        for p in passages
        if _TIMELINE.search(p.chunk.section)
        for line in p.text.split("\n")
        if _FIX_MORE.search(line)
    ]
    lines = [x.replace(" | ", " — ") for x in dict.fromkeys(lines)]
    return "; ".join(lines[-3:]) or NOT_STATED


@dataclass(frozen=True)
class Excerpt:
    """Text quoted from one section of a past postmortem, and where it is."""

    text: str
    section: str
    lines: tuple[int, int]


@dataclass
class PastIncident:
    source: str
    title: str
    passages: list[Passage]
    services: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    severity: str = ""
    day: date | None = None
    year: int | None = None
    suspected: bool = False
    redactions: int = 0
    happened: Excerpt | None = None
    fixed: str = NOT_STATED
    root_cause: Excerpt | None = None
    contributing: list[Excerpt] = field(default_factory=list)
    action_items: list[Excerpt] = field(default_factory=list)


def items(text: str) -> list[str]:
    """List items and table rows of a section, one line each (headers and rules skipped)."""
    out: list[str] = []
    table_header_seen = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("|"):
            if _TABLE_RULE.match(line):
                table_header_seen = True
                continue
            if not table_header_seen:
                continue  # the header row
            cells = [c.strip() for c in line.strip("|").split("|")]
            cells = [c for c in cells if c]
            if cells:
                out.append(" — ".join(cells))
            continue
        table_header_seen = False
        match = _LIST_ITEM.match(raw)
        if match:
            body = match.group(1).strip()
            # A nested item belongs to the one above it.
            if raw[: len(raw) - len(raw.lstrip())] and out:
                out[-1] = f"{out[-1]}; {body}"
            else:
                out.append(body)
        elif out and raw.startswith((" ", "\t")):
            out[-1] = f"{out[-1]} {line}"
    return [" ".join(i.split()) for i in out if i.strip(" -")]


def _excerpt(passage: Passage, text: str) -> Excerpt:
    return Excerpt(
        text=text,
        section=passage.chunk.section,
        lines=(passage.chunk.line_start, passage.chunk.line_end),
    )


def date_of(title: str, source: str) -> tuple[date | None, int | None]:
    """The date (and year) of a postmortem from its title or file name: 2026-02-03, PM2021-005."""
    for text in (title, source):
        match = _DATE.search(text)
        if match:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            return day, day.year
    for text in (title, source):
        named = _POSTMORTEM_YEAR.search(text)
        if named:
            return None, int(named.group(1))
    return None, None


def read(kb: KnowledgeBase, source: str, *, max_items: int = 5) -> PastIncident | None:
    """A past postmortem's sections, screened, with the parts a new postmortem refers to."""
    chunks = kb.document_chunks(source)
    if not chunks:
        return None
    passages = document_passages(chunks, score=0.0)
    first = chunks[0]
    day, year = date_of(first.title, source)
    past = PastIncident(
        source=source,
        title=first.title,
        passages=passages,
        services=first.services,
        tags=first.tags,
        severity=first.severity,
        day=day,
        year=year,
        suspected=any(p.suspected for p in passages),
        redactions=sum(p.redactions for p in passages),
    )
    summary = next((p for p in passages if _SUMMARY.search(p.chunk.section)), passages[0])
    if summary.text.strip():
        past.happened = _excerpt(summary, sentences(summary.text))
    past.fixed = fixed_detail(passages)
    cause = next(
        (
            p
            for p in passages
            if _ROOT_CAUSE.search(p.chunk.section) and not _CONTRIBUTING.search(p.chunk.section)
        ),
        None,
    )
    if cause is not None and cause.text.strip():
        past.root_cause = _excerpt(cause, sentences(cause.text, n=3, limit=500))
    for passage in passages:
        section = passage.chunk.section
        if _CONTRIBUTING.search(section):
            past.contributing += [_excerpt(passage, i) for i in items(passage.text)]
        elif _ACTIONS.search(section) and not _LESSONS.search(section):
            past.action_items += [_excerpt(passage, i) for i in items(passage.text)]
    past.contributing = _dedupe(past.contributing)[:max_items]
    past.action_items = _dedupe(past.action_items)[:max_items]
    return past


def _dedupe(excerpts: list[Excerpt]) -> list[Excerpt]:
    # Overlapping chunk windows repeat items; keep the first sighting of each.
    seen: set[str] = set()
    out = []
    for e in excerpts:
        key = e.text.casefold()
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
