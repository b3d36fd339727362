"""The incident's record as a postmortem draft reads it: its events redacted and cited, the
questions left for the team, and how times, durations, table cells and quotes are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from copilot.guardrails.redact import redact
from copilot.incidents import schemas as inc
from copilot.postmortem import blameless
from copilot.postmortem import schemas as s

TEAM = "**[team]**"
ACTION_KINDS = ("action", "mitigation", "decision")


def fmt_time(value: datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M")
    return f"{text}:{value.second:02d}" if value.second else text


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    total = round(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        out = f"{days}d {hours:02d}h"
    elif hours:
        out = f"{hours}h {minutes:02d}m"
    elif minutes or not secs:
        out = f"{minutes}m" if not secs else f"{minutes}m {secs:02d}s"
    else:
        out = f"{secs}s"
    return f"-{out}" if seconds < 0 else out


def fmt_offset(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return "0m" if abs(seconds) < 1 else ("+" if seconds > 0 else "") + fmt_duration(seconds)


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def one_line(text: str) -> str:
    """Text on one line that cannot open an HTML comment (ingest would drop the rest)."""
    return " ".join(text.split()).replace("<!--", "&lt;!--")


def cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return one_line(text).replace("|", "\\|")


def block(text: str) -> str:
    """Multi-line record text that cannot open a heading, a fence or a comment in the draft."""
    out = []
    for line in text.strip().split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("#", "```", "~~~", "---", "===")):
            line = line.replace(stripped[0], "\\" + stripped[0], 1)
        out.append(line.replace("<!--", "&lt;!--"))
    return "\n".join(out)


def quote(text: str, limit: int = 300) -> str:
    flat = one_line(text)
    if len(flat) > limit:
        flat = flat[:limit].rsplit(" ", 1)[0] + " …"
    return "“" + flat.replace("“", '"').replace("”", '"') + "”"


def is_audit(event: inc.Event) -> bool:
    """The copilot's own record of an answer or a draft (see copilot.security.audit)."""
    return isinstance(event.data, dict) and isinstance(event.data.get("audit"), dict)


def audit_action(event: inc.Event) -> str:
    audit = event.data.get("audit") if isinstance(event.data, dict) else None
    return str(audit.get("action", "")) if isinstance(audit, dict) else ""


@dataclass
class Inputs:
    """What the draft is made of; the service gathers it."""

    incident: inc.Incident
    events: list[inc.Event]
    metrics: inc.IncidentMetrics
    generated_at: datetime
    similar: list[s.SimilarPastIncident] = field(default_factory=list)
    recurring: list[s.Recurrence] = field(default_factory=list)
    runbook_updates: list[s.RunbookSuggestion] = field(default_factory=list)
    knowledge_note: str | None = None
    injection_suspected: list[str] = field(default_factory=list)
    passage_redactions: int = 0


class Record:
    """The incident's record as the draft reads it (redacted, blameless, cited), and the questions,
    flags and redactions met on the way. The sections are written by `Narrative` and `Lessons`."""

    def __init__(self, inputs: Inputs) -> None:
        self.x = inputs
        self.i = inputs.incident
        self.m = inputs.metrics
        self.redactions = inputs.passage_redactions
        self.questions: list[str] = []
        self.flags: list[s.LanguageFlag] = []
        self.missing: list[str] = []
        # Audit records of this very draft are not part of what happened.
        self.events = [e for e in inputs.events if audit_action(e) != "postmortem"]
        self.work = [e for e in self.events if not is_audit(e)]
        # What the responders recorded, as opposed to what the service writes on a change.
        self.recorded = [e for e in self.work if e.kind in inc.USER_EVENT_KINDS]
        self._text: dict[int, str] = {e.id: self.r(e.text) for e in self.events}
        self.by_id = {e.id: e for e in self.events}
        people = {self.i.roles.incident_commander, self.i.roles.escalation_lead}
        people |= {self.i.roles.scribe, self.i.roles.customer_liaison, *self.i.roles.responders}
        people |= {t.person for t in self.i.role_history} | {e.author for e in self.events}
        self.people = sorted(p for p in people if p)
        days = {e.at.date() for e in self.events} | {self.i.declared_at.date()}
        self.multi_day = len(days) > 1
        self.anchor, self.anchor_name = (
            (self.i.detected_at, "detection")
            if self.i.detected_at is not None
            else (self.i.declared_at, "declaration")
        )
        for e in self.events:
            for f in blameless.check(self._text[e.id], where=f"event #{e.id}", names=self.people):
                self.flags.append(
                    s.LanguageFlag(
                        where=f.where, phrase=f.phrase, reason=f.reason, rewrite=f.rewrite
                    )
                )

    # -- helpers ----------------------------------------------------------------------------

    def r(self, text: str) -> str:
        """Record text, redacted, unable to open an HTML comment (ingest drops what follows)."""
        done = redact(text)
        self.redactions += done.total
        return done.text.replace("<!--", "&lt;!--")

    def ask(self, question: str) -> str:
        self.questions.append(question)
        return f"{TEAM} {question}"

    def item(self, question: str) -> str:
        """A question for the team as a list item."""
        return "- " + self.ask(question)

    def neutral(self, text: str, where: str) -> str:
        rewritten, flags = blameless.neutral(text, names=self.people)
        for f in flags:
            flag = s.LanguageFlag(where=where, phrase=f.phrase, reason=f.reason, rewrite=f.rewrite)
            if flag not in self.flags:
                self.flags.append(flag)
        return rewritten

    def text(self, event: inc.Event) -> str:
        return self._text[event.id]

    def when(self, value: datetime) -> str:
        return fmt_time(value) if self.multi_day else value.strftime("%H:%M")

    def ref(self, event: inc.Event) -> str:
        return f"(event #{event.id}, {self.when(event.at)})"

    def offset(self, value: datetime) -> float:
        return (value - self.anchor).total_seconds()

    def effective(self, event: inc.Event) -> str:
        """An event's text, with the latest correction of it when there is one."""
        text = self.text(event)
        if event.corrected_by:
            last = self.by_id.get(event.corrected_by[-1])
            if last is not None:
                text = f"{text} — corrected by event #{last.id}: {self.text(last)}"
        return text
