"""Webhook payloads the copilot takes (Alertmanager, Grafana) and the alert API's responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from copilot.guardrails.screened import ScreenedStr

# Bounds of what one notification may carry (a label value of a megabyte is refused, not stored).
MAX_ALERTS = 1000
MAX_LABELS = 64
MAX_ANNOTATIONS = 32
MAX_LABEL_NAME = 128
MAX_LABEL_VALUE = 1024
MAX_ANNOTATION_VALUE = 8192
MAX_URL = 2000

AlertStatus = Literal["firing", "resolved"]
GroupStatus = Literal["open", "candidate", "declared", "attached", "dismissed"]
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_NAME)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]
AnnotationValue = Annotated[str, StringConstraints(max_length=MAX_ANNOTATION_VALUE)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=MAX_LABELS)]
Annotations = Annotated[dict[LabelName, AnnotationValue], Field(max_length=MAX_ANNOTATIONS)]
Url = Annotated[str, StringConstraints(max_length=MAX_URL)]
Fingerprint = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class _Sender(BaseModel):
    # Senders add fields over time (Grafana's orgId, title, state, message): they are ignored.
    model_config = ConfigDict(extra="ignore")


class AlertmanagerAlert(_Sender):
    status: AlertStatus
    labels: Labels
    annotations: Annotations = {}
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: Url = ""
    fingerprint: Fingerprint | None = None


class AlertmanagerPayload(_Sender):
    """Alertmanager's webhook body, version 4."""

    version: Literal["4"]
    receiver: Annotated[str, StringConstraints(max_length=500)] = ""
    status: AlertStatus
    groupKey: Annotated[str, StringConstraints(max_length=MAX_URL)] = ""
    truncatedAlerts: int = Field(0, ge=0)
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Annotations = {}
    externalURL: Url = ""
    alerts: Annotated[list[AlertmanagerAlert], Field(max_length=MAX_ALERTS)]


class GrafanaAlert(AlertmanagerAlert):
    values: (
        dict[Annotated[str, StringConstraints(max_length=MAX_LABEL_NAME)], float | None] | None
    ) = Field(None, max_length=MAX_LABELS)
    silenceURL: Url = ""
    dashboardURL: Url = ""
    panelURL: Url = ""


class GrafanaPayload(AlertmanagerPayload):
    """Grafana Alerting's webhook body, version 1."""

    version: Literal["1"]  # type: ignore[assignment]  # Grafana's own version number
    alerts: Annotated[list[GrafanaAlert], Field(max_length=MAX_ALERTS)]  # type: ignore[assignment]


# -- responses --------------------------------------------------------------------------------


class IntakeResult(BaseModel):
    """What one notification changed."""

    received: int = Field(description="alerts in the notification")
    duplicate: bool = Field(description="the same notification was applied before")
    new: int
    changed: int
    flaps: int
    groups: list[int] = Field(description="ids of the groups its alerts are in")
    candidates: list[int] = Field(
        default=[], description="ids of the groups this notification made candidates"
    )
    declared: list[str] = Field(
        default=[], description="incidents an auto-declare policy declared from those candidates"
    )


class AlertView(BaseModel):
    fingerprint: str
    name: ScreenedStr
    status: AlertStatus
    labels: dict[str, ScreenedStr]
    annotations: dict[str, ScreenedStr]
    starts_at: datetime
    ends_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    flaps: int
    notifications: int
    heartbeat: bool
    source: str
    generator_url: ScreenedStr | None
    group_id: int | None
    group_reason: ScreenedStr | None


class AlertList(BaseModel):
    items: list[AlertView]


class RunbookRef(BaseModel):
    alertname: ScreenedStr
    source: str
    title: ScreenedStr
    section: ScreenedStr
    lines: tuple[int, int]
    score: float
    found_by: Literal["alert_name", "file_name", "runbook_url", "search"]


class SimilarIncident(BaseModel):
    """A past postmortem in the knowledge base close to a candidate's alerts and services."""

    source: str
    title: ScreenedStr
    section: ScreenedStr
    lines: tuple[int, int]
    score: float


class ReopenProposal(BaseModel):
    """The group's alerts fired again soon after this incident resolved: reopen it?"""

    incident_id: str
    incident_status: str = Field(description="the incident's status now (someone may have acted)")
    resolved_at: datetime | None
    reason: ScreenedStr


class GroupView(BaseModel):
    id: int
    status: GroupStatus
    title: ScreenedStr
    reason: ScreenedStr
    rule: str
    key: ScreenedStr
    candidate: bool = Field(
        description="past its rule's threshold, or holding a firing `urgent` alert, and not yet "
        "handled"
    )
    suggested_severity: str
    severity_from: ScreenedStr
    services: list[ScreenedStr]
    firing: int
    resolved: int
    first_at: datetime
    last_at: datetime
    alerts: list[AlertView]
    runbooks: list[RunbookRef]
    incident_id: str | None
    dismissed_reason: ScreenedStr | None
    reopen: ReopenProposal | None = Field(
        None, description="set when the group proposes reopening a resolved or closed incident"
    )
    policy: str | None = Field(None, description="the auto-declare policy that declared it")
    similar_incidents: list[SimilarIncident] = Field(
        default=[],
        description=(
            "up to 3 past postmortems close to a candidate's alert names, summaries and services "
            "(candidates only, in the list and the group's own GET)"
        ),
    )


class GroupList(BaseModel):
    items: list[GroupView]


class IncidentAlerts(BaseModel):
    """The alerts of the groups declared as or attached to one incident, counted.

    `all_resolved` says every one has resolved; the copilot never resolves the incident for it
    (people validate recovery and decide)."""

    incident_id: str
    groups: list[int] = Field(description="ids of the alert groups linked to the incident")
    alerts: int
    firing: int
    resolved: int
    all_resolved: bool = Field(description="at least one alert, and every one has resolved")
    last_resolved_at: datetime | None = Field(
        None, description="when the last of them resolved (its endsAt), set when all_resolved"
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class DeclareRequest(_Request):
    title: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    severity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = (
        Field(None, description="default: the group's suggested severity")
    )
    author: Person | None = None


class AttachRequest(_Request):
    incident_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    author: Person | None = None


class ReopenRequest(_Request):
    status: Literal["mobilized", "mitigating"] = Field(
        "mitigating", description="the status the incident reopens to"
    )
    author: Person | None = None


class DismissRequest(_Request):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    author: Person | None = None
