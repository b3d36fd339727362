"""What the team learns: causes, the retrospective, action items, runbook updates, similar
incidents, metrics and the review checklist of a draft."""

from __future__ import annotations

import re
from collections import Counter

from copilot.guardrails.screened import ours, screened
from copilot.incidents import schemas as inc
from copilot.postmortem import schemas as s
from copilot.postmortem.record import (
    ACTION_KINDS,
    TEAM,
    Record,
    cell,
    fmt_duration,
    one_line,
    quote,
)

MAX_PATTERNS = 3
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


class Lessons(Record):
    """The sections that say why it happened and what changes."""

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
