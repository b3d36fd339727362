"""The insights report (`GET /v1/insights`, `copilot insights --format json`).

Every figure carries its sample size (`n`, or `count` for plain counts) beside it.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from copilot.guardrails.screened import ScreenedStr


class Period(BaseModel):
    since: datetime
    until: datetime
    severity: list[str]
    service: list[str]
    team: str | None = None


class Count(BaseModel):
    name: str
    count: int


class WeekCount(BaseModel):
    week: date = Field(description="the Monday the week starts on (UTC)")
    count: int
    by_severity: dict[str, int]


class IncidentFigures(BaseModel):
    count: int
    by_week: list[WeekCount]
    by_severity: dict[str, int]
    by_service: list[Count]
    imported: int = Field(description="of `count`, incidents brought in from postmortems")


class Bin(BaseModel):
    label: str
    lower_s: float
    upper_s: float | None
    count: int


class Distribution(BaseModel):
    n: int
    median_s: float | None
    p90_s: float | None
    mean_s: float | None = Field(description="shown for comparison only: see `note`")
    min_s: float | None
    max_s: float | None
    histogram: list[Bin]
    target_s: float | None = None
    within_target: float | None = Field(None, description="share of n within the target")


class Duration(Distribution):
    by_severity: dict[str, Distribution]


class Durations(BaseModel):
    note: ScreenedStr
    time_to_detect: Duration
    time_to_declare: Duration
    time_to_mitigate: Duration
    time_to_resolve: Duration


class Cadence(BaseModel):
    note: ScreenedStr
    intervals: int
    on_time: int
    share_on_time: float | None
    by_severity: dict[str, dict[str, float | int | None]]


class ClusterIncident(BaseModel):
    id: str
    title: ScreenedStr


class Cluster(BaseModel):
    label: ScreenedStr
    terms: list[ScreenedStr]
    size: int
    incidents: list[ClusterIncident]


class Clusters(BaseModel):
    method: str
    n: int
    singletons: int


class RepeatOffender(BaseModel):
    service: str
    count: int
    incidents: list[str]


class TeamFollowUps(BaseModel):
    team: str
    n: int
    done: int
    wont_do: int
    completion_rate: float | None


class FollowUpFigures(BaseModel):
    n: int
    created: int
    open: int
    in_progress: int
    done: int
    wont_do: int
    overdue: int
    completion_rate: float | None = Field(description="done / (n - wont_do)")
    by_team: list[TeamFollowUps]
    open_age_days: dict[str, float | int | None]


class LoadRow(BaseModel):
    role: str
    people: int
    hours: dict[str, float]


class Load(BaseModel):
    note: ScreenedStr
    timezone: str
    buckets: list[str]
    events: dict[str, int]
    roles: list[LoadRow]


class RunbookCount(BaseModel):
    source: str
    citations: int


class GapStep(BaseModel):
    incident_id: str
    text: ScreenedStr
    closest: ScreenedStr | None = Field(description="the most alike runbook section (not it)")
    similarity: float | None


class StepGaps(BaseModel):
    note: ScreenedStr
    n: int = Field(description="steps checked: the period's latest action and mitigation entries")
    entries: int = Field(description="action and mitigation entries in the period (n <= entries)")
    gaps: int = Field(description="of n, steps no runbook section has")
    share: float | None
    steps: list[GapStep] = Field(description="the latest gaps, at most 10")


class CitedRunbook(BaseModel):
    source: str
    cited_in: int = Field(description="ended incidents that cited it")
    not_mitigating: int = Field(description="of those, incidents no step of it helped end")
    incidents: list[str]


class CitedNotMitigating(BaseModel):
    note: ScreenedStr
    n: int = Field(description="(ended incident, runbook cited in it) pairs")
    incidents: int = Field(description="ended incidents that cited a runbook")
    not_mitigating: int = Field(description="of n, pairs where no step of the runbook helped")
    share: float | None
    runbooks: list[CitedRunbook] = Field(description="runbooks with such incidents, at most 10")


class KnowledgeFigures(BaseModel):
    outputs: int = Field(description="answers, drafts and updates in the audit log in the period")
    most_cited: list[RunbookCount]
    never_cited: list[str] | None = Field(
        None, description="runbooks in the knowledge base never cited (None: base not loaded)"
    )
    cited_not_mitigating: CitedNotMitigating | None = Field(
        None, description="runbooks cited in incidents that ended without help from them"
    )
    steps_no_runbook_has: StepGaps | None = Field(
        None, description="steps done in incidents that no runbook has (None: base not loaded)"
    )


class Insights(BaseModel):
    period: Period
    incidents: IncidentFigures
    durations: Durations
    cadence: Cadence
    clusters: list[Cluster]
    clustering: Clusters
    repeat_offenders: list[RepeatOffender]
    follow_ups: FollowUpFigures
    load: Load
    knowledge: KnowledgeFigures
