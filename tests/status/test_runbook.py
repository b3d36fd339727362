"""Internal drafts point responders at the best-matching runbook when the knowledge base is up."""

from __future__ import annotations

import pytest

from copilot.incidents import schemas as isch
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.status import service
from copilot.status.config import StatusConfig


# Slow alone (it ingests the sample knowledge base); free in a full run, which shares it.
@pytest.mark.slow
def test_an_internal_draft_names_the_runbook(
    store: IncidentStore, sample_kb: KnowledgeBase
) -> None:
    incident = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="Orders DB connection pool exhausted, checkout failing",
            severity="SEV1",
            services=["orders-db", "checkout-api"],
        ),
    )
    config = StatusConfig.load()
    d = service.create_draft(
        store=store, config=config, incident_id=incident.id, audience="internal", kb=sample_kb
    )
    assert "- Runbook: " in d.body and "(runbooks/orders-db-connection-pool-exhausted.md)" in d.body
    assert not [f for f in d.guardrails.removed if f.check == "fact"]
    # Other audiences never carry it.
    public = service.create_draft(
        store=store, config=config, incident_id=incident.id, audience="public", kb=sample_kb
    )
    assert "runbook" not in public.body.lower()
