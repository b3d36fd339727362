"""Compose the sections of a postmortem draft from the record, its metrics and what retrieval found.

Every statement says where it comes from: `(record: field)`, `(event #N, time)`, `(metrics)`, or
`(source: path:lines)` for a past postmortem or runbook. Whatever the record cannot answer is left
as a question for the team, marked **[team]**, never answered by the copilot. Record text is
redacted before it is used; narrative sections use the blameless rewrite of it, the timeline quotes
it as recorded and the language review lists what was rewritten.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from copilot.guardrails.redact import redact
from copilot.guardrails.screened import ours, screened
from copilot.incidents import schemas as inc
from copilot.postmortem import blameless
from copilot.postmortem import schemas as s

TEAM = "**[team]**"
MAX_PATTERNS = 3
STATUS_MOMENTS = {
    "mobilized": "Mobilized",
    "mitigating": "Mitigating",
    "monitoring": "Mitigated (monitoring)",
    "resolved": "Resolved",
    "closed": "Closed",
}
ACTION_KINDS = ("action", "mitigation", "decision")
_CAUSE = re.compile(
    r"\b(?:root cause|caused by|causes?|causing|because|due to|triggered by|culprit|the reason|"
    r"turned out|traced (?:it )?(?:back )?to|links? (?:it|this|the \w+(?: \w+)?) to|correlat\w*|"
    r"suspect\w*|looks like|likely)\b",
    re.I,
)
_ROOT_CAUSE = re.compile(r"\b(?:root cause|caused by|culprit)\b", re.I)
_FOLLOW_UP = re.compile(
    r"\b(?:follow[- ]?ups?|action items?|todo|to-do|ticket(?:ed)?|we should|we need to|need to|"
    r"needs to|must be|should be|next time|post-incident|afterwards)\b",
    re.I,
)
_LONG_TERM = re.compile(
    r"\b(?:long[- ]term|permanent(?:ly)?|architect\w*|redesign\w*|re-?architect\w*|migrat\w*|"
    r"replace\w*|rewrite)\b",
    re.I,
)
_SHORT_TERM = re.compile(
    r"\b(?:short[- ]term|quick fix|immediate(?:ly)?|hotfix|today|tomorrow)\b", re.I
)
_OWNER = re.compile(r"(?:\bowner:\s*|(?<![\w@])@)([A-Za-z][\w.-]{1,40})")
_DUE = re.compile(r"\b(?:by|due:?|before)\s+(\d{4}-\d{2}-\d{2})\b", re.I)
_NO_EFFECT = re.compile(
    r"\b(?:no effect|without effect|did(?: not|n't) (?:help|work|fix|change|resolve)|"
    r"no improvement|not effective|ineffective|made (?:it|things) worse|had no impact)\b",
    re.I,
)
_REPORTED = re.compile(
    r"\b(?:report(?:ed|s)?|customers?|users?|support|complain\w*|tweet\w*|noticed)\b", re.I
)
_DIGIT = re.compile(r"\d")


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


def _upper_first(text: str) -> str:
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


@dataclass
class Drafted:
    sections: dict[str, str]
    values: dict[str, str]
    timeline: list[s.TimelineEntry]
    action_items: list[s.ActionItem]
    five_whys: list[s.Why]
    flags: list[s.LanguageFlag]
    questions: list[str]
    missing: list[str]
    redactions: int
    title: str


class Drafter:
    """Builds every section; keeps the questions, flags and redactions it meets on the way."""

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

    # -- timeline ---------------------------------------------------------------------------

    def key_moments(self) -> dict[int, str]:
        labels: dict[int, list[str]] = {}

        def mark(event: inc.Event, label: str) -> None:
            labels.setdefault(event.id, []).append(label)

        first_alert = first_update = False
        monitoring_seen = any(
            e.kind == "status_change" and e.data.get("to") == "monitoring" for e in self.events
        )
        for e in self.events:
            if e.kind == "declared":
                mark(e, "Declared")
            elif e.kind == "status_change":
                target = str(e.data.get("to", ""))
                if e.data.get("reopen"):
                    mark(e, "Reopened")
                if target == "resolved" and not monitoring_seen:
                    mark(e, "Mitigated")
                if target in STATUS_MOMENTS:
                    mark(e, STATUS_MOMENTS[target])
            elif e.kind == "severity_change":
                mark(e, f"Severity {e.data.get('from', '?')} → {e.data.get('to', '?')}")
            elif e.kind == "role_change" and e.data.get("role") == "incident_commander":
                mark(e, "Incident commander")
            elif e.kind == "status_update" and not first_update:
                first_update = True
                mark(e, "First status update")
            elif e.kind == "alert" and not first_alert:
                first_alert = True
                mark(e, "First alert")
            elif e.kind == "mitigation":
                mark(e, "Mitigation")
            elif e.kind == "correction":
                mark(e, f"Corrects #{e.corrects}")
        return {k: "; ".join(v) for k, v in labels.items()}

    def timeline(self) -> tuple[str, list[s.TimelineEntry]]:
        moments = self.key_moments()
        rows: list[tuple[datetime, int, int, s.TimelineEntry]] = []
        for name, value, label in (
            ("started_at", self.i.started_at, "Impact started"),
            ("detected_at", self.i.detected_at, "Detected"),
        ):
            if value is not None:
                entry = s.TimelineEntry(
                    event_id=None,
                    at=value,
                    offset_s=self.offset(value),
                    kind="milestone",
                    text=f"{label} (record: {name})",
                    key_moment=label,
                )
                rows.append((value, 0, 0, entry))
        for e in self.events:
            kind = "copilot" if is_audit(e) else e.kind
            entry = s.TimelineEntry(
                event_id=e.id,
                at=e.at,
                offset_s=self.offset(e.at),
                kind=kind,
                text=self.text(e),
                author=e.author,
                key_moment=moments.get(e.id),
                corrects=e.corrects,
                corrected_by=e.corrected_by,
            )
            rows.append((e.at, 1, e.id, entry))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        entries = [r[3] for r in rows]
        lines = [
            f"All times UTC. Offsets are from {self.anchor_name} "
            f"({fmt_time(self.anchor)} UTC, record: "
            f"{'detected_at' if self.anchor_name == 'detection' else 'declared_at'}). "
            "Key moments are in bold.",
            "",
        ]
        if not self.recorded:
            self.missing.append("timeline events: nothing the responders recorded")
            lines += [
                "The timeline holds nothing the responders recorded: no alerts, actions, "
                "decisions or notes (record: timeline).",
                self.ask(
                    "Reconstruct the timeline from the incident channel, alerts and deploy logs "
                    "and add it to the incident (`copilot incident note ID TEXT --kind action "
                    "--at TIME`), then draft this postmortem again."
                ),
                "",
            ]
        lines += [
            "| Time (UTC) | From " + self.anchor_name + " | Event | Kind | Ref |",
            "|---|---|---|---|---|",
        ]
        for entry in entries:
            text = cell(entry.text)
            if entry.kind == "milestone" and entry.key_moment:
                text = f"**{cell(entry.key_moment)}**{text[len(entry.key_moment) :]}"
            elif entry.key_moment:
                text = f"**{cell(entry.key_moment)}** — {text}"
            if entry.corrected_by:
                text += f" (corrected by {', '.join(f'#{c}' for c in entry.corrected_by)})"
            if entry.author and entry.kind not in ("milestone",):
                text += f" — {cell(entry.author)}"
            ref = f"#{entry.event_id}" if entry.event_id is not None else "record"
            lines.append(
                f"| {fmt_time(entry.at)} | {fmt_offset(entry.offset_s)} | {text} | "
                f"{entry.kind} | {ref} |"
            )
        return "\n".join(lines), entries

    # -- summary and impact -----------------------------------------------------------------

    def summary(self) -> str:
        i = self.i
        title = self.neutral(self.r(i.title), "record: title")
        lines = [
            f"**{i.id} · {i.severity} ({i.severity_name}) · {i.status}.** {title} (record: title, "
            "severity, status)"
        ]
        if i.summary.strip():
            lines += [
                "",
                block(self.neutral(self.r(i.summary), "record: summary")) + " (record: summary)",
            ]
        else:
            self.missing.append("summary")
            lines += [
                "",
                self.ask(
                    "Summarise in two or three sentences what happened, who was affected and how "
                    "it was resolved. The record has no summary."
                ),
            ]
        if i.services:
            lines += ["", f"Services: {', '.join(i.services)} (record: services)."]
        if i.tags:
            lines += ["", f"Failure modes and causes tagged: {', '.join(i.tags)} (record: tags)."]
        stamps = [
            (label, value)
            for label, value in (
                ("impact began", i.started_at),
                ("detected", i.detected_at),
                ("declared", i.declared_at),
                ("mitigated", i.mitigated_at),
                ("resolved", i.resolved_at),
                ("closed", i.closed_at),
            )
            if value is not None
        ]
        lines += [
            "",
            _upper_first("; ".join(f"{label} {fmt_time(v)} UTC" for label, v in stamps))
            + " (record: timestamps).",
        ]
        if i.resolved_at is None:
            lines += ["", f"The incident is not resolved yet (record: status {i.status})."]
            self.missing.append("resolution: the incident is still open")
        return "\n".join(lines)

    def impact(self) -> str:
        i, w = self.i, self.m.impact
        lines: list[str] = []
        if i.customer_impact.strip():
            text = self.neutral(self.r(i.customer_impact), "record: customer_impact")
            lines.append(f"- Customer impact: {one_line(text)} (record: customer_impact)")
        else:
            self.missing.append("customer impact statement")
        if w.start is not None:
            end = (
                f"{fmt_time(w.end)} UTC"
                if w.end is not None
                else ("ongoing" if w.ongoing else "not recorded")
            )
            start_from = "started_at" if i.started_at is not None else "detected_at"
            end_from = "mitigated_at" if i.mitigated_at is not None else "resolved_at"
            lines.append(
                f"- Impact window: {fmt_time(w.start)} UTC to {end}, "
                f"{fmt_duration(w.duration_s)}{' so far' if w.ongoing else ''} "
                f"(metrics: impact window, from {start_from} to {end_from})"
            )
        else:
            self.missing.append("impact start (started_at) and detection time (detected_at)")
            lines.append(
                self.item("When did customer impact begin and end? The record has neither time.")
            )
        if i.services:
            lines.append(f"- Services affected: {', '.join(i.services)} (record: services)")
        notes = [e for e in self.work if e.kind == "impact"]
        if notes:
            lines.append("- Impact noted during the incident:")
            lines += [
                f"  - {self.when(e.at)} {quote(self.neutral(self.effective(e), f'event #{e.id}'))} "
                f"{self.ref(e)}"
                for e in notes
            ]
        stated = i.customer_impact + " ".join(self.text(e) for e in notes)
        if not _DIGIT.search(stated):
            lines.append(
                self.item(
                    "Quantify the impact: customers, requests or orders affected, revenue, SLA "
                    "credits, data lost. No figures are on the record."
                )
            )
        else:
            lines.append(
                self.item(
                    "Check the figures above against dashboards and add any that are missing "
                    "(revenue, SLA credits, data lost)."
                )
            )
        return "\n".join(lines)

    # -- detection and response -------------------------------------------------------------

    def detection(self) -> str:
        i, lines = self.i, []
        if i.started_at is not None and i.detected_at is not None:
            lines.append(
                f"- Impact began {fmt_time(i.started_at)} UTC and was detected "
                f"{fmt_time(i.detected_at)} UTC: time to detect "
                f"{fmt_duration(self.m.time_to_detect_s)} (record: started_at, detected_at; "
                "metrics)."
            )
        elif i.detected_at is not None:
            lines.append(
                f"- Detected {fmt_time(i.detected_at)} UTC (record: detected_at). The record has "
                "no impact start, so time to detect is unknown."
            )
            self.missing.append("impact start (started_at)")
        else:
            self.missing.append("detection time (detected_at)")
            lines.append(
                self.item("When and how was this detected? The record has no detection time.")
            )
        cutoff = i.detected_at or i.declared_at
        signals = [e for e in self.work if e.kind == "alert"]
        early = [e for e in self.work if e.kind not in ("declared",) and e.at <= cutoff]
        first = signals[0] if signals else (early[0] if early else None)
        if first is not None:
            lines.append(
                f"- First signal on the timeline: {quote(self.text(first))} {self.ref(first)}."
            )
            if first.kind != "alert" and _REPORTED.search(self.text(first)):
                lines.append(
                    f"- That first signal is a report from people, not an alert {self.ref(first)}."
                )
        if signals:
            lines.append(
                f"- Alerts recorded on the timeline: {len(signals)} "
                f"(event{'s' if len(signals) > 1 else ''} "
                f"{', '.join(f'#{e.id}' for e in signals[:8])})."
            )
        else:
            lines.append("- No alert is recorded on the timeline (record: timeline).")
        lines.append(
            self.item(
                "Which signal would have caught this when impact began, and was it in place? "
                "Did the alert reach the right people?"
            )
        )
        return "\n".join(lines)

    def response(self) -> str:
        i, m, lines = self.i, self.m, []
        declared = next((e for e in self.events if e.kind == "declared"), None)
        target = m.targets.get("declare")
        goal = ""
        if target is not None and target.met is not None:
            goal = (
                f"; {'within' if target.met else 'over'} the {i.severity} target of "
                f"{fmt_duration(target.target_s)}"
            )
        after = (
            f", {fmt_duration(m.time_to_declare_s)} after detection{goal} (metrics)"
            if m.time_to_declare_s is not None
            else ""
        )
        ref = self.ref(declared) if declared else "(record: declared_at)"
        lines.append(f"- Declared {fmt_time(i.declared_at)} UTC{after} {ref}.")
        for e in self.events:
            if e.kind == "severity_change":
                lines.append(f"- {self.text(e)} {self.ref(e)}.")
        if i.role_history:
            lines.append("- Roles (record: roles):")
            for tenure in i.role_history:
                until = f" until {self.when(tenure.relieved_at)}" if tenure.relieved_at else ""
                lines.append(
                    f"  - {tenure.role.replace('_', ' ')}: {tenure.person}, from "
                    f"{self.when(tenure.assigned_at)}{until} (record: roles)"
                )
        else:
            self.missing.append("roles: nobody is recorded as incident commander")
            lines.append(self.item("Who was incident commander, and who responded?"))
        acted = [e for e in self.work if e.kind in ACTION_KINDS]
        if acted:
            lines.append("- Actions and decisions on the timeline:")
            lines += [
                f"  - {self.when(e.at)} {e.kind}: "
                f"{quote(self.neutral(self.effective(e), f'event #{e.id}'))} (event #{e.id})"
                for e in acted
            ]
        else:
            self.missing.append("actions: no action, mitigation or decision events")
            lines.append(
                self.item(
                    "What was done to mitigate and recover, and when? No action, mitigation or "
                    "decision is recorded."
                )
            )
        for label, value, field_name in (
            ("Mitigated", i.mitigated_at, "mitigated_at"),
            ("Resolved", i.resolved_at, "resolved_at"),
        ):
            if value is not None:
                lines.append(f"- {label} {fmt_time(value)} UTC (record: {field_name}).")
        c = m.update_cadence
        audiences = Counter(
            str(e.data.get("audience") or "unspecified")
            for e in self.work
            if e.kind == "status_update"
        )
        if c.updates_published:
            lines.append(
                f"- Status updates: {c.updates_published} published "
                f"({', '.join(f'{k} {v}' for k, v in sorted(audiences.items()))}); cadence every "
                f"{c.cadence_minutes} min, {c.breaches} of {c.intervals} intervals over it "
                f"(metrics)."
            )
        else:
            lines.append(
                f"- No status update is recorded; the {i.severity} cadence is every "
                f"{c.cadence_minutes} min (metrics)."
            )
            self.missing.append("status updates: none recorded")
        copilot = [e for e in self.events if is_audit(e)]
        if copilot:
            lines.append(
                f"- The copilot answered {len(copilot)} time(s) during the incident "
                f"({', '.join(f'#{e.id}' for e in copilot[:8])})."
            )
        lines.append(
            self.item(
                "What slowed the response down, and what sped it up? Was anyone missing who "
                "should have been paged?"
            )
        )
        return "\n".join(lines)

    # -- causes -----------------------------------------------------------------------------

    def cause_notes(self) -> list[inc.Event]:
        return [
            e
            for e in self.work
            if e.kind == "hypothesis"
            or (e.kind in ("note", "decision", "correction") and _CAUSE.search(self.text(e)))
            # An action's "due to" is usually why it was done, not why the incident happened.
            or (e.kind in ACTION_KINDS and _ROOT_CAUSE.search(self.text(e)))
        ]

    def root_cause(self) -> tuple[str, list[s.Why]]:
        i = self.i
        problem = self.neutral(self.r(i.title), "record: title")
        fields = "title"
        if i.customer_impact.strip():
            impact = self.neutral(self.r(i.customer_impact), "record: customer_impact")
            problem += " — " + one_line(impact)
            fields = "title, customer_impact"
        lines = [f"Problem statement: {quote(problem, 400)} (record: {fields}).", ""]
        notes = self.cause_notes()
        if notes:
            lines.append(
                "Cause notes from the timeline (a hypothesis is unconfirmed until the team says "
                "so):"
            )
            for e in notes:
                label = "hypothesis" if e.kind == "hypothesis" else e.kind
                lines.append(
                    f"- {self.when(e.at)} {label}: "
                    f"{quote(self.neutral(self.effective(e), f'event #{e.id}'))} (event #{e.id})"
                )
        else:
            self.missing.append("cause notes: no hypothesis or cause note on the timeline")
            lines.append("No hypothesis or cause note is on the timeline (record: timeline).")
        lines += ["", "**5 Whys**, seeded from the cause notes in the order they were written:", ""]
        whys: list[s.Why] = []
        for n in range(5):
            question = (
                f"Why did {quote(one_line(self.r(i.title)), 160)} happen?"
                if n == 0
                else "Why did that happen?"
            )
            seed_event = notes[n] if n < len(notes) else None
            if seed_event is not None:
                seed = one_line(self.neutral(self.effective(seed_event), f"event #{seed_event.id}"))
                hyp = seed_event.kind == "hypothesis"
                answer = (
                    f"Seed: {quote(seed)} (event #{seed_event.id}"
                    f"{', hypothesis' if hyp else ''}). "
                    + self.ask(f"Why {n + 1}: confirm, reorder or replace this answer.")
                )
                whys.append(
                    s.Why(question=question, seed=seed, event_id=seed_event.id, hypothesis=hyp)
                )
            else:
                answer = self.ask(f"Why {n + 1}: answer from what the team found.")
                whys.append(s.Why(question=question, seed=None))
            lines.append(f"{n + 1}. {question}  \n   {answer}")
        lines += ["", "Contributing factors:", ""]
        lines.append(
            "- "
            + self.ask(
                "List the conditions that made this possible or worse: tooling, process, load, "
                "timing, knowledge, communication."
            )
        )
        factors = [(past, f) for past in self.x.similar for f in past.contributing_factors[:3]]
        if factors:
            lines.append("- Factors in similar past incidents, to check against this one:")
            lines += [
                f"  - {quote(f.text, 240)} — {past.title} (source: {past.source}:"
                f"{f.lines[0]}-{f.lines[1]})"
                for past, f in factors
            ]
        return "\n".join(lines), whys

    # -- retrospective and actions ----------------------------------------------------------

    def retrospective(self) -> str:
        m, i = self.m, self.i
        well: list[str] = []
        wrong: list[str] = []
        for name, check in m.targets.items():
            if check.met is None:
                continue
            actual = fmt_duration(check.actual_s) if check.actual_s is not None else "not yet"
            line = (
                f"Time to {name}: {actual} against the {i.severity} target of "
                f"{fmt_duration(check.target_s)} (metrics)."
            )
            (well if check.met else wrong).append(line)
        c = m.update_cadence
        if c.intervals and c.breaches == 0 and c.updates_published:
            well.append(
                f"Every status update came within the {c.cadence_minutes}-minute cadence (metrics)."
            )
        elif c.breaches:
            wrong.append(
                f"{c.breaches} of {c.intervals} status-update intervals went over the "
                f"{c.cadence_minutes}-minute cadence; longest gap "
                f"{fmt_duration(c.longest_gap_s)} (metrics)."
            )
        if m.reopened:
            wrong.append(f"The incident was reopened {m.reopened} time(s) (metrics).")
        for e in self.work:
            if e.kind in (*ACTION_KINDS, "note") and _NO_EFFECT.search(self.text(e)):
                said = quote(self.neutral(self.text(e), f"event #{e.id}"))
                wrong.append(f"Recorded as having no effect: {said} (event #{e.id}).")
        out = ["### What went well", ""]
        out += [f"- {x}" for x in well]
        out.append("- " + self.ask("What went well that the team wants to keep?"))
        out += ["", "### What went wrong", ""]
        out += [f"- {x}" for x in wrong]
        out.append("- " + self.ask("What went wrong, in the system and the process?"))
        out += ["", "### Where we got lucky", ""]
        out.append("- " + self.ask("What could have made this worse, and did not happen?"))
        return "\n".join(out)

    def action_items(self) -> tuple[str, list[s.ActionItem]]:
        items: list[s.ActionItem] = []
        for e in self.work:
            if e.kind in ("note", "decision", "action") and _FOLLOW_UP.search(self.text(e)):
                text = one_line(self.neutral(self.effective(e), f"event #{e.id}"))
                term: s.Term | None = (
                    "long"
                    if _LONG_TERM.search(text)
                    else ("short" if _SHORT_TERM.search(text) else None)
                )
                owner = _OWNER.search(text)
                due = _DUE.search(text)
                items.append(
                    s.ActionItem(
                        text=screened(text),
                        term=term,
                        owner=owner.group(1) if owner else None,
                        due=due.group(1) if due else None,
                        source=f"event #{e.id}",
                    )
                )
        for update in self.x.runbook_updates:
            if update.action in ("add_step", "change_step", "write_runbook"):
                items.append(s.ActionItem(text=update.text, term="short", source="runbook updates"))
        for name, check in self.m.targets.items():
            if check.met is False:
                items.append(
                    s.ActionItem(
                        text=ours(
                            f"Find what kept time to {name} over the {self.i.severity} target "
                            f"({fmt_duration(check.actual_s)} against "
                            f"{fmt_duration(check.target_s)}) and fix it."
                        ),
                        term=None,
                        source="metrics",
                    )
                )
        if self.m.time_to_detect_s is not None and self.m.time_to_detect_s > 15 * 60:
            services = ", ".join(self.i.services) or "the affected services"
            items.append(
                s.ActionItem(
                    text=screened(
                        f"Review alerting for {services}: impact went undetected for "
                        f"{fmt_duration(self.m.time_to_detect_s)}."
                    ),
                    term="short",
                    source="metrics",
                )
            )
        for rec in self.x.recurring[:2]:
            names = ", ".join(f"`{n}`" for n in [*rec.services, *rec.tags])
            items.append(
                s.ActionItem(
                    text=screened(
                        f"Check that the action items of the {rec.count - 1} earlier incident(s) "
                        f"in {rec.year} involving {names} were done, and whether this one shares "
                        "their cause (see Similar past incidents)."
                    ),
                    term=None,
                    source="recurring pattern",
                )
            )
        rows = [
            "| # | Action | Term | Owner | Due | From |",
            "|---|---|---|---|---|---|",
        ]
        for n, item in enumerate(items, 1):
            rows.append(
                f"| {n} | {cell(item.text)} | {item.term or TEAM} | "
                f"{cell(item.owner) if item.owner else TEAM} | "
                f"{cell(item.due) if item.due else TEAM} | {cell(item.source)} |"
            )
        n = len(items)
        short = self.ask("Add the short-term actions that stop this recurring soon.")
        long = self.ask("Add the long-term actions that remove the root cause.")
        rows.append(f"| {n + 1} | {short} | short | {TEAM} | {TEAM} | — |")
        rows.append(f"| {n + 2} | {long} | long | {TEAM} | {TEAM} | — |")
        intro = (
            "Suggested from the timeline, the runbook check, the metrics and recurring patterns; "
            "each says where it comes from. Every action needs an owner and a due date."
        )
        return intro + "\n\n" + "\n".join(rows), items

    # -- knowledge ----------------------------------------------------------------------------

    def runbook_updates(self) -> str:
        lines = []
        if self.x.knowledge_note:
            lines.append(f"- {self.x.knowledge_note}")
        for update in self.x.runbook_updates:
            line = f"- {update.text}"
            if update.action == "change_step":
                line += " " + self.ask("Reorder this step, say when it applies, or remove it.")
            elif update.action == "review":
                line += " " + self.ask(
                    f"Did {update.title or 'this runbook'} lead the responders to the fix? "
                    "Which step would have saved time?"
                )
            elif update.action == "write_runbook":
                line += " " + self.ask("Who owns writing it, and which alert should link to it?")
            lines.append(line)
        if not self.x.runbook_updates and not self.x.knowledge_note:
            lines.append("- No runbook update is suggested by the timeline and the runbooks.")
        lines.append(
            "- "
            + self.ask(
                "Which runbook step was missing, wrong or hard to find during this incident?"
            )
        )
        return "\n".join(lines)

    def similar_incidents(self) -> str:
        lines: list[str] = []
        if self.x.recurring:
            lines += ["**Recurring patterns:**", ""]
            lines += [f"- {rec.text}" for rec in self.x.recurring[:MAX_PATTERNS]]
            if len(self.x.recurring) > MAX_PATTERNS:
                lines.append(
                    f"- … and {len(self.x.recurring) - MAX_PATTERNS} smaller pattern(s) "
                    "(`recurring` in the JSON)."
                )
            lines.append("")
        if self.x.knowledge_note and not self.x.similar:
            lines.append(f"- {self.x.knowledge_note}")
        elif not self.x.similar:
            lines.append(
                "No past postmortem in the knowledge base is close enough to this incident."
            )
        titles = Counter(past.title for past in self.x.similar)
        for past in self.x.similar:
            when = f" ({past.date.isoformat()})" if past.date else ""
            shared = []
            if past.shared_services:
                shared.append(f"services {', '.join(past.shared_services)}")
            if past.shared_tags:
                shared.append(f"tags {', '.join(past.shared_tags)}")
            lines += [
                f"### {cell(past.title)}{when}"
                + (f" ({cell(past.source.rsplit('/', 1)[-1])})" if titles[past.title] > 1 else ""),
                "",
                f"Retrieval score {past.score:.2f} (source: {past.source}:{past.lines[0]}-"
                f"{past.lines[1]})"
                + (
                    f"; shares {'; '.join(shared)} with this incident (source: front matter; "
                    "record: services, tags)"
                    if shared
                    else ""
                )
                + ".",
                "",
                f"- What happened: {quote(past.what_happened, 400)} (source: {past.source})",
            ]
            if past.root_cause is not None:
                rc = past.root_cause
                lines.append(
                    f"- Root cause: {quote(rc.text, 500)} (source: {past.source}:"
                    f"{rc.lines[0]}-{rc.lines[1]})"
                )
            else:
                lines.append("- Root cause: not stated in a section of its own.")
            lines.append(
                f"- What fixed it: {quote(past.what_fixed_it, 400)} (source: {past.source})"
            )
            if past.action_items:
                lines.append("- Its action items:")
                lines += [
                    f"  - {quote(a.text, 240)} (source: {past.source}:{a.lines[0]}-{a.lines[1]})"
                    for a in past.action_items
                ]
            lines.append("")
        if self.x.similar:
            lines.append(
                self.ask(
                    "Does this incident share a cause with any of these? Were their action items "
                    "done?"
                )
            )
        return "\n".join(lines).strip()

    # -- metrics and review -------------------------------------------------------------------

    def metrics(self) -> str:
        m = self.m
        rows = ["| Measure | Value | Measured between | Target |", "|---|---|---|---|"]
        # With no detection time, the metrics count from the declaration: say so.
        since = "detection" if m.measured_from == "detected" else "declaration"
        spans = (
            ("Time to detect", m.time_to_detect_s, "impact start → detection", None),
            ("Time to declare", m.time_to_declare_s, "detection → declaration", "declare"),
            ("Time to mitigate", m.time_to_mitigate_s, f"{since} → mitigation", "mitigate"),
            ("Time to resolve", m.time_to_resolve_s, f"{since} → resolution", "resolve"),
        )
        for label, value, between, target_name in spans:
            target = m.targets.get(target_name) if target_name else None
            goal = "—"
            if target is not None:
                verdict = {True: "met", False: "missed", None: "running"}[target.met]
                goal = f"{fmt_duration(target.target_s)} ({verdict})"
            rows.append(f"| {label} | {fmt_duration(value)} | {between} | {goal} |")
        w = m.impact
        rows.append(
            f"| Customer-impact window | {fmt_duration(w.duration_s)}"
            f"{' (ongoing)' if w.ongoing else ''} | impact start → mitigation | — |"
        )
        c = m.update_cadence
        compliance = f"{c.compliance:.0%}" if c.compliance is not None else "n/a"
        rows.append(
            f"| Status updates | {c.updates_published} published, {c.breaches} of {c.intervals} "
            f"intervals late ({compliance} on time) | declaration → resolution | every "
            f"{c.cadence_minutes} min |"
        )
        rows.append(f"| Longest gap between updates | {fmt_duration(c.longest_gap_s)} | — | — |")
        rows.append(f"| Reopened | {m.reopened} | — | — |")
        note = (
            "From the incident record and its timeline (metrics, "
            f"`GET /v1/incidents/{self.i.id}/metrics`). Unknown means a timestamp is missing."
        )
        return note + "\n\n" + "\n".join(rows)

    def review(self, open_questions: int) -> str:
        lines = ["Delete this section before publishing.", ""]
        if self.missing:
            lines.append(
                "- Missing from the record: " + "; ".join(dict.fromkeys(self.missing)) + "."
            )
        else:
            lines.append("- The record has every field the draft uses.")
        lines.append(f"- Open questions for the team: {open_questions}, each marked {TEAM} above.")
        if self.flags:
            lines.append(
                f"- Blameless language: {len(self.flags)} phrase(s) read as blaming a person. "
                "The narrative sections above use the rewrite; the timeline quotes the record."
            )
            lines += [
                f"  - {flag.where}: {quote(flag.phrase, 160)}: {flag.reason}. Suggested: "
                f"{quote(flag.rewrite, 200)}"
                for flag in self.flags
            ]
        else:
            lines.append("- Blameless language: nothing on the record reads as blaming a person.")
        if self.redactions:
            lines.append(
                f"- {self.redactions} secret(s) or personal detail(s) were replaced by "
                "`[REDACTED:…]`."
            )
        if self.x.injection_suspected:
            lines.append(
                "- Text addressed to an AI was found and left out in: "
                + ", ".join(self.x.injection_suspected)
                + "."
            )
        return "\n".join(lines)

    # -- all of it ----------------------------------------------------------------------------

    def draft(self) -> Drafted:
        i = self.i
        day = (i.started_at or i.detected_at or i.declared_at).date().isoformat()
        title = f"{day} {i.id} postmortem: {one_line(self.r(i.title))}"
        sections: dict[str, str] = {}
        sections["summary"] = self.summary()
        sections["impact"] = self.impact()
        sections["timeline"], entries = self.timeline()
        sections["detection"] = self.detection()
        sections["response"] = self.response()
        sections["root_cause"], whys = self.root_cause()
        sections["retrospective"] = self.retrospective()
        sections["action_items"], items = self.action_items()
        sections["runbook_updates"] = self.runbook_updates()
        sections["similar_incidents"] = self.similar_incidents()
        sections["metrics"] = self.metrics()
        questions = list(self.questions)
        sections["review"] = self.review(len(questions))
        draft_note = (
            f"> Draft pre-filled by Responder Copilot from {i.id} on "
            f"{fmt_time(self.x.generated_at)} UTC. Each statement names its source: the incident "
            f"record, an event on its timeline, its metrics, or a cited passage. Items marked "
            f"{TEAM} are open questions for the team."
        )
        values = {"title": title, "incident_id": i.id, "draft_note": draft_note, **sections}
        return Drafted(
            sections=sections,
            values=values,
            timeline=entries,
            action_items=items,
            five_whys=whys,
            flags=self.flags,
            questions=questions,
            missing=list(dict.fromkeys(self.missing)),
            redactions=self.redactions,
            title=title,
        )


def shared(a: Sequence[str], b: Sequence[str]) -> list[str]:
    lower = {x.lower() for x in b}
    return [x for x in a if x.lower() in lower]
