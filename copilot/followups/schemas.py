"""Request and response models of the follow-up API (and the CLI's --json output)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from copilot.guardrails.screened import ScreenedStr

FollowUpStatus = Literal["open", "in_progress", "done", "wont_do"]
Priority = Literal["high", "medium", "low"]
Origin = Literal["manual", "postmortem", "import"]

FollowUpTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)
]
Owner = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Team = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=100)
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FollowUpCreate(_Request):
    title: FollowUpTitle
    incident_id: str | None = Field(None, max_length=40, description="INC-N it came from")
    owner: Owner | None = None
    team: Team | None = None
    due_on: date | None = None
    priority: Priority = "medium"
    status: FollowUpStatus = "open"
    external_url: AnyHttpUrl | None = Field(None, description="the issue tracker's link")


class FollowUpPatch(_Request):
    title: FollowUpTitle | None = None
    incident_id: str | None = Field(
        None, max_length=40, description="INC-N it came from (null: from no incident)"
    )
    owner: Owner | None = None
    team: Team | None = None
    due_on: date | None = None
    priority: Priority | None = None
    status: FollowUpStatus | None = None
    external_url: AnyHttpUrl | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> FollowUpPatch:
        if not self.model_fields_set:
            raise ValueError(
                "nothing to change: give title, incident_id, owner, team, due_on, priority, "
                "status or external_url"
            )
        required = [f for f in ("title", "priority", "status") if f in self.model_fields_set]
        if any(getattr(self, f) is None for f in required):
            raise ValueError(f"{', '.join(required)}: cannot be cleared (null)")
        return self


class FollowUp(BaseModel):
    id: str
    title: ScreenedStr
    incident_id: str | None
    owner: ScreenedStr | None
    team: str | None
    due_on: date | None
    priority: Priority
    status: FollowUpStatus
    external_url: str | None
    origin: Origin
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    overdue: bool = Field(description="open or in progress with its due date in the past")


class FollowUpList(BaseModel):
    follow_ups: list[FollowUp]
    count: int
    overdue: int
