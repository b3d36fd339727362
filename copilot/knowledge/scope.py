"""How much of something a question says is affected: all of it, or a part.

Alert runbooks come in families split on exactly this: "Alertmanager Failed To Send Alerts" (one
instance) and "Alertmanager Cluster Failed To Send Alerts" (every one), "Low Ready Virt Handler
Count" and "No Ready Virt Handler", "Ceph Mon Quorum At Risk" and "Ceph Mon Quorum Lost", "High
Overall Control Plane Memory" and "Extremely High Individual Control Plane Memory". A responder
says which in words the retriever drops as stop words ("every replica", "not a single one is
ready", "only a couple still up", "not all of them"), so the near-twin check (`twins.py`) reads
them here: the question's scope, and the scope a title's words name.
"""

from __future__ import annotations

import re

from copilot.knowledge.terms import split_camel

ALL = "all"
PART = "part"

# Said of a part, read first: "not all" and "not every" are a part, "a single node" is one.
_ASKED_PART = re.compile(
    r"\b(?:not (?:all|every|fully|completely|entirely|totally)|only (?:one|a couple|a few|some)|"
    r"just (?:one|a couple|a few)|one of|a couple|a few|some|(?<!not )a single|"
    r"(?:getting |coming )?close to|nearly|almost|approaching|partial(?:ly)?|"
    r"individual|one (?:node|host|box|machine|pod|replica|instance|member|disk|osd|master|"
    r"worker|shard|broker))\b",
    re.IGNORECASE,
)
_ASKED_ALL = re.compile(
    r"\b(?:(?:every(?:thing)?|all|entire(?:ly)?|whole|completely|fully|totally|not a single|"
    r"none|nothing|at all|anywhere|any node|zero|100 percent)\b|100 ?%)",
    re.IGNORECASE,
)
# Words of an alert's title that name its scope (CamelCase split, lower case).
_TITLE_ALL = frozenset({"cluster", "no", "down", "lost", "exhausted", "exhaused", "overall", "100"})
_TITLE_PART = frozenset({"low", "near", "risk", "individual", "partial", "some", "85", "95"})


def asked_scope(question: str) -> str | None:
    """ALL, PART, or None when the question says neither (or both)."""
    part = _ASKED_PART.search(question) is not None
    rest = _ASKED_PART.sub(" ", question)
    whole = _ASKED_ALL.search(rest) is not None
    if part == whole:
        return None
    return PART if part else ALL


def title_scope(title: str) -> frozenset[str]:
    """The scopes a title's words name (both, for a title that names both)."""
    words = set(re.findall(r"[a-z]+|[0-9]+", split_camel(title).lower()))
    named = set()
    if words & _TITLE_ALL:
        named.add(ALL)
    if words & _TITLE_PART:
        named.add(PART)
    return frozenset(named)


# Which side of a limit: "at" it, "below" it, or "above" it. Alert families split on this too:
# "Pod Disruption Budget At Limit" (healthy pods equal to the desired count) and "Pod Disruption
# Budget Limit" (fewer than desired). The question says it in words ("exactly at its minimum",
# "zero headroom", "fewer healthy pods than it wants"); a runbook's meaning says it in its own
# ("is equal to", "is below the minimum", "less than").
AT = "at"
BELOW = "below"
ABOVE = "above"
_LIMIT = r"(?:minimum|min|limit|maximum|max|threshold|budget|cap|ceiling|floor|capacity)"
_BOUNDS = {
    AT: re.compile(
        r"\b(?:exactly|equal(?:s|led)? to|is equal|"
        r"(?:right |sitting |stuck )?at (?:its |the |their )?"
        + _LIMIT
        + r"|zero (?:spare|headroom|room|slack|margin|disruptions?|evictions?)|"
        r"no (?:spare|headroom|room|slack|margin)|maxed out)\b",
        re.IGNORECASE,
    ),
    BELOW: re.compile(
        r"\b(?:fewer|less than|lower than|below|under (?:the|its|their)|short of|running short|"
        r"not enough|insufficient|not satisfied|unsatisfied|too few)\b",
        re.IGNORECASE,
    ),
    ABOVE: re.compile(
        r"\b(?:more than|greater than|higher than|above|exceed(?:s|ed|ing)?|over (?:the|its|their)|"
        r"too many|beyond)\b",
        re.IGNORECASE,
    ),
}


def bounds(text: str) -> frozenset[str]:
    """The sides of a limit `text` names (AT, BELOW, ABOVE); more than one for text naming
    several."""
    return frozenset(side for side, said in _BOUNDS.items() if said.search(text))


def asked_bound(question: str) -> str | None:
    """The one side of a limit the question names, or None (none, or several)."""
    named = bounds(question)
    return next(iter(named)) if len(named) == 1 else None
