"""What a responder reads (issue 12): the section shown, every step, nothing done twice, what
fixed it last time, and no false alarms. Real model, real store, the shipped knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from copilot.assist import service, steps
from copilot.knowledge import retrieval
from copilot.knowledge.schemas import SearchResponse
from copilot.knowledge.sections import is_boilerplate, section_role
from copilot.knowledge.store import KnowledgeBase


@pytest.mark.parametrize(
    ("query", "source", "useful"),
    [
        ("pods keep restarting after deploy", "runbooks/kubernetes-pod-crashloop.md", "Diagnosis"),
        ("disk full on database node", "runbooks/node-disk-pressure.md", "Diagnosis"),
        ("kafka consumers stuck", "runbooks/kafka-consumer-lag-orderstream.md", "Diagnosis"),
        (
            "how do I fix redis carts memory",
            "runbooks/redis-carts-memory-pressure.md",
            "Mitigation",
        ),
    ],
)
def test_the_section_shown_first_is_a_useful_one(
    sample_kb: KnowledgeBase, query: str, source: str, useful: str
) -> None:
    first = retrieval.search(kb=sample_kb, query=query, top_k=3)[0]
    assert first.chunk.source == source
    assert first.chunk.section.split(" > ")[-1] == useful


@pytest.mark.parametrize(
    "query",
    [
        "api gateway returning lots of 502s",
        "cdn slow for users in europe",
        "logins failing for everyone",
        "search cluster went red",
        "orders db connection pool exhausted",
    ],
)
def test_a_symptom_is_shown_what_to_check_or_do_not_its_restatement(
    sample_kb: KnowledgeBase, query: str
) -> None:
    # Each of these matched its runbook's Meaning or Impact best, and showed it first: the
    # symptom the responder had just typed, said back.
    first = retrieval.search(kb=sample_kb, query=query, top_k=3)[0]
    assert section_role(first.chunk.section) in ("diagnose", "mitigate"), first.chunk.section


@pytest.mark.parametrize(
    ("query", "source", "shown"),
    [
        ("what does the checkout error rate alert mean", "checkout-error-rate-high.md", "Meaning"),
        (
            "how bad is it when kafka consumer lag grows",
            "kafka-consumer-lag-orderstream.md",
            "Impact",
        ),
    ],
)
def test_asking_what_an_alert_means_or_how_bad_it_is_shows_its_meaning(
    sample_kb: KnowledgeBase, query: str, source: str, shown: str
) -> None:
    first = retrieval.search(kb=sample_kb, query=query, top_k=3)[0]
    assert first.chunk.source == f"runbooks/{source}"
    assert first.chunk.section == shown


def test_link_lists_and_what_went_well_never_lead(sample_kb: KnowledgeBase) -> None:
    for query in ("latency spike in checkout", "dns broke everything", "kafka consumers stuck"):
        hits = retrieval.search(kb=sample_kb, query=query, top_k=5)
        leads = {}
        for hit in hits:
            leads.setdefault(hit.chunk.source, hit.chunk.section)
        assert not any(is_boilerplate(section) for section in leads.values()), (query, leads)
    # Unless asked for.
    asked = retrieval.search(kb=sample_kb, query="what went well in the dns outage", top_k=1)
    assert asked[0].chunk.section == "What went well"


def _all_step_text(answer: object) -> str:
    steps = answer.steps  # type: ignore[attr-defined]
    return "\n".join(f"{s.text}\n{s.command or ''}" for s in steps)


def test_sub_items_are_folded_and_no_step_is_lost_by_position(sample_kb: KnowledgeBase) -> None:
    answer = service.ask(kb=sample_kb, question="pods keep restarting after deploy")
    shown = _all_step_text(answer)
    # Steps 3 and 4 of the diagnosis, lost to a cap by position before.
    assert "--previous" in shown
    assert "argocd app diff" in shown or "rollout history" in shown
    # Sub-bullets are part of their parent step, not steps of their own.
    assert not any(s.text.startswith("`Reason:") for s in answer.steps)
    assert any("OOMKilled" in s.text and "describe pod" in (s.command or "") for s in answer.steps)


def test_tls_answer_keeps_the_checks_and_drops_empty_intros(sample_kb: KnowledgeBase) -> None:
    answer = service.ask(kb=sample_kb, question="tls certificate expiring on the api")
    shown = _all_step_text(answer)
    assert "cert-manager" in shown and "openssl s_client" in shown
    assert not any(s.text.strip() == "Common failure messages:" for s in answer.steps)


@dataclass
class _Incident:
    id: str = "INC-1"
    title: str = "Checkout pods crashlooping after deploy"
    severity: str = "SEV2"
    severity_name: str = "Major"
    status: str = "mitigating"
    services: tuple[str, ...] = ("checkout-api",)
    summary: str = ""
    customer_impact: str = ""


@dataclass
class _Event:
    kind: str
    text: str
    at: datetime = datetime(2026, 11, 30, 10, 42, tzinfo=UTC)
    data: dict[str, object] | None = None
    actor: str = "alice"


def test_a_rollback_on_the_timeline_is_not_suggested_again(sample_kb: KnowledgeBase) -> None:
    question = "pods keep restarting after deploy"
    before = service.ask(kb=sample_kb, question=question)
    assert any("roll back" in s.text.lower() for s in before.steps)
    after = service.ask(
        kb=sample_kb,
        question=question,
        incident=_Incident(),
        events=[_Event("action", "Rolled back checkout-api to the previous release")],
    )
    assert not any("roll back" in s.text.lower() for s in after.steps)
    assert any("roll back" in d.text.lower() for d in after.done)
    assert all("Rolled back checkout-api" in d.done_by for d in after.done)


def test_a_freeze_said_in_the_past_tense_is_done_and_lifting_it_is_not(
    sample_kb: KnowledgeBase,
) -> None:
    question = "bad release of checkout-api, how do i roll it back"
    before = service.ask(kb=sample_kb, question=question)
    freeze = [s for s in before.steps if s.command and "deploy freeze" in s.command]
    assert freeze
    after = service.ask(
        kb=sample_kb,
        question=question,
        incident=_Incident(),
        events=[_Event("mitigation", "Froze deploys and rolled back checkout-api")],
    )
    assert not any(s.command and "deploy freeze" in s.command for s in after.steps)
    assert any(d.text == freeze[0].text for d in after.done), (
        [d.text for d in after.done],
        freeze[0].text,
    )
    # "`lark deploy unfreeze`" is what comes after, not what was done.
    assert not any("unfreeze" in d.text for d in after.done)


def test_a_limit_raised_on_the_timeline_is_done_and_another_limit_is_not(
    sample_kb: KnowledgeBase,
) -> None:
    question = "customers say their basket is empty when they come back, carts redis evicting?"
    before = service.ask(kb=sample_kb, question=question)
    raise_step = [s for s in before.steps if "raise `maxmemory`" in s.text]
    assert raise_step
    incident = _Incident(title="Baskets empty", services=("cart-service",))
    after = service.ask(
        kb=sample_kb,
        question=question,
        incident=incident,
        events=[_Event("mitigation", "Raised maxmemory on carts redis to 12gb")],
    )
    assert not any("raise `maxmemory`" in s.text for s in after.steps)
    done = [d for d in after.done if d.text == raise_step[0].text]
    assert done and "Raised maxmemory" in done[0].done_by
    # Raising some other limit is not this step.
    other = service.ask(
        kb=sample_kb,
        question=question,
        incident=incident,
        events=[_Event("mitigation", "Increased the PVC size for prometheus")],
    )
    assert any("raise `maxmemory`" in s.text for s in other.steps)


def test_a_setting_changed_on_the_timeline_is_done_and_a_check_of_it_is_not(
    sample_kb: KnowledgeBase,
) -> None:
    # Found as a new user: with "Switched redis-carts maxmemory-policy to noeviction" logged as a
    # mitigation, ask still suggested `CONFIG SET maxmemory-policy noeviction`.
    question = "baskets are getting emptied"
    incident = _Incident(title="Baskets empty", services=("cart-service",))
    before = service.ask(kb=sample_kb, question=question, incident=incident, events=[])
    switch = [s for s in before.steps if s.command and "maxmemory-policy noeviction" in s.command]
    assert switch
    entry = "Switched redis-carts maxmemory-policy to noeviction"
    after = service.ask(
        kb=sample_kb,
        question=question,
        incident=incident,
        events=[_Event("mitigation", entry)],
    )
    assert not any(s.command and "maxmemory-policy noeviction" in s.command for s in after.steps)
    assert [d.done_by for d in after.done if d.text == switch[0].text] == [
        f"10:42Z mitigation: {entry}"
    ]
    # Another value, or a check of the setting, is not the step done.
    for other in (
        "Switched redis-carts maxmemory-policy to allkeys-lru",
        "Checked maxmemory-policy is noeviction on every shard",
    ):
        kept = service.ask(
            kb=sample_kb, question=question, incident=incident, events=[_Event("action", other)]
        )
        assert any(s.command and "maxmemory-policy noeviction" in s.command for s in kept.steps)


def test_a_check_of_what_was_done_is_not_left_out_as_done(sample_kb: KnowledgeBase) -> None:
    # Found as a new user: with "Restarted the indexer consumer" on the timeline, ask left out
    # "Check the consumer pods are running and not restarting" as done: a check names the
    # action it looks for, and "not restarting" is no order to restart.
    question = "search shows old prices and new products missing, indexer lagging. what now"
    incident = _Incident(title="Search results stale", services=("search-indexer",))
    answer = service.ask(
        kb=sample_kb,
        question=question,
        incident=incident,
        events=[_Event("action", "Restarted the indexer consumer")],
    )
    assert any(s.text.startswith("Check the consumer pods are running") for s in answer.steps)
    assert not any("consumer pods are running" in d.text for d in answer.done)


def test_a_rollback_of_another_service_does_not_hide_this_one(sample_kb: KnowledgeBase) -> None:
    answer = service.ask(
        kb=sample_kb,
        question="orders-service pool timeout, pgbouncer waiting clients climbing",
        incident=_Incident(title="PgBouncer pool exhausted", services=("orders-service",)),
        events=[_Event("action", "Rolled back search-indexer")],
    )
    assert any("orders-service" in s.text and "Roll back" in s.text for s in answer.steps)


def test_similar_incidents_say_what_fixed_it_in_whole_sentences(sample_kb: KnowledgeBase) -> None:
    answer = service.ask(kb=sample_kb, question="checkout down, pgbouncer pool exhausted")
    sources = [s.source for s in answer.similar_incidents]
    assert len(sources) == len(set(sources))  # one entry per postmortem
    pool = next(s for s in answer.similar_incidents if "pgbouncer" in s.source)
    assert pool.what_fixed_it.startswith("Rolling back the release")
    assert pool.what_fixed_it.endswith(".") and pool.fixed_lines is not None
    for similar in answer.similar_incidents:
        assert similar.what_fixed_it.count(similar.what_fixed_it[:40]) == 1


def test_no_past_incident_is_shown_for_a_failure_no_postmortem_is_about(
    sample_kb: KnowledgeBase,
) -> None:
    # No postmortem is about card payments timing out at the PSP: the checkout pool, overselling
    # and DNS outages used to be listed as "similar" (they share words like checkout and 504).
    psp = service.ask(
        kb=sample_kb, question="card payments timing out at the psp, 504s from the provider"
    )
    assert psp.steps and "payments-psp-timeouts" in psp.citations[0].source
    assert psp.similar_incidents == []
    # A past incident that is about it is still shown, alone.
    pool = service.ask(kb=sample_kb, question="checkout down, pgbouncer pool exhausted")
    assert [s.source for s in pool.similar_incidents] == [
        "postmortems/2026-02-03-checkout-outage-pgbouncer-pool-exhaustion.md"
    ]


def test_have_we_seen_this_before_says_so_when_no_past_incident_matches(
    sample_kb: KnowledgeBase,
) -> None:
    answer = service.ask(
        kb=sample_kb,
        question="have we seen this before? product images missing, 403 from the bucket",
    )
    assert answer.similar_incidents == [] and answer.steps
    assert answer.answer.startswith(service.NO_PAST_INCIDENT + " Closest runbook: ")
    assert "object-store-product-images-missing" in answer.answer
    # "before" in passing is not a question about history: nothing is said about past incidents.
    passing = service.ask(
        kb=sample_kb, question="what should I check before failing over the orders db primary?"
    )
    assert passing.steps and passing.answer.startswith("Closest runbook: ")


@pytest.mark.parametrize(
    "question",
    [
        "pods keep restarting after deploy",
        "tls certificate expiring on the api",
        "orders db replication lag growing",
        "customers say their basket went empty",
    ],
)
def test_a_normal_answer_reports_nothing_blocked(sample_kb: KnowledgeBase, question: str) -> None:
    answer = service.ask(kb=sample_kb, question=question)
    assert not answer.abstained and answer.steps
    assert answer.guardrails.blocked == []


def test_off_topic_search_says_no_match_and_scores_lie_in_0_1(sample_kb: KnowledgeBase) -> None:
    floor = sample_kb.settings.abstain_below
    off = SearchResponse.build(
        "how do I make coffee",
        retrieval.search(kb=sample_kb, query="how do I make coffee", top_k=5),
        floor=floor,
    )
    assert off.no_match and off.results
    on = SearchResponse.build(
        "pgbouncer too many clients",
        retrieval.search(kb=sample_kb, query="pgbouncer too many clients", top_k=5),
        floor=floor,
    )
    assert not on.no_match
    for result in off.results + on.results:
        assert 0.0 <= result.score <= 1.0
    assert max(r.score for r in off.results) < min(r.score for r in on.results[:1])
    assert [r.score for r in on.results] == sorted((r.score for r in on.results), reverse=True)


def test_have_we_seen_this_before_is_answered_first_with_the_past_incidents(
    sample_kb: KnowledgeBase,
) -> None:
    answer = service.ask(kb=sample_kb, question="did we ever lose customer baskets before?")
    assert answer.similar_incidents and not answer.abstained
    carts = answer.similar_incidents[0]
    assert "carts-emptied" in carts.source
    # The first sentence names the past incidents and what fixed the closest one; the
    # runbook's steps follow, and nothing is reported blocked.
    lead, _, rest = answer.answer.partition(" Closest runbook: ")
    assert lead.startswith("Past incidents like this: ") and carts.source in lead
    assert carts.what_fixed_it in lead
    assert rest and answer.steps and answer.guardrails.blocked == []
    # A question about what to do now is not answered with history first.
    now = service.ask(kb=sample_kb, question="customers say their basket went empty")
    assert now.answer.startswith("Closest runbook: ")


def test_a_step_that_forbids_a_command_is_a_caution_with_nothing_to_copy_or_approve(
    sample_kb: KnowledgeBase,
) -> None:
    # Found as a new user on the war-room page: "Never run `FLUSHALL` or `lark cache flush
    # redis-carts` without a pattern" was step 9, with `lark cache flush redis-carts` in a code
    # block under it (the command the runbook forbids, ready to copy), marked "Requires
    # approval" (approval to not run it?).
    answer = service.ask(
        kb=sample_kb,
        question="baskets are getting emptied",
        incident=_Incident(title="Baskets empty", services=("cart-service",)),
        events=[],
    )
    never = [s for s in answer.steps if s.text.startswith("Never run")]
    assert never and never[0].command is None
    assert "`lark cache flush redis-carts`" in never[0].text  # the warning is still read
    assert never[0].caution
    assert not never[0].requires_approval and never[0].approval_reason is None
    assert [s for s in answer.steps if s.caution] == never  # the steps to take are not cautions
    assert "caution(s) from the runbook" in answer.answer
    # The steps that order a command keep it.
    assert any(
        s.command and "CONFIG SET maxmemory-policy noeviction" in s.command for s in answer.steps
    )


@pytest.mark.parametrize(
    ("text", "caution"),
    [
        ("Never run `FLUSHALL` on a shared Redis.", True),
        ("**Do not** delete the PVCs of the StatefulSet.", True),
        ("don't restart every broker at once", True),
        ("You must not scale below three replicas.", False),  # not how it opens
        ("Never mind the dashboard; run `kubectl get pods`.", False),
        ("Do not hesitate to page the database team.", False),
        ("Roll back the deploy.", False),
    ],
)
def test_which_steps_are_cautions(text: str, caution: bool) -> None:
    assert steps.forbids(text) is caution


def test_errors_since_a_deploy_get_the_rollback_whichever_runbook_leads(
    sample_kb: KnowledgeBase,
) -> None:
    # "500s" now meets the checkout runbook's "5xx", which puts it level with the deploy
    # runbook (it leads by its Mitigation, whose first case is "Bad deploy ...: roll it back
    # first"). What the responder reads must still hold the deploy runbook's freeze and rollback.
    query = "checkout throwing 500s since the last deploy"
    hits = retrieval.search(kb=sample_kb, query=query, kind="runbook", top_k=5)
    assert {h.chunk.source for h in hits[:2]} == {
        "runbooks/deploy-rollback.md",
        "runbooks/checkout-error-rate-high.md",
    }
    commands = [step.command or "" for step in service.ask(kb=sample_kb, question=query).steps]
    assert any(c.startswith("lark deploy freeze") for c in commands)
    assert any(c.startswith("lark deploy rollback checkout-api") for c in commands)
