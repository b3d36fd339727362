"""What happened: the timeline, summary, impact, detection and response sections of a draft."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from copilot.incidents import schemas as inc
from copilot.listitems import LIST_ITEM
from copilot.postmortem import schemas as s
from copilot.postmortem.record import (
    ACTION_KINDS,
    Record,
    block,
    cell,
    fmt_duration,
    fmt_offset,
    fmt_time,
    is_audit,
    one_line,
    quote,
    upper_first,
)

STATUS_MOMENTS = {
    "mobilized": "Mobilized",
    "mitigating": "Mitigating",
    "monitoring": "Mitigated (monitoring)",
    "resolved": "Resolved",
    "closed": "Closed",
}
_REPORTED = re.compile(
    r"\b(?:report(?:ed|s)?|customers?|users?|support|complain\w*|tweet\w*|noticed)\b", re.I
)
_DIGIT = re.compile(r"\d")


_BULLET = LIST_ITEM


def _list_items(text: str) -> list[str]:
    """The items of a text written as a markdown list (a wrapped line joins its item); empty
    when the text does not start as one."""
    items: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if _BULLET.match(line):
            items.append(_BULLET.sub("", line, count=1))
        elif items:
            items[-1] += " " + line.strip()
        else:
            return []
    return items


class Narrative(Record):
    """The sections that say what happened, in the order it happened."""

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
            upper_first("; ".join(f"{label} {fmt_time(v)} UTC" for label, v in stamps))
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
            items = _list_items(text)
            if len(items) > 1:
                # Written as a list (an imported postmortem's Impact section): kept one.
                nested = "\n".join(f"  - {one_line(item)}" for item in items)
                lines.append(f"- Customer impact (record: customer_impact):\n{nested}")
            else:
                lines.append(f"- Customer impact: {one_line(text)} (record: customer_impact)")
        else:
            self.missing.append("customer impact statement")
        if w.start is not None:
            end = (
                f"{fmt_time(w.end)} UTC"
                if w.end is not None
                else ("ongoing" if w.ongoing else "not recorded")
            )
            # The field the window starts at, as the metrics took it (the declaration when
            # neither the start of impact nor detection was recorded: a lower bound).
            start_from = f"{w.start_from or 'started'}_at"
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
