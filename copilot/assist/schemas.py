"""Request and response models of `POST /v1/ask`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUESTION_CHARS = 4000


class AskRequest(BaseModel):
    # A misspelt field (`topk`) is an error, not a silently ignored one.
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    incident_id: str | None = Field(None, max_length=40)
    top_k: int = Field(5, ge=1, le=20)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must contain more than whitespace")
        return value


class Citation(BaseModel):
    source: str
    title: str
    section: str
    lines: tuple[int, int]
    score: float


class Step(BaseModel):
    text: str
    command: str | None = None
    requires_approval: bool = False
    citations: list[Citation]


class SimilarIncident(BaseModel):
    title: str
    source: str
    what_happened: str
    what_fixed_it: str
    lines: tuple[int, int]
    score: float


class Guardrails(BaseModel):
    redactions: int = 0
    injection_suspected: list[str] = Field(default_factory=list)
    blocked: list[str] = Field(default_factory=list)


class AskResponse(BaseModel):
    answer: str
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
