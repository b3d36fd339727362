"""Request and response models of the incident API (and the CLI's --json output)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from copilot.guardrails.screened import ScreenedStr

Status = Literal["triage", "mobilized", "mitigating", "monitoring", "resolved", "closed"]
Audience = Literal["internal", "executive", "public"]
# Kinds anyone may append. The others (declared, status_change, severity_change, role_change,
# edit) are written by the service when the incident itself changes, so that the timeline and the
# record cannot disagree.
UserEventKind = Literal[
    "note",
    "action",
    "decision",
    "hypothesis",
    "alert",
    "mitigation",
    "impact",
    "status_update",
    "correction",
]
SystemEventKind = Literal["declared", "status_change", "severity_change", "role_change", "edit"]
USER_EVENT_KINDS: tuple[str, ...] = get_args(UserEventKind)
SYSTEM_EVENT_KINDS: tuple[str, ...] = get_args(SystemEventKind)

MAX_TEXT = 4000


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _as_utc(value: datetime) -> datetime:
    # A timestamp without an offset is taken as UTC, the convention of incident tooling.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value < EARLIEST:
        raise ValueError("must not be before 2000-01-01")
    return value


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]
Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LabelName = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=100)
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SeverityName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Labels = Annotated[list[LabelName], Field(max_length=20)]


class _Request(BaseModel):
    # A misspelt field is an error, not a silently ignored one.
    model_config = ConfigDict(extra="forbid")


class RolesPatch(_Request):
    """Role changes. A single role given as null is vacated (not allowed for the commander)."""

    incident_commander: Person | None = None
    escalation_lead: Person | None = None
    scribe: Person | None = None
    customer_liaison: Person | None = None
    responders: Annotated[list[Person], Field(max_length=100)] | None = Field(
        None, description="replace the list of responders"
    )
    add_responders: Annotated[list[Person], Field(max_length=100)] = []
    remove_responders: Annotated[list[Person], Field(max_length=100)] = []

    @model_validator(mode="after")
    def _one_way_to_change_responders(self) -> RolesPatch:
        if self.responders is not None and (self.add_responders or self.remove_responders):
            raise ValueError("give either responders (a replacement) or add/remove_responders")
        if not self.model_fields_set:
            raise ValueError("roles: name at least one role to change")
        return self


class IncidentCreate(_Request):
    title: Title
    summary: str = Field("", max_length=MAX_TEXT)
    severity: SeverityName = Field(description="SEV1..SEV4, or an alias such as P2")
    services: Labels = []
    tags: Labels = Field([], description="failure modes or causes, for recurring-mode metrics")
    customer_impact: str = Field("", max_length=MAX_TEXT)
    started_at: Timestamp | None = Field(None, description="when impact began")
    detected_at: Timestamp | None = None
    declared_at: Timestamp | None = Field(None, description="default now; set it to back-fill")
    roles: RolesPatch | None = None
    author: Person | None = None


class IncidentPatch(_Request):
    status: Status | None = None
    severity: SeverityName | None = None
    roles: RolesPatch | None = None
    title: Title | None = None
    summary: str | None = Field(None, max_length=MAX_TEXT)
    customer_impact: str | None = Field(None, max_length=MAX_TEXT)
    services: Labels | None = None
    tags: Labels | None = None
    started_at: Timestamp | None = None
    detected_at: Timestamp | None = None
    at: Timestamp | None = Field(None, description="when the change happened; default now")
    author: Person | None = None
    reason: str | None = Field(None, max_length=MAX_TEXT, description="why, for the timeline")

    @model_validator(mode="after")
    def _changes_something(self) -> IncidentPatch:
        if not self.model_fields_set - {"at", "author", "reason"}:
            raise ValueError(
                "nothing to change: give status, severity, roles, title, summary, "
                "customer_impact, services, tags, started_at or detected_at"
            )
        return self


class EventCreate(_Request):
    kind: UserEventKind = "note"
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    author: Person | None = None
    at: Timestamp | None = Field(None, description="when it happened; default now")
    corrects: int | None = Field(
        None, ge=1, le=2**31 - 1, description="id of the event a correction corrects"
    )
    audience: Audience | None = Field(None, description="for status_update events")

    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        if not self.text.strip():
            raise ValueError("text must contain more than whitespace")
        if (self.kind == "correction") != (self.corrects is not None):
            raise ValueError("a correction needs `corrects` (the event id), and only it takes one")
        if self.audience is not None and self.kind != "status_update":
            raise ValueError("audience is only for status_update events")
        return self


class Roles(BaseModel):
    incident_commander: str | None = None
    escalation_lead: str | None = None
    scribe: str | None = None
    customer_liaison: str | None = None
    responders: list[str] = []


class RoleTenure(BaseModel):
    role: str
    person: str
    assigned_at: datetime
    relieved_at: datetime | None


class ServiceWarning(BaseModel):
    """A service the service catalog does not know: kept as written (an outage is no time to
    refuse a declaration), with the catalog's closest names."""

    kind: Literal["unknown_service"] = "unknown_service"
    service: str = Field(description="the service as the incident names it")
    suggestions: list[str] = Field(description="catalog entity names close to it, best first")
    message: ScreenedStr


class Incident(BaseModel):
    id: str
    title: str
    summary: str
    severity: str
    severity_name: str
    status: Status
    services: list[str]
    tags: list[str]
    customer_impact: str
    roles: Roles
    role_history: list[RoleTenure]
    started_at: datetime | None
    detected_at: datetime | None
    declared_at: datetime
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    update_cadence_minutes: int
    last_status_update_at: datetime | None
    next_update_due: datetime | None = Field(
        description="when the next status update is due; null once resolved"
    )
    update_overdue: bool
    allowed_transitions: list[str]
    warnings: list[ServiceWarning] = Field(
        default_factory=list,
        description="services the service catalog does not know (declare, change and read one "
        "incident; empty without a catalog)",
    )


class IncidentList(BaseModel):
    incidents: list[Incident]


class Event(BaseModel):
    id: int
    incident_id: str
    kind: str
    text: str
    author: str | None
    at: datetime
    recorded_at: datetime
    corrects: int | None
    corrected_by: list[int]
    data: dict[str, Any]


class EventList(BaseModel):
    incident_id: str
    events: list[Event]


# What a duration counts from when the better timestamp was not given.
MetricsAnchor = Literal["detected", "declared"]
ImpactAnchor = Literal["started", "detected", "declared"]


class ImpactWindow(BaseModel):
    start: datetime | None
    end: datetime | None
    duration_s: float | None
    ongoing: bool
    start_from: ImpactAnchor | None = Field(
        None,
        description="which timestamp `start` is: when impact began, else detection, else the "
        "declaration (a lower bound on the window)",
    )


class UpdateCadence(BaseModel):
    cadence_minutes: int
    updates_published: int
    intervals: int = Field(description="gaps checked: declaration to first update, ..., to end")
    breaches: int
    compliance: float | None = Field(description="share of intervals within cadence")
    longest_gap_s: float | None
    next_update_due: datetime | None
    overdue: bool


class TargetCheck(BaseModel):
    target_s: float
    actual_s: float | None
    met: bool | None = Field(description="null while the clock is still running")


class IncidentMetrics(BaseModel):
    incident_id: str
    severity: str
    status: Status
    time_to_detect_s: float | None
    time_to_declare_s: float | None
    time_to_mitigate_s: float | None
    time_to_resolve_s: float | None
    measured_from: MetricsAnchor = Field(
        "detected",
        description="what time to mitigate, time to resolve and their targets count from: "
        "detection, or the declaration when no detection time was given (a lower bound)",
    )
    impact: ImpactWindow
    update_cadence: UpdateCadence
    targets: dict[str, TargetCheck]
    reopened: int


class Stat(BaseModel):
    count: int
    mean: float | None
    p50: float | None


class GroupMetrics(BaseModel):
    incidents: int
    time_to_detect_s: Stat
    time_to_declare_s: Stat
    time_to_mitigate_s: Stat
    time_to_resolve_s: Stat
    impact_s: Stat
    update_breaches: int
    update_compliance: Stat
    targets_missed: dict[str, int]


class Recurrence(BaseModel):
    name: str
    count: int
    incidents: list[str]


class RecurringModes(BaseModel):
    services: list[Recurrence]
    tags: list[Recurrence]


class AggregateMetrics(BaseModel):
    since: datetime | None
    until: datetime
    overall: GroupMetrics
    by_severity: dict[str, GroupMetrics]
    by_service: dict[str, GroupMetrics]
    recurring: RecurringModes


class TriageRequest(_Request):
    alerts: Annotated[
        list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=50)
    ] = []
    services: Labels = []
    error_rate: float | None = Field(
        None, allow_inf_nan=False, ge=0, le=1, description="failing share, 0.05 = 5%"
    )
    latency_p99_ms: float | None = Field(None, allow_inf_nan=False, ge=0)
    duration_minutes: float | None = Field(None, allow_inf_nan=False, ge=0)
    users_affected: int | None = Field(None, ge=0)
    revenue_per_hour: float | None = Field(None, allow_inf_nan=False, ge=0)
    customer_facing: bool | None = None

    @model_validator(mode="after")
    def _some_signal(self) -> TriageRequest:
        if not self.model_fields_set - {"services"}:
            raise ValueError(
                "give at least one signal: alerts, error_rate, latency_p99_ms, duration_minutes, "
                "users_affected, revenue_per_hour or customer_facing"
            )
        return self


class TriageResponse(BaseModel):
    declare: bool
    severity: str | None
    severity_name: str | None
    definition: str | None
    update_cadence_minutes: int | None
    response_targets: dict[str, int | None] | None
    reasons: list[str]
