"""What a section of a runbook or postmortem is for, and which ones a question wants to read.

A responder reads the first section shown. A symptom wants the meaning, the diagnosis or the
mitigation; "how do I fix" wants the mitigation; a history question wants the summary, the root
cause and what resolved it. Link lists, verification checklists and "what went well" are useful
only when asked for: they never lead otherwise.
"""

from __future__ import annotations

import re
from typing import Literal

Role = Literal[
    "overview", "diagnose", "mitigate", "verify", "escalate", "history", "resolution",
    "lessons", "boilerplate", "other",
]  # fmt: skip
Intent = Literal["symptom", "fix", "history", "verify", "reference", "explain"]

# A section called "Runbook" in a runbook is its procedure ("Checkout runbook" is a title, not a
# section). Read by the roles here and by the phases of `passages`.
PROCEDURE_HEADING = r"^\s*(?:runbook|playbook)\s*$"

# Checked in order on the deepest heading first, so "Mitigation > Verification" is a check list.
_ROLES: list[tuple[Role, re.Pattern[str]]] = [
    (
        "boilerplate",
        re.compile(
            r"\brelated\b|\bsee also\b|\breferences?\b|\bfurther reading\b|\blinks?\b|"
            r"\bwent well\b|\bgot lucky\b|\blucky\b|\backnowledg|\bappendix\b|\bglossary\b|"
            r"\bchange ?log\b|\brevision|\bhistory of this (?:page|document)\b|\bmetadata\b",
            re.I,
        ),
    ),
    (
        "verify",
        re.compile(r"\bverif|\bvalidat|\bconfirm\w* (?:recovery|the fix)|\bpost-?mitigation", re.I),
    ),
    ("escalate", re.compile(r"\bescalat|\bwho to (?:call|page)|\bcontacts?\b|\bon-?call\b", re.I)),
    (
        "resolution",
        re.compile(r"\bresol|\brecovery\b|\bremediat|\bhow (?:it|we) (?:was )?fix", re.I),
    ),
    (
        "mitigate",
        re.compile(
            r"\bmitigat|\bfix|\bworkaround|\brollback|\broll back|\brestor|\bprocedure|"
            r"\bsteps\b|\bactions?\b(?! items)|\bresponse\b|\bhow to\b|\bcase \d|\bfailover\b|"
            rf"\bfail over\b|\brecover|{PROCEDURE_HEADING}",
            re.I,
        ),
    ),
    (
        "diagnose",
        re.compile(
            r"\bdiagnos|\binvestigat|\btriage|\btroubleshoot|\bcheck|\bdebug|\bidentif|"
            r"\bsymptom|\bcauses?\b(?! analysis)",
            re.I,
        ),
    ),
    (
        "history",
        re.compile(
            r"\bsummary\b|\broot cause|\bwhat happened|\btimeline\b|\bcontributing\b|"
            r"\bwhat went wrong\b|\bincident\b|\btrigger\b|\bdetection\b|\bcause analysis",
            re.I,
        ),
    ),
    (
        "lessons",
        re.compile(r"\blessons?\b|\baction items?\b|\bfollow-?ups?\b|\bnext steps\b", re.I),
    ),
    (
        "overview",
        re.compile(
            r"\bmeaning\b|\boverview\b|\bimpact\b|\bdescription\b|\babout\b|\bcontext\b", re.I
        ),
    ),
]


def heading_role(heading: str) -> Role:
    for role, pattern in _ROLES:
        if pattern.search(heading):
            return role
    return "other"


def section_role(section: str) -> Role:
    """The role of a section from its heading path ("A > B > C"), deepest heading first."""
    headings = [h for h in section.split(" > ") if h.strip()]
    for heading in reversed(headings):
        role = heading_role(heading)
        if role != "other":
            return role
    return "other"


_FIX = re.compile(
    r"\b(?:fix|fixe[sd]|mitigat\w*|resolve|recover\w*|workaround|roll ?back|revert|restore|"
    r"get (?:it|them|things) back|bring (?:it|them) back|stop (?:the|it)|unblock|"
    r"how (?:do|can|should) (?:i|we) (?:fix|stop|get|make|restore|recover|clear|free|unstick|"
    r"drain|bring)|what (?:do|can|should) (?:i|we) do)\b",
    re.I,
)
_VERIFY = re.compile(
    r"\b(?:verif\w*|is it (?:fixed|back|recovered|healthy)|confirm (?:the fix|recovery)|"
    r"how do (?:i|we) know (?:it|we)|recovered\?|check (?:it|that it) (?:is|has) recovered)\b",
    re.I,
)
_REFERENCE = re.compile(r"\b(?:related|see also|references?|links?|dashboards?|docs for)\b", re.I)
# What an alert means or how bad it is: the one question its meaning and impact answer.
_EXPLAIN = re.compile(
    r"\b(?:what (?:does|do)\b.{0,60}\bmean|meaning of|what is (?:this|the) "
    r"alert|explain|impact of|how bad|how serious|is (?:it|this) (?:bad|serious|urgent)|"
    r"should (?:i|we) (?:worry|care|be worried))\b",
    re.I,
)
_ASKS_LUCK = re.compile(r"\b(?:went well|lucky|lessons?|action items?|follow-?ups?)\b", re.I)


def query_intent(query: str, *, history: bool) -> Intent:
    """What the question wants to read first."""
    if history:
        return "history"
    if _VERIFY.search(query):
        return "verify"
    if _FIX.search(query):
        return "fix"
    if _REFERENCE.search(query):
        return "reference"
    if _EXPLAIN.search(query):
        return "explain"
    return "symptom"


# A runbook's meaning and impact restate its alert, so they match a symptom best; but the
# responder who asked already has the symptom and reads on for what to check and do. For a
# symptom or a fix they weigh less than a lead needs (retrieval's WEAK_LEAD, 0.5): a runbook is
# shown by its diagnosis or mitigation, and by its meaning only when it has neither. Decided on
# the reader sets' even lines (useful@1: public 0.25 -> 0.60, sample 0.45 -> 0.90), see
# evals/README.md.
_RESTATES_SYMPTOM = 0.45
_WEIGHTS: dict[Intent, dict[Role, float]] = {
    "symptom": {
        "overview": _RESTATES_SYMPTOM,
        "diagnose": 1.0,
        "mitigate": 0.95,
        "resolution": 0.9,
    },
    "fix": {"mitigate": 1.0, "resolution": 1.0, "diagnose": 0.85, "overview": _RESTATES_SYMPTOM},
    "verify": {"verify": 1.0, "mitigate": 0.85, "diagnose": 0.8},
    "explain": {"overview": 1.0, "diagnose": 0.9, "mitigate": 0.85, "resolution": 0.85},
    "reference": {"boilerplate": 1.0, "overview": 0.8, "diagnose": 0.8, "mitigate": 0.8},
    "history": {
        "history": 1.0,
        "resolution": 1.0,
        "overview": 0.9,
        "mitigate": 0.85,
        "diagnose": 0.8,
        "lessons": 0.6,
    },
}
_DEFAULT_WEIGHT: dict[Role, float] = {
    "boilerplate": 0.2,
    "verify": 0.45,
    "lessons": 0.45,
    "escalate": 0.55,
    "history": 0.7,
    "other": 0.7,
}


def section_weight(role: Role, intent: Intent, query: str = "") -> float:
    """How much a section of this role is worth leading with, for this kind of question."""
    weight = _WEIGHTS[intent].get(role)
    if weight is not None:
        return weight
    if role in ("boilerplate", "lessons") and _ASKS_LUCK.search(query):
        return 0.9
    return _DEFAULT_WEIGHT.get(role, 0.75)


def is_boilerplate(section: str) -> bool:
    return section_role(section) == "boilerplate"
