"""Near-twin runbooks: the answer says they are twins, shows the line that tells them apart and
leads with the one the question's own words favour."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.assist import service
from copilot.embedding import Embedder
from copilot.knowledge import retrieval, twins
from copilot.knowledge.models import Chunk
from copilot.knowledge.schemas import SearchResponse
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import write
from tests.knowledge.conftest import a_section, documents_kb

TWIN = """---
title: Kiln Controller Disk {Which} Filling Up
kind: runbook
services: [kiln-controller]
tags: [disk, kiln]
---
# Kiln Controller Disk {Which} Filling Up

## Meaning

The kiln controller's data disk is predicted to run out of {what} within four hours.
{Extra}

## Impact

When the data disk of a kiln controller is full, firing logs stop and the controller refuses
new firing programs until space is freed.

## Diagnosis

- Check the alert's `mountpoint` label on the kiln controller.
- Run `df {flag} /var/lib/kiln` on the controller to see the usage.

## Mitigation

- Remove old firing logs under `/var/lib/kiln/logs`.
- Increase the size of the data volume if the disk is always close to full.
"""

OTHER = """---
title: Glaze Mixer Jammed
kind: runbook
services: [glaze-mixer]
tags: [mixer]
---
# Glaze Mixer Jammed

## Meaning

The glaze mixer motor stalls and the batch does not finish.

## Diagnosis

- Check the motor current on the mixer panel.

## Mitigation

- Stop the mixer, clear the paddle and restart the batch.
"""


@pytest.fixture(scope="module")
def twins_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {
        "kiln-disk-space.md": TWIN.format(
            Which="Space",
            what="bytes of storage space",
            Extra="It measures free bytes, not files.",
            flag="-h",
        ),
        "kiln-disk-files.md": TWIN.format(
            Which="Files",
            what="inodes rather than bytes",
            Extra="Millions of tiny firing-log files use up the inodes first.",
            flag="-i",
        ),
        "glaze-mixer.md": OTHER,
    }
    with documents_kb(tmp_path_factory, embedder, "twins", documents) as kb:
        yield kb


def _search(kb: KnowledgeBase, query: str) -> SearchResponse:
    found = retrieval.retrieve(kb=kb, query=query, top_k=5, kind="runbook")
    return SearchResponse.build(
        query, found.hits, floor=kb.settings.abstain_below, twins=found.twins
    )


def test_an_ambiguous_question_gets_the_notice_with_the_line_that_tells_them_apart(
    twins_kb: KnowledgeBase,
) -> None:
    question = "kiln controller disk filling up"
    response = _search(twins_kb, question)
    twins = response.near_twins
    assert twins is not None
    assert {twins.lead.source, twins.other.source} == {"kiln-disk-files.md", "kiln-disk-space.md"}
    assert response.results[0].source == twins.lead.source
    # The line of each comes from its own meaning: the one sentence its twin does not say.
    lines = {twins.lead.source: twins.lead.line, twins.other.source: twins.other.line}
    assert "inodes" in lines["kiln-disk-files.md"]
    assert "bytes" in lines["kiln-disk-space.md"]
    assert "Near twins" in twins.note and lines["kiln-disk-files.md"] in twins.note

    answer = service.ask(kb=twins_kb, question=question)
    assert answer.near_twins is not None
    assert answer.near_twins.lead.source == twins.lead.source
    assert "Near twins" in answer.answer


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("disk filling up, inodes used up by tiny log files", "kiln-disk-files.md"),
        ("disk filling up, no storage space left", "kiln-disk-space.md"),
    ],
)
def test_the_twin_the_question_names_leads_whatever_order_it_came_in(
    twins_kb: KnowledgeBase, question: str, lead: str
) -> None:
    for ranked in (
        ["kiln-disk-space.md", "kiln-disk-files.md"],
        ["kiln-disk-files.md", "kiln-disk-space.md"],
    ):
        found = twins.find(twins_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, question)
        assert found is not None
        assert found.lead.source == lead
        assert found.reordered == (ranked[0] != lead)
        assert found.lead.own_words  # the words that decided it, from the question


def test_twins_far_apart_in_score_or_unlike_documents_get_no_notice(
    twins_kb: KnowledgeBase,
) -> None:
    pair = ["kiln-disk-space.md", "kiln-disk-files.md"]
    assert twins.find(twins_kb, pair, {pair[0]: 1.0, pair[1]: 0.5}, "disk filling up") is None
    unlike = ["kiln-disk-space.md", "glaze-mixer.md"]
    assert twins.find(twins_kb, unlike, {unlike[0]: 1.0, unlike[1]: 1.0}, "disk") is None


def test_no_notice_when_the_best_match_has_no_twin(twins_kb: KnowledgeBase) -> None:
    response = _search(twins_kb, "glaze mixer motor stalled, batch stuck")
    assert response.results[0].source == "glaze-mixer.md"
    assert response.near_twins is None
    assert service.ask(kb=twins_kb, question="glaze mixer motor stalled").near_twins is None


def test_no_notice_on_an_off_topic_question(twins_kb: KnowledgeBase) -> None:
    response = _search(twins_kb, "how do I make coffee")
    assert response.no_match and response.near_twins is None


def test_document_vectors_are_kept_until_the_document_changes(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "docs"
    write(root, "glaze-mixer.md", OTHER)
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        first = kb.document_vectors(["glaze-mixer.md"])["glaze-mixer.md"]
        again = kb.document_vectors(["glaze-mixer.md"])["glaze-mixer.md"]
        assert again is first  # served from memory, not averaged again
        write(root, "glaze-mixer.md", TWIN.format(Which="Space", what="bytes", Extra="", flag="-h"))
        ingest_paths(kb, [root], progress=False)
        changed = kb.document_vectors(["glaze-mixer.md"])["glaze-mixer.md"]
        assert float(changed @ first) < 0.99  # the new text's vector, not the cached one
        assert kb.document_vectors(["no-such.md"]) == {}


def test_an_answer_between_twins_keeps_the_leads_steps_and_adds_the_twins(
    twins_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a cap of two steps, the lead's two best steps fill it; the twin's steps come on top
    # (half a cap more), each citing its own runbook, instead of being cut by the cap.
    monkeypatch.setattr(twins_kb.settings, "max_steps", 2)
    question = "kiln controller disk filling up"
    answer = service.ask(kb=twins_kb, question=question)
    assert answer.near_twins is not None
    lead, other = answer.near_twins.lead.source, answer.near_twins.other.source
    by_source = [{c.source for c in step.citations} for step in answer.steps]
    assert sum(lead in s for s in by_source) == 2
    assert sum(other in s for s in by_source) == 1
    assert len(answer.steps) == 3
    assert "Steps of both are listed" in answer.answer

    # When the question's own words tell the two apart (here by four words; the pair is made
    # twins by lowering the score bar), the lead's steps are the answer.
    monkeypatch.setattr(twins, "TWIN_SCORE_RATIO", 0.5)
    named = service.ask(
        kb=twins_kb,
        question="kiln controller disk filling up, out of inodes, millions of tiny files",
    )
    assert named.near_twins is not None and named.near_twins.lead.source == "kiln-disk-files.md"
    assert len(named.steps) == 2
    assert all(c.source == "kiln-disk-files.md" for s in named.steps for c in s.citations)
    assert "Steps of both" not in named.answer

    # Without a twin, the cap is the cap.
    alone = service.ask(kb=twins_kb, question="glaze mixer motor stalled, batch stuck")
    assert alone.near_twins is None and len(alone.steps) <= 2
    assert "Steps of both" not in alone.answer


def test_the_twin_is_read_even_when_it_scores_below_the_second_document_bar(
    twins_kb: KnowledgeBase,
) -> None:
    hits = retrieval.search(kb=twins_kb, query="kiln controller disk filling up", top_k=5)
    first = hits[0]
    other = next(h for h in hits if h.chunk.source != first.chunk.source)
    low = [first, dataclasses.replace(other, score=first.score * 0.5)]
    assert {p.chunk.source for p in service._passages_for(twins_kb, low)} == {first.chunk.source}
    read = service._passages_for(twins_kb, low, twin=other.chunk.source)
    assert {p.chunk.source for p in read} == {first.chunk.source, other.chunk.source}


def test_a_meaning_of_one_short_sentence_is_still_the_line_shown() -> None:
    def meaning(source: str, text: str) -> Chunk:
        return a_section(f"{source}:1", source, text, section="Job > Meaning")

    failed = [meaning("failed.md", "Job failed complete.")]
    slow = [meaning("slow.md", "Job is taking more than 1h to complete.")]
    assert twins.telling_line(failed, slow)[0] == "Job failed complete."
    assert twins.telling_line(slow, failed)[0] == "Job is taking more than 1h to complete."


def test_the_line_shown_keeps_the_names_its_markup_marked() -> None:
    # Markup was replaced by spaces: "`orders-db-0`)" read "orders-db-0 )" and "`orders_ro`"
    # read "orders ro", a pool that does not exist.
    def meaning(source: str, text: str) -> Chunk:
        return a_section(f"{source}:1", source, text, section="Db > Meaning")

    lag = [
        meaning(
            "lag.md",
            "Reads go to the replicas (normally `db-1`) through the `orders_ro` pool, "
            "**never** the primary.",
        )
    ]
    down = [meaning("down.md", "The primary is down and writes fail.")]
    assert twins.telling_line(lag, down)[0] == (
        "Reads go to the replicas (normally db-1) through the orders_ro pool, never the primary."
    )


def test_a_close_call_between_unlike_runbooks_lists_the_seconds_first_steps(
    twins_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two runbooks that are not twins but score within CLOSE_CALL of each other: the retriever
    # cannot settle it, so the second one's best steps get room beyond the cap, citing it.
    monkeypatch.setattr(twins_kb.settings, "max_steps", 2)
    question = "glaze mixer motor stalled, batch stuck"
    found = retrieval.retrieve(kb=twins_kb, query=question, top_k=10, kind="runbook")
    assert found.twins is None
    firsts: dict[str, float] = {}
    for hit in found.hits:
        firsts.setdefault(hit.chunk.source, hit.score)
    (lead, lead_score), (second, second_score) = list(firsts.items())[:2]
    gap = lead_score - second_score

    monkeypatch.setattr(service, "CLOSE_CALL", gap + 1e-6)
    close = service.ask(kb=twins_kb, question=question)
    cited = [{c.source for c in step.citations} for step in close.steps]
    assert sum(lead in s for s in cited) == 2 and sum(second in s for s in cited) == 1
    title = twins_kb.document_chunks(second)[0].title
    assert f"{title} matches about as well" in close.answer

    monkeypatch.setattr(service, "CLOSE_CALL", gap - 1e-6)
    apart = service.ask(kb=twins_kb, question=question)
    assert all(c.source == lead for s in apart.steps for c in s.citations)
    assert len(apart.steps) == 2 and "matches about as well" not in apart.answer


SCOPED = """---
title: {title}
kind: runbook
services: [kiln-burner]
tags: [kiln]
---
# {title}

## Meaning

{meaning} The burners light the kilns of the firing floor.

## Impact

Firing programs wait while kiln burner pods are not ready, and batches queue up on the
controller.

## Diagnosis

- Check the burner pods: `kubectl -n kiln get pods -l app=kiln-burner`.
- Read the burner logs for ignition errors.

## Mitigation

- Restart the burner pods that are not ready.
- Page the kiln team if the burners do not come back.
"""


@pytest.fixture(scope="module")
def scoped_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {
        "low.md": SCOPED.format(
            title="KilnBurnerLowReadyCount",
            meaning="Fewer kiln burner pods than desired have been ready for ten minutes.",
        ),
        "none.md": SCOPED.format(
            title="NoReadyKilnBurner", meaning="No kiln burner pod has been ready for ten minutes."
        ),
        "leader.md": SCOPED.format(
            title="NoLeadingKilnBurner",
            meaning="No kiln burner pod has held the leader lease for ten minutes.",
        ),
    }
    with documents_kb(tmp_path_factory, embedder, "scoped", documents) as kb:
        yield kb


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("burner pods are running but not a single one is ready, what do i check", "none.md"),
        ("every burner pod on the floor is unready", "none.md"),
        ("only a couple of the burner pods are ready, the rest are not", "low.md"),
        ("burner pods running but not all of them are ready", "low.md"),
    ],
)
def test_the_twin_whose_title_names_the_scope_asked_leads(
    scoped_kb: KnowledgeBase, question: str, lead: str
) -> None:
    """ "Every", "not a single one", "only a couple" are stop words to the retriever; the
    titles of such twins say which is which (Low ... Count, No Ready ...)."""
    for ranked in (["low.md", "none.md"], ["none.md", "low.md"]):
        found = twins.find(scoped_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, question)
        assert found is not None
        assert found.lead.source == lead
        assert found.decided  # one runbook's steps, not both


def test_a_question_that_says_no_scope_leaves_scoped_twins_undecided(
    scoped_kb: KnowledgeBase,
) -> None:
    ranked = ["low.md", "none.md"]
    found = twins.find(scoped_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, "burner pods unready")
    assert found is not None and found.lead.source == "low.md" and not found.decided


def test_a_third_that_alone_names_the_scope_is_compared_in_second_place(
    scoped_kb: KnowledgeBase,
) -> None:
    """Families come in threes; the twin check compares two. "just one ... ready" is a part:
    of No Leading, No Ready and Low Ready Count, only the last names one."""
    question = "just one burner pod has been ready for the past hour, how do i check the other"
    ranked = ["leader.md", "none.md", "low.md"]
    scores = {"leader.md": 1.0, "none.md": 0.96, "low.md": 0.9}
    assert twins.bring_scoped_third(scoped_kb, ranked, scores, question)
    assert ranked == ["leader.md", "low.md", "none.md"]
    assert scores == {"leader.md": 1.0, "low.md": 0.96, "none.md": 0.9}  # scores keep places
    found = twins.find(scoped_kb, ranked, scores, question)
    assert found is not None and found.lead.source == "low.md"


@pytest.mark.parametrize(
    ("question", "scores"),
    [
        # Two of the three name "all": the scope does not tell them apart.
        ("not a single burner pod is ready", {"leader.md": 1.0, "low.md": 0.96, "none.md": 0.9}),
        # No scope said.
        ("burner pods unready", {"leader.md": 1.0, "none.md": 0.96, "low.md": 0.9}),
        # The third is far behind.
        ("just one burner pod is ready", {"leader.md": 1.0, "none.md": 0.96, "low.md": 0.5}),
    ],
)
def test_the_third_stays_where_the_scope_does_not_single_it_out(
    scoped_kb: KnowledgeBase, question: str, scores: dict[str, float]
) -> None:
    ranked = sorted(scores, key=lambda src: -scores[src])
    before = list(ranked)
    assert not twins.bring_scoped_third(scoped_kb, ranked, dict(scores), question)
    assert ranked == before


THRESHOLD = """---
title: {title}
kind: runbook
services: [kiln-controller]
tags: [kiln]
---
# {title}

## Meaning

The kiln chamber temperature has been above {limit} degrees for {minutes} minutes.

## Impact

Glazes run and the ware on the upper shelves may crack if the temperature keeps rising.

## Diagnosis

- Compare the two thermocouples with `kilnctl sensors`.

## Mitigation

- Lower the burner setpoint with `kilnctl setpoint --delta -50`.
"""


@pytest.fixture(scope="module")
def threshold_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {
        "warning.md": THRESHOLD.format(title="KilnTemperatureHighWarning", limit=1100, minutes=15),
        "critical.md": THRESHOLD.format(title="KilnTemperatureHighCritical", limit=1250, minutes=5),
    }
    with documents_kb(tmp_path_factory, embedder, "threshold", documents) as kb:
        yield kb


def test_the_threshold_a_question_gives_is_a_word_that_tells_twins_apart(
    threshold_kb: KnowledgeBase,
) -> None:
    """ "above 10 but not critical yet": the number is the one word only one twin says."""
    question = "kiln chamber above 1100 degrees, glazes run, what do i do"
    ranked = ["critical.md", "warning.md"]
    found = twins.find(threshold_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, question)
    assert found is not None
    assert found.lead.source == "warning.md" and "1100" in found.lead.own_words
    # A duration says how long, not which twin: "for 15 minutes" counts for neither.
    question = "kiln chamber temperature high for 15 minutes"
    found = twins.find(threshold_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, question)
    assert found is not None
    assert not found.lead.own_words and not found.other.own_words


BOUND = """---
title: {title}
kind: runbook
services: [kiln-loader]
tags: [kiln]
---
# {title}

## Meaning

This alert fires when the kiln shelf budget {side} the minimum loaded level. The number of
loaded shelves {count} the desired number of loaded shelves.

## Impact

A firing with the wrong number of loaded shelves heats unevenly and wastes a burner cycle.

## Diagnosis

- List the shelf budgets with `kilnctl budgets`.

## Mitigation

- Move ware between kilns with `kilnctl rebalance`.
"""


@pytest.fixture(scope="module")
def bound_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {
        "at.md": BOUND.format(title="KilnShelfBudgetAtLimit", side="is at", count="is equal to"),
        "below.md": BOUND.format(
            title="KilnShelfBudgetLimit", side="is below", count="is less than"
        ),
        "plain.md": BOUND.format(
            title="KilnShelfBudgetReached", side="has reached", count="matches"
        ),
    }
    with documents_kb(tmp_path_factory, embedder, "bound", documents) as kb:
        yield kb


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("shelf budget has exactly the loaded shelves it wants and zero spare", "at.md"),
        ("kiln shelf budget has zero headroom, the loader is stuck", "at.md"),
        ("fewer loaded shelves than the budget wants, firing is uneven", "below.md"),
        ("shelf budget not satisfied, kiln running short of shelves", "below.md"),
    ],
)
def test_the_side_of_a_limit_the_question_says_tells_twins_apart(
    bound_kb: KnowledgeBase, question: str, lead: str
) -> None:
    """ "Exactly", "zero spare", "fewer than": the words no runbook uses, said of the same limit
    its meaning names as "equal to" or "less than"."""
    for ranked in (["at.md", "below.md"], ["below.md", "at.md"]):
        found = twins.find(bound_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, question)
        assert found is not None
        assert found.lead.source == lead and found.decided


def test_a_question_that_says_no_side_leaves_bound_twins_undecided(bound_kb: KnowledgeBase) -> None:
    ranked = ["below.md", "at.md"]
    found = twins.find(bound_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, "shelf budget alert")
    assert found is not None and found.lead.source == "below.md" and not found.decided


def test_a_twin_whose_meaning_names_no_side_is_not_the_other_side(bound_kb: KnowledgeBase) -> None:
    """Twins split on a side only when both meanings name one: "exceeds cluster capacity"
    against a meaning that names no limit says nothing about which the question means."""
    question = "kiln shelf budget has zero headroom, the loader is stuck"
    for ranked in (["at.md", "plain.md"], ["plain.md", "at.md"]):
        found = twins.find(bound_kb, ranked, {ranked[0]: 1.0, ranked[1]: 0.95}, question)
        assert found is not None
        assert found.lead.source == ranked[0] and not found.decided
