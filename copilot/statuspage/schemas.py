"""Maintenance requests and the Statuspage-compatible read API (field names and vocabularies of
Atlassian Statuspage's public `/api/v2/` so existing tooling reads it unchanged)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from copilot.guardrails.screened import ScreenedStr

ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
Impact = Literal["none", "minor", "major", "critical", "maintenance"]
Indicator = Literal["none", "minor", "major", "critical", "maintenance"]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3600)]
ComponentName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


# -- maintenance windows (under /v1, with a key) ------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaintenanceCreate(_Request):
    name: Name
    body: Body = Field(description="what customers read: what changes and what they may notice")
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[ComponentName] = Field(min_length=1, max_length=100)
    scheduled_auto_in_progress: bool = Field(
        True, description="move to in_progress by itself when scheduled_for passes"
    )
    scheduled_auto_completed: bool = Field(
        True, description="move to completed by itself when scheduled_until passes"
    )


class MaintenanceUpdateRequest(_Request):
    status: MaintenanceStatus | None = Field(
        None, description="scheduled -> in_progress -> verifying -> completed (never back)"
    )
    body: Body | None = Field(None, description="a message shown with the window's updates")
    name: Name | None = None
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    components: list[ComponentName] | None = Field(None, min_length=1, max_length=100)
    scheduled_auto_in_progress: bool | None = None
    scheduled_auto_completed: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> MaintenanceUpdateRequest:
        if not self.model_fields_set:
            raise ValueError(
                "give at least one of status, body, name, scheduled_*, components, scheduled_auto_*"
            )
        return self


class MaintenanceUpdateOut(BaseModel):
    id: int
    status: MaintenanceStatus
    body: ScreenedStr
    created_at: datetime


class MaintenanceOut(BaseModel):
    id: int
    name: ScreenedStr
    status: MaintenanceStatus
    components: list[str] = Field(description="component ids")
    scheduled_for: datetime
    scheduled_until: datetime
    started_at: datetime | None
    completed_at: datetime | None
    scheduled_auto_in_progress: bool
    scheduled_auto_completed: bool
    created_at: datetime
    updated_at: datetime
    updates: list[MaintenanceUpdateOut] = Field(description="newest first")


class MaintenanceList(BaseModel):
    maintenances: list[MaintenanceOut]


# -- the Statuspage-compatible public read API -------------------------------------------------


class Page(BaseModel):
    id: str
    name: ScreenedStr
    url: str
    time_zone: str
    updated_at: datetime


class Status(BaseModel):
    indicator: Indicator
    description: str


class Component(BaseModel):
    id: str
    name: ScreenedStr
    status: ComponentStatus
    created_at: datetime
    updated_at: datetime
    position: int
    description: ScreenedStr | None
    showcase: bool
    start_date: str | None
    group_id: str | None
    page_id: str
    group: bool
    only_show_if_degraded: bool
    components: list[str] | None = Field(None, description="a group's component ids")


class AffectedComponent(BaseModel):
    code: str
    name: ScreenedStr
    old_status: ComponentStatus
    new_status: ComponentStatus


class IncidentUpdate(BaseModel):
    id: str
    status: str
    body: ScreenedStr
    incident_id: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime
    affected_components: list[AffectedComponent] | None


class IncidentComponent(BaseModel):
    id: str
    name: ScreenedStr
    status: ComponentStatus


class Incident(BaseModel):
    id: str
    name: ScreenedStr
    status: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    impact: Impact
    shortlink: str
    started_at: datetime
    page_id: str
    incident_updates: list[IncidentUpdate]
    components: list[IncidentComponent]


class ScheduledMaintenance(Incident):
    scheduled_for: datetime
    scheduled_until: datetime


class StatusResponse(BaseModel):
    page: Page
    status: Status


class ComponentsResponse(BaseModel):
    page: Page
    components: list[Component]


class IncidentsResponse(BaseModel):
    page: Page
    incidents: list[Incident]


class MaintenancesResponse(BaseModel):
    page: Page
    scheduled_maintenances: list[ScheduledMaintenance]


class SummaryResponse(BaseModel):
    page: Page
    components: list[Component]
    incidents: list[Incident] = Field(description="unresolved incidents")
    scheduled_maintenances: list[ScheduledMaintenance] = Field(
        description="upcoming and in-progress maintenance"
    )
    status: Status
