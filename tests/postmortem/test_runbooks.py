"""The runbook check: is what the responders did a step some runbook already has?"""

from __future__ import annotations

import pytest

from copilot.knowledge.store import KnowledgeBase
from copilot.postmortem import runbooks

POOL = "runbooks/orders-db-connection-pool-exhausted.md"


@pytest.mark.parametrize(
    ("action", "source"),
    [
        ("Capped HPA maxReplicas at 12 to shed excess client connections", POOL),
        ("Terminated transactions idle in transaction for more than 2 minutes", POOL),
        ("Paused Argo CD auto-sync for platform-coredns and reverted the Corefile", None),
        ("Flushed rv:* keys in batches with lark cache flush", None),
    ],
)
def test_steps_a_runbook_has_are_covered(
    sample_kb: KnowledgeBase, action: str, source: str | None
) -> None:
    found = runbooks.check_action(sample_kb, 1, action, [])
    assert found.covered, (found.similarity, found.overlap, found.closest)
    assert found.closest is not None
    if source:
        assert found.closest.source == source and found.closest.section == "Mitigation"


@pytest.mark.parametrize(
    "action",
    [
        "Put checkout behind the maintenance page for web and app",
        "Rebooted the office wifi router",
        "Moved the warehouse printers to the backup print server",
    ],
)
def test_steps_no_runbook_has_are_not_covered(sample_kb: KnowledgeBase, action: str) -> None:
    assert not runbooks.check_action(sample_kb, 1, action, []).covered


def test_runbooks_in_play_come_from_copilot_citations_and_the_timeline(
    sample_kb: KnowledgeBase,
) -> None:
    named = runbooks.runbooks_named(
        sample_kb,
        ["Followed the vault sealed runbook", "nothing else"],
        [
            [
                "postmortems/2026-02-03-checkout-outage-pgbouncer-pool-exhaustion.md:1-9",
                f"{POOL}:53-75",
                "runbooks/deploy-rollback.md:1-9",
            ]
        ],
    )
    assert [(b.source, b.why, b.top) for b in named] == [
        (POOL, "cited by the copilot", True),
        ("runbooks/deploy-rollback.md", "cited by the copilot", False),
        ("runbooks/vault-sealed.md", "named on the timeline", False),
    ]
    assert named[0].refs == [f"{POOL}:53-75"]


def test_a_step_recorded_as_useless_is_a_change_to_that_step(sample_kb: KnowledgeBase) -> None:
    updates = runbooks.suggest(
        sample_kb,
        actions=[(7, "10:00", "Paused the orders-archiver CronJob, no effect")],
        texts=["Paused the orders-archiver CronJob, no effect"],
        audit_sources=[[f"{POOL}:53-75"]],
        incident_query="orders pool saturated",
        services=["orders-db"],
    )
    change = next(u for u in updates if u.action == "change_step")
    assert (change.runbook, change.section, change.event_id) == (POOL, "Mitigation", 7)
    assert change.text.startswith("**Change this step** in Orders DB connection pool exhausted")


def test_stem() -> None:
    assert runbooks.stem("capped") == runbooks.stem("cap") == "cap"
    assert runbooks.stem("restarted") == runbooks.stem("restarts") == "restart"
    assert runbooks.stem("excess") == "excess"
    assert runbooks.words("[REDACTED:phone] called") == {"call"}
