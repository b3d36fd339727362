from __future__ import annotations

from pathlib import Path

import pytest

from copilot.embedding import Embedder
from copilot.errors import InvalidInput
from copilot.knowledge import retrieval, vocabulary
from copilot.knowledge.store import KnowledgeBase, keyword_terms
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import write


def test_symptom_finds_the_runbook_section_with_citation(sample_kb: KnowledgeBase) -> None:
    hits = retrieval.search(
        kb=sample_kb, query="pgbouncer says too many clients and checkout fails", top_k=5
    )
    top = hits[0].chunk
    assert top.source == "runbooks/orders-db-connection-pool-exhausted.md"
    assert top.line_start <= top.line_end
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_exact_alert_name_wins(sample_kb: KnowledgeBase) -> None:
    alerts = {a: c.source for c in sample_kb.all_chunks() for a in c.alerts if c.kind == "runbook"}
    assert len(alerts) >= 20
    for alert, source in list(alerts.items())[:15]:
        hits = retrieval.search(kb=sample_kb, query=f"{alert} firing", top_k=3)
        assert hits[0].chunk.source == source, alert
        assert "alert name" in hits[0].reasons


def test_kind_service_and_tag_filters(sample_kb: KnowledgeBase) -> None:
    post = retrieval.search(kb=sample_kb, query="database connections", kind="postmortem", top_k=10)
    assert post and all(h.chunk.kind == "postmortem" for h in post)
    svc = retrieval.search(kb=sample_kb, query="errors", services=["vault"], top_k=10)
    assert svc and all("vault" in h.chunk.services for h in svc)
    none = retrieval.search(kb=sample_kb, query="errors", services=["no-such-service"])
    assert none == []


@pytest.mark.parametrize("query", ["", "   ", "x" * (retrieval.MAX_QUERY_CHARS + 1)])
def test_empty_or_oversized_query_is_invalid(sample_kb: KnowledgeBase, query: str) -> None:
    with pytest.raises(InvalidInput):
        retrieval.search(kb=sample_kb, query=query)


def test_keyword_terms_split_alert_names_and_drop_stopwords() -> None:
    assert keyword_terms("Why is KubePodCrashLooping firing on the API?") == [
        "kubepodcrashlooping",
        "kube",
        "pod",
        "crash",
        "looping",
        "firing",
        "api",
    ]
    assert keyword_terms('"; DROP TABLE chunks; --') == ["drop", "table", "chunks"]


@pytest.mark.parametrize("kind", ["runbook", "postmortem"])
@pytest.mark.parametrize("n", [3, 10, 500])
def test_kind_filtered_dense_search_matches_chromas_filter(
    sample_kb: KnowledgeBase, kind: str, n: int
) -> None:
    """Over-fetching unfiltered and keeping one kind gives what Chroma's `where` gives, whether
    the kind is common, rare, or asked for in larger numbers than it has."""
    for query in ("disk is full on a node", "what happened last time payments timed out"):
        vector = sample_kb.embedder.embed_query(query)
        ours = sample_kb.dense_search(vector, n=n, kind=kind)
        chroma = sample_kb._dense_query(vector, n=n, where=kind)
        assert [cid for cid, _ in ours] == [cid for cid, _, _ in chroma]
        assert ours, query
        assert {c.kind for c in sample_kb.chunks([cid for cid, _ in ours]).values()} == {kind}


def test_kubectl_short_names_are_spelled_out_beside_the_query_words() -> None:
    spelled = vocabulary.spell_out("sts stuck at 2/3, PVC full; deploy next")
    assert spelled == (
        "sts (StatefulSet) stuck at 2/3, PVC (PersistentVolumeClaim) full; deploy next"
    )
    # Only whole words: "status" and "hpas" are not "sts" or "hpa".
    assert vocabulary.spell_out("status of hpas") == "status of hpas"


def test_a_short_name_finds_the_runbook_written_with_the_long_one(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    # Two runbooks alike but for the object's name: only the spelled-out name tells them apart.
    write(root, "ds.md", "# DaemonSet replicas not ready\n\n## Mitigation\n\nDescribe them.\n")
    write(root, "sts.md", "# StatefulSet replicas not ready\n\n## Mitigation\n\nDescribe them.\n")
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        for mode in ("keyword", "hybrid"):
            hits = retrieval.search(kb=kb, query="sts replicas not ready", top_k=2, mode=mode)
            scores = {h.chunk.source: h.score for h in hits}
            assert scores["sts.md"] > scores.get("ds.md", 0.0), mode
