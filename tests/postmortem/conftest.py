"""Postmortem fixtures: a real SQLite incident store with a settable clock, a worked incident
(a checkout outage like the sample postmortem, with an earlier one on the same service), and the
app over HTTP with the sample knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents import schemas as isch
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=6))


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(settings.sqlalchemy_url, clock=clock) as opened:
        yield opened


@dataclass
class Worked:
    """The worked incident's id and the ids of the events the tests look at."""

    id: str
    earlier: str
    alert: int
    batch_jobs: int
    hypothesis: int
    correction: int
    rollback: int
    hpa: int
    vendor_call: int
    maintenance: int
    blame_note: int
    follow_up: int


def worked_incident(store: IncidentStore) -> Worked:
    earlier = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="Checkout latency high",
            severity="SEV3",
            services=["checkout-api"],
            declared_at=datetime(2026, 2, 10, 9, 0, tzinfo=UTC),
        ),
    )
    incident = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="Checkout submits failing: orders pool saturated",
            severity="SEV1",
            summary=(
                "Most checkout submits failed after an orders-service release held database "
                "transactions open across a fraud-scorer call. Dana forgot to check the canary "
                "at peak traffic."
            ),
            services=["checkout-api", "orders-service", "orders-db"],
            tags=["pgbouncer", "deploy"],
            customer_impact="63% of checkout submits failed; about 4,100 customers affected.",
            started_at=at(12),
            detected_at=at(14),
            declared_at=at(19),
            roles=isch.RolesPatch(incident_commander="Dana", responders=["Lee"]),
            author="Dana",
        ),
    )

    def event(kind: str, minutes: float, text: str, **extra: object) -> int:
        created = incidents.add_event(
            store=store,
            incident_id=incident.id,
            event=isch.EventCreate.model_validate(
                {"kind": kind, "text": text, "at": at(minutes), **extra}
            ),
        )
        return created.id

    alert = event("alert", 14, "OrdersDbPoolSaturated and CheckoutErrorRateHigh paged team-orders")
    batch = event("action", 24, "Suspended the batch jobs, no effect", author="Lee")
    hypothesis = event(
        "hypothesis",
        26,
        "78 of 80 server connections idle in transaction, likely caused by the afternoon "
        "orders-service release",
    )
    event("status_update", 30, "Checkout failing for most customers", audience="public")
    event("decision", 31, "IC approves a deploy rollback of orders-service and a deploy freeze")
    rollback = event("action", 33, "lark deploy rollback orders-service --to previous")
    event("mitigation", 44, "Terminated transactions idle in transaction for more than 2 minutes")
    hpa = event("action", 47, "Capped HPA maxReplicas at 12 to shed excess client connections")
    vendor = event(
        "action",
        48,
        "Phoned the fraud-scorer vendor on +44 20 7946 0958 to escalate their p99 latency",
    )
    maintenance = event("action", 49, "Put checkout behind the maintenance page for web and app")
    blame = event("note", 50, "Lee should have rolled back sooner")
    correction = event(
        "correction",
        52,
        "Confirmed: the release moved the fraud-scorer call inside the order transaction",
        corrects=hypothesis,
    )
    follow_up = event(
        "note",
        60,
        "Follow-up: alert on idle in transaction connections, owner: @team-data by 2026-03-20",
    )
    for status, minutes in (("monitoring", 53), ("resolved", 70)):
        incidents.update_incident(
            store=store,
            incident_id=incident.id,
            patch=isch.IncidentPatch.model_validate({"status": status, "at": at(minutes)}),
        )
    return Worked(
        id=incident.id,
        earlier=earlier.id,
        alert=alert,
        batch_jobs=batch,
        hypothesis=hypothesis,
        correction=correction,
        rollback=rollback,
        hpa=hpa,
        vendor_call=vendor,
        maintenance=maintenance,
        blame_note=blame,
        follow_up=follow_up,
    )


@pytest.fixture
def worked(store: IncidentStore) -> Worked:
    return worked_incident(store)


@pytest.fixture
def client(
    settings: Settings, store: IncidentStore, sample_kb: KnowledgeBase
) -> Iterator[TestClient]:
    app = create_app(settings, kb=sample_kb, incident_store=store)
    with TestClient(app) as test_client:
        yield test_client
