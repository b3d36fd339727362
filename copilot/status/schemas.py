"""Request and response models of the status-update API (and the CLI's --json output)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Audience = Literal["internal", "executive", "public"]
AUDIENCES: tuple[str, ...] = ("internal", "executive", "public")
# The status-page vocabulary (Atlassian Statuspage, Better Stack, Instatus all use it).
Phase = Literal["investigating", "identified", "monitoring", "resolved"]
PHASES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
State = Literal["draft", "published"]
Check = Literal["leak", "fact", "secret", "jargon", "instructions", "required"]

MAX_TITLE = 200
# A published update goes on the timeline as one event (at most 4000 characters) with its title.
MAX_BODY = 3600

Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# The public status page (copilot.statuspage): what a published public update may set there.
PageComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage"
]
Impact = Literal["none", "minor", "major", "critical"]
PublicIncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
PageComponentName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftRequest(_Request):
    audience: Audience
    author: Person | None = Field(None, description="who asked for the draft")


class PublishRequest(_Request):
    title: str | None = Field(None, max_length=MAX_TITLE, description="an edited title")
    body: str | None = Field(
        None, max_length=MAX_BODY, description="an edited body; it passes the same checks"
    )
    author: Person | None = Field(None, description="who publishes it")
    components: dict[PageComponentName, PageComponentStatus] | None = Field(
        None,
        max_length=100,
        description=(
            "public updates only: status page component (name or id) -> its status from now on; "
            "components left out keep theirs (a resolved update returns the incident's to "
            "operational)"
        ),
    )
    impact: Impact | None = Field(
        None,
        description=(
            "public updates only: the incident's impact on the status page; by default the "
            "previous update's, else from the worst component status"
        ),
    )
    status: PublicIncidentStatus | None = Field(
        None,
        description=(
            "public updates only: the incident's status on the status page from this update on; "
            "by default it follows the incident's phase (triage and mobilized: investigating, "
            "mitigating: identified, monitoring, resolved). The incident itself does not change"
        ),
    )

    @model_validator(mode="after")
    def _not_blank(self) -> PublishRequest:
        for name in ("title", "body"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise ValueError(f"{name} must contain more than whitespace (or be left out)")
        return self


class Finding(BaseModel):
    """One thing a check took out of a draft."""

    check: Check
    kind: str = Field(description="hostname, person, ticket, number, time, ...")
    text: str = Field(description="what was found; secrets are shown redacted")
    action: Literal["removed", "replaced", "redacted", "missing"] = "removed"
    replacement: str | None = None


class DraftGuardrails(BaseModel):
    checks: list[str] = Field(description="the checks this draft went through")
    removed: list[Finding] = Field(
        default_factory=list, description="what the checks took out of the draft shown"
    )
    fallback: str | None = Field(
        None, description="why the template draft is shown instead of the model's"
    )
    model_rejected: list[Finding] = Field(
        default_factory=list, description="what the model's draft contained that failed"
    )


class Draft(BaseModel):
    id: int
    incident_id: str
    audience: Audience
    title: str
    body: str
    status: Phase = Field(description="status-page phase: investigating|identified|...")
    incident_status: str = Field(description="the incident's lifecycle status when drafted")
    next_update_by: datetime | None = Field(description="promised in the draft; null if resolved")
    guardrails: DraftGuardrails
    provider: str = Field(description="'template', or the model that rewrote it")
    state: State
    components: list[str] = Field(description="public names of the affected services")
    created_at: datetime
    created_by: str | None
    published_at: datetime | None = None
    published_by: str | None = None
    edited: bool = Field(False, description="published with an edited title or body")
    event_id: int | None = Field(None, description="the status_update timeline event")


class DraftList(BaseModel):
    incident_id: str
    drafts: list[Draft]


class StatusPageComponent(BaseModel):
    name: str
    status: Literal["operational", "degraded_performance", "partial_outage", "major_outage"]


class StatusPageIncident(BaseModel):
    """What a status-page tool takes: name, status, body, affected components."""

    name: str
    status: Phase
    body: str
    components: list[StatusPageComponent]


class StatusExport(BaseModel):
    incident_id: str
    update_id: int
    audience: Audience
    published_at: datetime
    next_update_by: datetime | None
    statuspage: StatusPageIncident | None = Field(
        description="for public updates only: internal updates never go to a status page"
    )
    slack: str = Field(description="Slack mrkdwn, ready to post")
