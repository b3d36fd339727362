"""Request and response models of `POST /v1/incidents/{id}/postmortem` (and `--json`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from copilot.assist.schemas import Guardrails
from copilot.guardrails.screened import ScreenedStr
from copilot.incidents.schemas import IncidentMetrics

Term = Literal["short", "long"]


class PostmortemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    similar: int = Field(3, ge=0, le=10, description="how many similar past incidents to list")


class Excerpt(BaseModel):
    """Text quoted from a past postmortem, with the section and lines it came from."""

    text: ScreenedStr
    section: ScreenedStr
    lines: tuple[int, int]


class TimelineEntry(BaseModel):
    event_id: int | None = Field(description="null for a moment taken from the incident record")
    at: dt.datetime
    offset_s: float | None = Field(description="seconds from detection (or declaration)")
    kind: str
    text: str
    author: str | None = None
    key_moment: str | None = None
    corrects: int | None = None
    corrected_by: list[int] = Field(default_factory=list)


class SimilarPastIncident(BaseModel):
    title: ScreenedStr
    source: str
    lines: tuple[int, int]
    score: float
    date: dt.date | None = None
    what_happened: ScreenedStr
    what_fixed_it: ScreenedStr
    root_cause: Excerpt | None = None
    contributing_factors: list[Excerpt] = Field(default_factory=list)
    action_items: list[Excerpt] = Field(default_factory=list)
    shared_services: list[str] = Field(default_factory=list)
    shared_tags: list[str] = Field(default_factory=list)


class Recurrence(BaseModel):
    """Services and tags this incident shares with the same other incidents of its year."""

    services: list[str]
    tags: list[str]
    year: int
    count: int = Field(description="incidents that year involving them, this one included")
    incidents: list[str] = Field(description="the other incidents, from the incident store")
    postmortems: list[str] = Field(description="past postmortems in the knowledge base")
    text: ScreenedStr


class RunbookSuggestion(BaseModel):
    action: Literal["add_step", "change_step", "review", "write_runbook"]
    runbook: str | None = None
    title: ScreenedStr | None = None
    section: ScreenedStr | None = None
    lines: tuple[int, int] | None = None
    event_id: int | None = None
    similarity: float | None = None
    overlap: float | None = Field(None, description="share of the action's words in the runbook")
    text: ScreenedStr


class ActionItem(BaseModel):
    text: ScreenedStr
    term: Term | None = Field(description="null: for the team to decide")
    owner: str | None = None
    due: str | None = None
    source: str = Field(description="where the suggestion comes from")


class Why(BaseModel):
    question: str
    seed: str | None = Field(description="a cause note from the timeline, to confirm or replace")
    event_id: int | None = None
    hypothesis: bool = False


class LanguageFlag(BaseModel):
    where: str
    phrase: str
    reason: str
    rewrite: str


class PostmortemResponse(BaseModel):
    incident_id: str
    title: str
    markdown: ScreenedStr
    sections: dict[str, ScreenedStr] = Field(description="the markdown of each pre-filled section")
    headings: dict[str, str] = Field(description="the template heading of each section")
    metrics: IncidentMetrics
    timeline: list[TimelineEntry]
    similar_incidents: list[SimilarPastIncident]
    recurring: list[Recurrence]
    runbook_updates: list[RunbookSuggestion]
    action_items: list[ActionItem]
    five_whys: list[Why]
    blameless: list[LanguageFlag]
    open_questions: list[str]
    missing: list[str]
    guardrails: Guardrails
    template: str
    generated_at: dt.datetime
