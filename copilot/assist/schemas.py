"""Request and response models of `POST /v1/ask`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from copilot.guardrails.screened import ScreenedStr
from copilot.knowledge.schemas import NearTwinsOut

MAX_QUESTION_CHARS = 4000
# The most steps one answer lists when asked for more than the configured cap.
MAX_STEPS = 50


class AskRequest(BaseModel):
    # A misspelt field (`topk`) is an error, not a silently ignored one.
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    incident_id: str | None = Field(None, max_length=40)
    top_k: int = Field(5, ge=1, le=20)
    max_steps: int | None = Field(
        None,
        ge=1,
        le=MAX_STEPS,
        description="list up to this many steps (default: the configured cap, 10)",
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must contain more than whitespace")
        return value


class Citation(BaseModel):
    source: str
    title: ScreenedStr
    section: ScreenedStr
    lines: tuple[int, int]
    score: float


class Step(BaseModel):
    text: ScreenedStr
    command: ScreenedStr | None = None
    requires_approval: bool = False
    approval_reason: str | None = Field(None, description="why the step needs approval")
    citations: list[Citation]
    caution: bool = Field(
        False,
        description="a warning the runbook gives (what not to do): shown apart from the steps "
        "to take; it carries no command and needs no approval",
    )


class SimilarIncident(BaseModel):
    title: ScreenedStr
    source: str
    what_happened: ScreenedStr
    what_fixed_it: ScreenedStr
    lines: tuple[int, int]
    happened_lines: tuple[int, int] | None = Field(None, description="where what_happened is")
    fixed_lines: tuple[int, int] | None = Field(None, description="where what_fixed_it is")
    score: float


class Removal(BaseModel):
    """A part of a document withheld from what is shown, and why."""

    source: str
    section: ScreenedStr
    lines: tuple[int, int]
    reasons: list[str]


class Guardrails(BaseModel):
    redactions: int = 0
    injection_suspected: list[str] = Field(default_factory=list)
    blocked: list[str] = Field(
        default_factory=list,
        description="what was withheld from you for a safety reason (empty when nothing was)",
    )
    removed: list[Removal] = Field(
        default_factory=list, description="parts of documents cut before composing, and where"
    )


class DoneStep(BaseModel):
    text: ScreenedStr
    done_by: ScreenedStr = Field(description="the timeline entry that records it")


class CatalogOwner(BaseModel):
    ref: str
    name: ScreenedStr
    contacts: list[ScreenedStr] = Field(
        description="who to escalate to first (when the catalog says), then email, chat "
        "channel, links"
    )
    escalation: ScreenedStr | None = Field(
        None,
        description="who to escalate to: the team's `copilot/escalation`, else its PagerDuty "
        "escalation policy; null when the catalog names neither",
    )


class CatalogService(BaseModel):
    """A service of the catalog as an answer names it. Refs and names pass Backstage's name rule
    (no prose); titles, public names and contacts came from catalog files and are screened."""

    ref: str
    name: str = Field(description="the entity's name, as runbooks' `services` front matter has it")
    title: ScreenedStr
    owner: CatalogOwner | None = None
    path: list[str] = Field(
        description="refs from the incident's service to this one (upstream), or from the "
        "failing service up to this dependent (blast radius)"
    )
    user_facing: bool = False
    public_name: ScreenedStr | None = None
    runbook: Citation | None = Field(
        None, description="for an upstream dependency: its best runbook for this question"
    )


class CatalogContext(BaseModel):
    affected: list[CatalogService] = Field(description="the incident's (or question's) services")
    dependents: list[CatalogService] = Field(
        description="what depends on them (blast radius), user-facing first, nearest first"
    )
    dependents_total: int = Field(0, description="all dependents, of which `dependents` is a cut")
    upstream: list[CatalogService] = Field(
        description="what they depend on, nearest first: places to look first"
    )
    unmapped: list[ScreenedStr] = Field(
        default_factory=list, description="incident services the catalog does not know"
    )


class AskResponse(BaseModel):
    answer: ScreenedStr
    steps: list[Step]
    citations: list[Citation]
    similar_incidents: list[SimilarIncident]
    confidence: float
    abstained: bool
    guardrails: Guardrails
    provider: str = "extractive"
    fallback: str | None = Field(
        None, description="Why the extractive answer was returned instead of the model's."
    )
    skipped_done: list[str] = Field(
        default_factory=list, description="Runbook steps left out: the timeline records them done."
    )
    done: list[DoneStep] = Field(
        default_factory=list, description="the same steps, each with the timeline entry cited"
    )
    more_steps: int = Field(0, description="further steps in the cited sections not listed")
    catalog: CatalogContext | None = Field(
        None,
        description="owners, blast radius and upstream dependencies of the services the incident "
        "(or the question) names, from the service catalog; null without one",
    )
    degraded: str | None = Field(
        None,
        description="null when retrieval was whole; otherwise what was missing, e.g. keyword "
        "search only because the vector store does not answer (as SearchResponse.degraded)",
    )
    near_twins: NearTwinsOut | None = Field(
        None,
        description="set when the two best runbooks are near twins close in score: which one "
        "the answer leads with and why, and the line of each that tells them apart",
    )
    corrected: dict[str, str] = Field(
        default_factory=dict,
        description="typing slips in the question searched as the knowledge base's word, "
        "typed -> searched; the answer names them first",
    )
