"""Status-update fixtures: a real SQLite incident store in tmp_path, a settable clock, the app
over HTTP, a worked incident, and a scripted chat model (LangChain's fake; never the network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.llm.base import ChatModel, LangChainChat
from copilot.settings import Settings
from tests.incidents.conftest import T0, Clock, at


class ScriptedChat(GenericFakeChatModel):
    """Each call takes the next reply and raises when none is left; prompts are kept."""

    seen: list[list[BaseMessage]] = []  # noqa: RUF012 - pydantic field default

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(messages)
        return super()._generate(messages, *args, **kwargs)


def scripted(*replies: str) -> tuple[LangChainChat, ScriptedChat]:
    model = ScriptedChat(messages=iter([AIMessage(content=r) for r in replies]), seen=[])
    return LangChainChat(model, name="fake:scripted", timeout_s=10.0), model


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(minutes=60))


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(settings.sqlalchemy_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def make_client(
    settings: Settings, store: IncidentStore
) -> Iterator[Callable[[ChatModel | None], TestClient]]:
    opened: list[TestClient] = []

    def _make(chat: ChatModel | None = None) -> TestClient:
        app = create_app(settings, incident_store=store, load_knowledge=False, chat=chat)
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield _make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[[ChatModel | None], TestClient]) -> TestClient:
    return make_client(None)


# A SEV2 on checkout: impact from T0, detected T0+5, declared T0+10 with an IC; a responder's
# hypothesis naming a host and an IP, an action, an impact note with a ticket and a vendor.
INCIDENT: dict[str, Any] = {
    "title": "checkout-api returns 502 after deploy 4411",
    "severity": "SEV2",
    "services": ["checkout-api", "payments-gateway", "orders-db"],
    "customer_impact": (
        "Payments are failing for about 30% of customers in Europe; checkout-api pods on "
        "prod-eu-1 are crash-looping. Revenue loss is about £12k an hour."
    ),
    "started_at": at(0),
    "detected_at": at(5),
    "declared_at": at(10),
    "roles": {"incident_commander": "Priya Raman", "responders": ["Tomasz Wolny"]},
    "author": "Priya Raman",
}
EVENTS: list[dict[str, Any]] = [
    {
        "kind": "hypothesis",
        "text": "Deploy 4411 exhausted the PgBouncer pool on orders-db-0 (10.20.3.4)",
        "author": "Tomasz Wolny",
        "at": at(20),
    },
    {
        "kind": "action",
        "text": "Rolled back checkout-api to v4410 with argocd",
        "author": "Tomasz Wolny",
        "at": at(25),
    },
    {
        "kind": "impact",
        "text": "EU checkout conversion down 30%; JIRA-881 opened with the PSP",
        "author": "Dana Okafor",
        "at": at(30),
    },
    {
        "kind": "note",
        "text": "ETA 10:30 UTC if the rollback holds; need approval to fail over orders-db",
        "author": "Priya Raman",
        "at": at(35),
    },
]


@pytest.fixture
def incident(client: TestClient) -> dict[str, Any]:
    """The worked incident, declared and logged through the API; returns it as served."""
    response = client.post("/v1/incidents", json=INCIDENT)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    for event in EVENTS:
        r = client.post(f"/v1/incidents/{body['id']}/events", json=event)
        assert r.status_code == 201, r.text
    return body


def move(client: TestClient, incident_id: str, status: str, minutes: float) -> None:
    r = client.patch(f"/v1/incidents/{incident_id}", json={"status": status, "at": at(minutes)})
    assert r.status_code == 200, r.text


def draft(client: TestClient, incident_id: str, audience: str) -> dict[str, Any]:
    r = client.post(f"/v1/incidents/{incident_id}/status-updates", json={"audience": audience})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result
