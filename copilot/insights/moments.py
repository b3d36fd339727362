"""Which rows of a postmortem's timeline start the impact, detect it, end it and resolve it.

The importer (`history.py`) dates an imported incident by these rows, and gives each row its kind
on the timeline (alert, mitigation, action, note). A row that says in so many words where the
impact starts or ends wins; keyword rules read the rest. What a row quotes in backticks (a log
line, a command) is not what happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from copilot.postmortem.parse import ParsedEvent

# The importer's rules: which row starts the impact, which detects it, which ends it.
_DETECT = re.compile(
    r"\b(?:detect\w*|alert\w*|alarm\w*|report\w*|notif\w*|noticed|discover\w*|aware|"
    r"(?<!a )(?<!the )paged|paging|pages? (?:the )?(?:[\w-]+ )?(?:on-?call|team)|"
    r"fire|fires|fired|firing|"
    r"complain\w*|informed|reach(?:ed|ing) out|investigat\w*|witness\w*|observ\w*)\b",
    re.I,
)
_RECOVER = re.compile(
    r"\b(?:resolved|solved|restored|recovered|recovery|back to normal|operational|fixed|mitigated|"
    r"working (?:again|as (?:intended|expected))|verified working|all healthy|is fine|"
    r"started shipping|back (?:up|online))\b",
    re.I,
)
_IMPACT = re.compile(
    r"\b(?:returning|down|outage|fail\w*|errors?|[45]\d\d|unavailable|notready|not ready|"
    r"crash\w*|stopped|stops|expire\w*|broke\w*|unable|time(?:d)? ?outs?|no nodes|killed|"
    r"starvation|pending|missing)\b",
    re.I,
)
_ACTION = re.compile(
    r"\b(?:applied|rolled|roll(?:ed)? ?back|rollback|deployed|reverted|restarted|scaled|deleted|"
    r"removed|replaced|upgraded|downgraded|re-?ran|re-?run|triggered|terminated|drained|"
    r"cordoned|uncordoned|created|added|attached|reattached|migrated|pushed|committed|set|"
    r"disabled|enabled|generated|marked)\b",
    re.I,
)
_DECLARED = re.compile(
    r"\b(?:incident declared|declared (?:as )?(?:an? )?(?:incident|sev|p)\w*|"
    r"(?:sev|p) ?\d declared)",
    re.I,
)
# A row that says in so many words where the impact starts or ends ("Impact starts.", "**Impact
# ends.** Lag below 200"): what the writer decided, ahead of any keyword rule. The end of the
# impact is when it was mitigated; the incident is resolved by a later row that says so.
_IMPACT_STARTS = re.compile(r"\b(?:customer )?impact (?:starts|started|begins|began)\b", re.I)
_IMPACT_ENDS = re.compile(r"\b(?:customer )?impact (?:ends|ended|stops|stopped|is over)\b", re.I)
_RESOLVED = re.compile(
    r"\b(?:incident|issue) (?:(?:was|is|declared|marked) )*(?:resolved|closed)\b", re.I
)
# What a row quotes (a log line, a command, a name in backticks) is not what happened: "log
# `plugin/loop: Loop detected`" is not the detection. Nor is an alert the row says was missing.
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_NO_SIGNAL = re.compile(r"\b(?:no|without|never|not)\s+(?:an?\s+)?(?:alert|alarm|page)\w*", re.I)


def declares(text: str) -> bool:
    """Whether a row says the incident was declared ("Incident declared as SEV2", "SEV1
    declared")."""
    return _DECLARED.search(text) is not None


def _said(event: ParsedEvent) -> str:
    """A row's own words: without what it quotes in backticks or an alert it says was missing."""
    return _NO_SIGNAL.sub(" ", _CODE_SPAN.sub(" ", event.text))


@dataclass(frozen=True)
class Moments:
    """Indexes into a timeline's rows: impact start, detection, the end of the impact
    (mitigation) and resolution; None where no row says it."""

    start: int
    detect: int | None
    mitigate: int | None
    resolve: int | None


def moments(events: list[ParsedEvent], times: list[datetime | None]) -> Moments:
    """Impact start, detection, mitigation and resolution, by the importer's rules.

    A row that says where the impact starts or ends wins. Detection is then the first row at or
    after the start that reads as one (an alert that fired before the impact, to a ticket queue,
    did not detect it). Without those rows: the first row reading as detection, the first sign of
    impact up to it as the start, and the first recovery row after it as both mitigation and
    resolution."""
    order = sorted((i for i, t in enumerate(times) if t is not None), key=lambda i: (times[i], i))
    said = {i: _said(events[i]) for i in order}
    stated_start = next((i for i in order if _IMPACT_STARTS.search(said[i])), None)
    if stated_start is not None:
        after_start = order[order.index(stated_start) :]
        detect = next((i for i in after_start if _DETECT.search(said[i])), None)
        start = stated_start
    else:
        detect = next((i for i in order if _DETECT.search(said[i])), None)
        if detect is None:  # nobody wrote "detected": the first sign of impact is when it was seen
            detect = next((i for i in order if _IMPACT.search(said[i])), None)
        before = order[: order.index(detect) + 1] if detect is not None else order
        start = next((i for i in before if _IMPACT.search(said[i])), order[0])
        if detect is not None and order.index(start) > order.index(detect):
            start = detect
    after = order[order.index(detect if detect is not None else start) :]
    ended = next((i for i in after if _IMPACT_ENDS.search(said[i])), None)
    if ended is not None:
        later = order[order.index(ended) :]
        resolved = next((i for i in later if _RESOLVED.search(said[i])), ended)
        return Moments(start, detect, ended, resolved)
    recover = next((i for i in after if _RECOVER.search(said[i])), None)
    return Moments(start, detect, recover, recover)


def kind_of(event: ParsedEvent, role: str | None) -> str:
    if role == "detect":
        return "alert"
    if role == "recover":
        return "mitigation"
    return "action" if _ACTION.search(event.text) else "note"
