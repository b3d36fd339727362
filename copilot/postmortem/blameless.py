"""Find phrasing that blames a person, and suggest a neutral rewrite.

A blameless postmortem asks what in the system let a reasonable action go wrong, not who erred.
The rules are deliberately narrow: a flag names the phrase, why it reads as blame, and a rewrite
that keeps the facts and drops the judgement. The team decides; the record itself is never
rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Words for a person or a role, and pronouns: "the on-call engineer forgot ...".
_PERSON = (
    r"(?:(?:the|an?|our|their|one)\s+)?(?:on-?call(?:\s+(?:engineer|sre|developer))?|engineer|"
    r"developer|dev|sre|admin(?:istrator)?|operator|intern|contractor|new\s+hire|team\s+member|"
    r"teammate|colleague|responder|reviewer|release\s+manager|dba)|\bhe\b|\bshe\b|someone|somebody"
)
# A capitalised word at the start of a clause is taken for a name only before verbs that only
# people do ("Bob forgot"); "Redis caused" or "Monitoring missed" must not read as blame.
_CAPITALISED = (
    r"(?-i:(?<![\w.])(?!The\b|This\b|That\b|It\b|We\b|Our\b|They\b|A\b|An\b|One\b)[A-Z][a-z]{1,20})"
)
_PERSON_ONLY_VERBS = (
    r"forgot|neglected|messed\s+up|screwed\s+up|botched|didn'?t\s+bother|did\s+not\s+bother|"
    r"was\s+careless|was\s+negligent|was\s+sloppy"
)
_VERBS = (
    _PERSON_ONLY_VERBS + r"|failed|ignored|overlooked|missed|broke|caused|should\s+have|"
    r"shouldn'?t\s+have|should\s+not\s+have"
)
_CLAUSE_END = re.compile(r"[.;!?\n]|,\s+(?:and|but|so|which|because|while)\b|\s+because\b")
_BY_HOW = re.compile(r"^(?P<what>.+?)\s+(?:by|with)\s+(?P<how>.+)$", re.I)

_FIXED: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"\bhuman errors?\b", re.I),
        "treats a person as the cause",
        "a gap in tooling or process",
    ),
    (
        re.compile(r"\b(?:his|her|their|[A-Z][a-z]+'s)\s+fault\b|\bfault of\s+\w+", re.I),
        "assigns fault",
        "a contributing factor",
    ),
    (re.compile(r"\bto blame\b", re.I), "assigns blame", "a contributing factor"),
    (re.compile(r"\bblamed?\s+(?:on|for)\b", re.I), "assigns blame", "attributed to"),
    (
        re.compile(r"\bshould have known\b", re.I),
        "hindsight judgement of a person",
        "the information was not at hand at the time",
    ),
    (
        re.compile(r"\b(?:rookie|beginner'?s?|stupid|dumb|silly|careless)\s+mistakes?\b", re.I),
        "judges a person",
        "a step the process let go wrong",
    ),
    (re.compile(r"\bpebkac\b|\buser error\b", re.I), "blames the user", "a usability gap"),
]
_JUDGEMENT = re.compile(
    r"\b(carelessly|careless|carelessness|sloppily|sloppy|negligently|negligent|negligence|"
    r"incompetent|incompetence|lazy|stupid|dumb|recklessly|reckless|clumsily|clumsy|obviously)\b",
    re.I,
)


@dataclass(frozen=True)
class Flag:
    """One phrase that reads as blame, in one piece of text (`where` says which)."""

    where: str
    phrase: str
    reason: str
    rewrite: str


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _clause_after(text: str, end: int) -> str:
    tail = text[end:]
    cut = _CLAUSE_END.search(tail)
    return (tail[: cut.start()] if cut else tail).strip()


def _rewrite(verb: str, rest: str) -> tuple[str, str]:
    """(reason, neutral rewrite) for "<person> <verb> <rest>"."""
    verb = " ".join(verb.lower().split())
    if verb.startswith("should") or verb.startswith("shouldn"):
        negative = "not" in verb or "n't" in verb
        what = rest or "acted differently"
        question = f"What would have made it easier {'not ' if negative else ''}to have {what}?"
        return "hindsight judgement of a person", question
    if verb in ("forgot", "neglected", "failed", "didn't bother", "didnt bother", "did not bother"):
        what = re.sub(r"^to\s+", "", rest) or "take this step"
        return (
            "frames a missed step as a person's failing",
            f"Nothing in the process prompted anyone to {what}",
        )
    if verb in ("missed", "overlooked", "ignored"):
        what = rest or "the signal"
        outcome = "was not acted on" if verb == "ignored" else "went unnoticed"
        return "frames a missed signal as a person's failing", f"{_cap(what)} {outcome}"
    if verb in ("broke", "caused"):
        how = _BY_HOW.match(rest)
        if how:
            return (
                "names a person as the cause",
                f"{_cap(how.group('how'))} {verb} {how.group('what')}",
            )
        return "names a person as the cause", f"A change {verb} {rest or 'the failure'}".strip()
    if verb in ("messed up", "screwed up", "botched"):
        return "judges a person's work", f"{_cap(rest or 'the work')} did not go as planned"
    return "judges a person", "Describe what happened and what made it easy to happen"


def check(text: str, *, where: str = "", names: Iterable[str] = ()) -> list[Flag]:
    """Every blaming phrase in `text`, each with a neutral rewrite.

    `names` are the people the record names (roles, authors): a sentence with one of them as the
    subject of a blaming verb is flagged whatever the verb.
    """
    if not text.strip():
        return []
    found: list[tuple[int, int, str, str, str]] = []

    def add(start: int, end: int, reason: str, rewrite: str) -> None:
        if any(start < b and end > a for a, b, *_ in found):
            return
        found.append((start, end, text[start:end], reason, rewrite))

    people = sorted(
        {n.strip() for n in names if len(n.strip()) >= 2 and n.strip().lower() != "copilot"},
        key=len,
        reverse=True,
    )
    subjects = [_PERSON] + [re.escape(p) for p in people]
    patterns = [
        re.compile(rf"(?<![\w-])(?:{'|'.join(subjects)})\s+(?P<verb>{_VERBS})\b", re.I),
        re.compile(rf"{_CAPITALISED}\s+(?P<verb>{_PERSON_ONLY_VERBS})\b", re.I),
    ]
    for pattern in patterns:
        for m in pattern.finditer(text):
            rest = _clause_after(text, m.end())
            reason, rewrite = _rewrite(m.group("verb"), rest)
            end = m.end() + (len(text[m.end() :]) - len(text[m.end() :].lstrip())) + len(rest)
            add(m.start(), end if rest else m.end(), reason, rewrite)
    for pattern, reason, rewrite in _FIXED:
        for m in pattern.finditer(text):
            add(m.start(), m.end(), reason, rewrite)
    for m in _JUDGEMENT.finditer(text):
        word = m.group(1)
        reason = (
            "hindsight: it was not obvious at the time"
            if word.lower() == "obviously"
            else "judges a person rather than describing what happened"
        )
        add(m.start(), m.end(), reason, f"(leave out '{word}')")
    found.sort()
    return [Flag(where=where, phrase=p, reason=r, rewrite=w) for _, _, p, r, w in found]


def neutral(text: str, *, names: Iterable[str] = ()) -> tuple[str, list[Flag]]:
    """`text` with each flagged phrase replaced by its rewrite (questions are left as flags)."""
    flags = check(text, names=names)
    out = text
    for flag in flags:
        if flag.rewrite.startswith("(leave out "):
            at_start = re.match(rf"\s*{re.escape(flag.phrase)}\b\s*", out)
            if at_start:
                out = _cap(out[at_start.end() :])
            else:
                out = re.sub(rf"\s*\b{re.escape(flag.phrase)}\b", "", out, count=1)
        elif not flag.rewrite.endswith("?"):
            out = out.replace(flag.phrase, flag.rewrite, 1)
    return out, flags
