"""Compose the sections of a postmortem draft from the record, its metrics and what retrieval found.

Every statement says where it comes from: `(record: field)`, `(event #N, time)`, `(metrics)`, or
`(source: path:lines)` for a past postmortem or runbook. Whatever the record cannot answer is left
as a question for the team, marked **[team]**, never answered by the copilot. Record text is
redacted before it is used; narrative sections use the blameless rewrite of it, the timeline quotes
it as recorded and the language review lists what was rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from copilot.postmortem import schemas as s
from copilot.postmortem.lessons import Lessons
from copilot.postmortem.narrative import Narrative
from copilot.postmortem.record import TEAM, fmt_time, one_line


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


class Drafter(Narrative, Lessons):
    """Builds every section; keeps the questions, flags and redactions it meets on the way."""

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
