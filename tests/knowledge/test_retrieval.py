from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from copilot.embedding import Embedder
from copilot.errors import InvalidInput
from copilot.knowledge import retrieval, vocabulary
from copilot.knowledge.store import KnowledgeBase
from copilot.knowledge.terms import keyword_terms, stem
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


def test_a_specific_runbook_keeps_the_lead_over_the_general_one(
    sample_kb: KnowledgeBase,
) -> None:
    # The general symptom runbook is closer to this as a whole; the question's own words
    # (pgbouncer) name the runbook that acts on them, and it keeps the lead.
    query = "checkout failing, pgbouncer says too many clients"
    hits = retrieval.search(kb=sample_kb, query=query, kind="runbook", top_k=5)
    assert hits[0].chunk.source == "runbooks/orders-db-connection-pool-exhausted.md"


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


@pytest.mark.parametrize(
    "query", ["still 500s on checkout, what next?", "checkout still returning 500s"]
)
def test_a_status_code_as_a_responder_says_it_finds_the_runbook_of_its_class(
    sample_kb: KnowledgeBase, query: str
) -> None:
    # The checkout runbook writes "5xx"; "500s" never met it, and "still" and "returning" led
    # to the failover and slot-booking runbooks ("returns no delivery slots").
    hits = retrieval.search(kb=sample_kb, query=query, top_k=5)
    assert hits[0].chunk.source == "runbooks/checkout-error-rate-high.md"


@pytest.mark.parametrize("query", ["users can't log in", "users cant log in"])
def test_cant_log_in_finds_the_login_runbook(sample_kb: KnowledgeBase, query: str) -> None:
    # "can't" matched a database runbook's prose word for word and "log" every runbook that
    # reads logs: ask's runbook search led with the mobile-app crash runbook.
    hits = retrieval.search(kb=sample_kb, query=query, kind="runbook", top_k=5)
    assert hits[0].chunk.source == "runbooks/identity-login-failures.md"


def test_logging_in_is_a_login_and_reading_logs_is_not() -> None:
    assert vocabulary.spell_out("nobody can sign in") == "nobody can sign in (login)"
    assert vocabulary.spell_out("users logged on") == "users logged on (login)"
    assert vocabulary.spell_out("check the logs in loki") == "check the logs in loki"
    assert keyword_terms("users can't log in, cannot reset") == ["users", "log", "reset"]


def test_a_status_code_is_followed_by_its_class_and_other_numbers_are_not() -> None:
    assert vocabulary.spell_out("still 500s on checkout") == "still 500s (5xx) on checkout"
    assert vocabulary.spell_out("router returning 503") == "router returning 503 (5xx)"
    assert vocabulary.spell_out("403 errors scraping") == "403 errors (4xx) scraping"
    assert vocabulary.spell_out("p99 at 500 ms with 404 pods") == "p99 at 500 ms with 404 pods"


@pytest.mark.parametrize(
    "query",
    [
        "pgbouncer says too many clients and checkout fails",
        "everything is slow",
        "redis evicting keys",
        "what happened last time payments timed out",
    ],
)
def test_scores_never_rise_down_the_list(sample_kb: KnowledgeBase, query: str) -> None:
    # Two documents nearly tied: the second's better section once scored it above the first.
    hits = retrieval.search(kb=sample_kb, query=query, top_k=12)
    scores = [h.score for h in hits]
    assert len(scores) == 12 and scores == sorted(scores, reverse=True)


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
        chroma = sample_kb._vectors.query(vector, n=n, where=kind)
        assert [cid for cid, _ in ours] == [cid for cid, _, _ in chroma]
        assert ours, query
        assert {c.kind for c in sample_kb.chunks([cid for cid, _ in ours]).values()} == {kind}


def test_similarities_of_named_sections_are_the_dense_searchs(
    sample_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the in-memory copy or from the vector store, a section's similarity is what the
    dense search reports for it."""
    vector = sample_kb.embedder.embed_query("disk is full on a node")
    found = dict(sample_kb.dense_search(vector, n=8))
    assert sample_kb.similarities(vector, list(found)) == pytest.approx(found, abs=1e-5)
    monkeypatch.setattr(sample_kb.searcher, "exact_index", lambda: None)
    assert sample_kb.similarities(vector, [*found, "no-such-section"]) == pytest.approx(
        found, abs=1e-5
    )


def test_kubectl_short_names_are_spelled_out_beside_the_query_words() -> None:
    spelled = vocabulary.spell_out("sts stuck at 2/3, PVC full; deploy next")
    assert spelled == (
        "sts (StatefulSet) stuck at 2/3, PVC (PersistentVolumeClaim) full; deploy next"
    )
    # Only whole words: "status" and "hpas" are not "sts" or "hpa".
    assert vocabulary.spell_out("status of hpas") == "status of hpas"
    assert vocabulary.spell_out("no default sc, dv pending") == (
        "no default sc (StorageClass), dv (DataVolume) pending"
    )


def test_hardware_abbreviations_are_spelled_out_but_not_tx() -> None:
    assert vocabulary.spell_out("RAM requests overcommitted, rx errors, tx clean") == (
        "RAM (memory) requests overcommitted, rx (receive) errors, tx clean"
    )
    assert vocabulary.spell_out("program crashed on the rxjs bundle") == (
        "program crashed on the rxjs bundle"
    )


def test_a_phrase_of_the_trade_is_followed_by_the_words_runbooks_use() -> None:
    assert vocabulary.spell_out("kiln nics not on jumbo frames, clock drifted") == (
        "kiln nics not on jumbo frames (MTU 9000), clock drifted (clock skew)"
    )
    # and the long form of a short name alert titles use ("CephMgrIsAbsent", "KubeVirtCRModified").
    assert vocabulary.spell_out("ceph manager gone, custom resource edited") == (
        "ceph manager (mgr) gone, custom resource (CR) edited"
    )
    # Whole words only: "certainly" is not a certificate, and cert-manager keeps its name.
    assert vocabulary.spell_out("certainly") == "certainly"
    assert vocabulary.spell_out("cert-manager logs") == "cert-manager logs"


def test_a_phrase_finds_the_runbook_written_with_the_runbooks_words(
    tmp_path: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "kb"
    write(
        root,
        "mtu.md",
        "# Kiln network MTU below 9000\n\n## Meaning\n\nA kiln NIC has an MTU under 9000.\n",
    )
    write(
        root,
        "bandwidth.md",
        "# Kiln network saturated\n\n## Meaning\n\nA kiln NIC sends at its line rate, "
        "frames are dropped.\n",
    )
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        hits = retrieval.search(kb=kb, query="kiln nic not using jumbo frames", top_k=2)
        assert hits[0].chunk.source == "mtu.md"
        # How close a section is to the question (the no-match floor) is measured on the
        # question's own words: the added words rank, they do not make it a closer match.
        with_phrases = {h.chunk.id: h.similarity for h in hits}
        monkeypatch.setattr(vocabulary, "_PHRASE", [])
        own = retrieval.search(kb=kb, query="kiln nic not using jumbo frames", top_k=2)
        assert {h.chunk.id: h.similarity for h in own} == pytest.approx(with_phrases)


def test_a_section_found_by_the_runbooks_words_is_measured_on_the_questions_own(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The section a phrase's added words found may be far down the question's own nearest
    sections; it still gets a similarity (else ask would abstain on its best match)."""
    docs = {
        "mtu.md": "# Kiln network MTU below 9000\n\n## Meaning\n\nA kiln NIC has an MTU under 9000.\n"
    }
    for i, title in enumerate(
        (
            "Kiln NIC link down",
            "Kiln NIC not using its bonded interface",
            "Kiln network interface errors",
            "Kiln NIC driver crash",
            "Kiln frames dropped on the switch",
            "Kiln NIC throughput low",
            "Kiln interface flapping",
        )
    ):
        docs[f"f{i}.md"] = (
            f"# {title}\n\n## Meaning\n\n{title}: the kiln nic is not using what it should, "
            "frames are lost.\n"
        )
    with _ingested(tmp_path, embedder, docs, candidates=5) as kb:
        question = "kiln nic not using jumbo frames"
        nearest = kb.dense_search(embedder.embed_query(question), n=5)
        hits = retrieval.search(kb=kb, query=question, top_k=3)
        assert hits[0].chunk.source == "mtu.md"
        assert hits[0].chunk.id not in {cid for cid, _ in nearest}
        assert hits[0].similarity is not None and 0.0 < hits[0].similarity < 1.0


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


def test_light_stem_joins_a_word_family() -> None:
    assert {stem(w) for w in ("failing", "failed", "fails", "failure", "failures")} == {"fail"}
    assert stem("Compactions") == stem("compacting")
    assert stem("disk") != stem("dns")


@contextmanager
def _ingested(
    tmp_path: Path, embedder: Embedder, docs: dict[str, str], data: str = "data", **settings: Any
) -> Iterator[KnowledgeBase]:
    """A knowledge base in tmp_path/`data` with `docs` (name: markdown) written and ingested."""
    root = tmp_path / "kb"
    for name, text in docs.items():
        write(root, name, text)
    with KnowledgeBase(
        Settings(data_dir=tmp_path / data, _env_file=None, **settings), embedder
    ) as kb:
        ingest_paths(kb, [root], progress=False)
        yield kb


_TWINS = {
    # Near twins: the first says the symptom in one section, the second names more of the
    # query's words, but spread over its sections, so no single section of it matches better.
    "checkout-pending.md": (
        "# Checkout pods pending\n\n## Meaning\n\nCheckout pods stay pending and are not "
        "scheduled.\n\n## Mitigation\n\nAdd nodes.\n"
    ),
    "checkout-capacity.md": (
        "# Checkout capacity\n\n## Meaning\n\nCheckout pods wait for capacity.\n\n"
        "## Diagnosis\n\nThe namespace quota is exhausted.\n\n## Notes\n\nImage pulls are "
        "slow under node disk pressure.\n"
    ),
}
_TWIN_QUERY = "checkout pods pending, quota exhausted, slow image pulls"


def _top(tmp_path: Path, embedder: Embedder, name: str, weight: float) -> str:
    with _ingested(tmp_path, embedder, _TWINS, name, coverage_weight=weight) as kb:
        return retrieval.search(kb=kb, query=_TWIN_QUERY, top_k=2)[0].chunk.source


def test_the_twin_that_mentions_more_of_the_query_wins(tmp_path: Path, embedder: Embedder) -> None:
    assert _top(tmp_path, embedder, "without", 0.0) == "checkout-pending.md"
    assert _top(tmp_path, embedder, "with", 0.4) == "checkout-capacity.md"


def test_coverage_follows_a_changed_document(tmp_path: Path, embedder: Embedder) -> None:
    """The document's stems are held in memory and kept current by every write."""
    with _ingested(tmp_path, embedder, _TWINS) as kb:
        assert retrieval.search(kb=kb, query=_TWIN_QUERY)[0].chunk.source == "checkout-capacity.md"
        short = _TWINS["checkout-capacity.md"].split("## Diagnosis")[0]
        write(tmp_path / "kb", "checkout-capacity.md", short)
        ingest_paths(kb, [tmp_path / "kb"], progress=False)
        assert retrieval.search(kb=kb, query=_TWIN_QUERY)[0].chunk.source == "checkout-pending.md"


def test_a_long_postmortem_earns_no_coverage_on_a_runbook_question(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = {
        "runbooks/disk.md": "# Disk full on a node\n\n## Mitigation\n\nRotate logs.\n",
        "postmortems/2026-01-02-disk.md": (
            "# Disk full on a node\n\n## Timeline\n\nLogs filled the disk of node-3 after a "
            "deploy; rotation was off and the kubelet evicted pods.\n"
        ),
    }
    query = "node disk full of logs after deploy, pods evicted"
    scores = {}
    for weight in (0.0, 0.4):
        with _ingested(tmp_path, embedder, docs, f"data-{weight}", coverage_weight=weight) as kb:
            hits = retrieval.search(kb=kb, query=query, top_k=4)
            scores[weight] = {h.chunk.source: h.score for h in hits}
    # The postmortem mentions every word and the runbook few; only the runbook is the kind a
    # symptom asks for, so only its score moves.
    assert scores[0.4]["runbooks/disk.md"] > scores[0.0]["runbooks/disk.md"]
    assert scores[0.4]["postmortems/2026-01-02-disk.md"] == pytest.approx(
        scores[0.0]["postmortems/2026-01-02-disk.md"]
    )


def test_exact_in_memory_search_agrees_with_chroma(sample_kb: KnowledgeBase) -> None:
    """The embedded store answers dense queries from an in-memory copy of the live vectors;
    Chroma's own index gives the same neighbours in the same order."""
    for query in ("disk is full on a node", "card payments time out at the processor"):
        vector = sample_kb.embedder.embed_query(query)
        for kind in (None, "runbook", "postmortem"):
            ours = sample_kb.dense_search(vector, n=10, kind=kind)
            chroma = sample_kb._vectors.query(vector, n=10, where=kind)
            assert [c for c, _ in ours] == [c for c, _, _ in chroma], (query, kind)
            for (_, mine), (_, theirs, _) in zip(ours, chroma, strict=True):
                assert mine == pytest.approx(theirs, abs=1e-4)


_DISK = {"disk.md": "# Disk full on build agents\n\n## Mitigation\n\nPrune workspaces.\n"}
_KAFKA = {"kafka.md": "# Kafka consumer lag\n\n## Mitigation\n\nAdd consumers.\n"}


def _dense_sources(kb: KnowledgeBase, query: str) -> list[str]:
    found = kb.dense_search(kb.embedder.embed_query(query), n=5)
    return [kb.chunks([cid])[cid].source for cid, _ in found if kb.chunks([cid])]


def test_exact_search_sees_every_write(tmp_path: Path, embedder: Embedder) -> None:
    root = tmp_path / "kb"
    with _ingested(tmp_path, embedder, _DISK) as kb:
        assert _dense_sources(kb, "kafka consumer lag") == ["disk.md"]
        write(root, "kafka.md", _KAFKA["kafka.md"])
        ingest_paths(kb, [root], progress=False)
        assert _dense_sources(kb, "kafka consumer lag")[0] == "kafka.md"
        (root / "kafka.md").unlink()
        ingest_paths(kb, [root], progress=False)
        assert _dense_sources(kb, "kafka consumer lag") == ["disk.md"]


def test_a_copy_built_across_a_write_is_used_once_not_kept(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _ingested(tmp_path, embedder, {**_DISK, **_KAFKA}) as kb:
        fetch = kb.vectors_for

        def fetch_while_a_write_lands(ids: list[str]) -> dict[str, object]:
            found = fetch(ids)
            kb.remove_document("kafka.md")  # lands after the copy read the catalog
            monkeypatch.setattr(kb, "vectors_for", fetch)
            return found  # type: ignore[return-value]

        monkeypatch.setattr(kb, "vectors_for", fetch_while_a_write_lands)
        vector = kb.embedder.embed_query("kafka consumer lag")
        assert len(kb.dense_search(vector, n=5)) == 2  # this query used the older copy
        assert [cid for cid, _ in kb.dense_search(vector, n=5)] == [
            c.id for c in kb.document_chunks("disk.md")
        ]


def test_without_the_in_memory_copy_chroma_answers(tmp_path: Path, embedder: Embedder) -> None:
    with _ingested(tmp_path, embedder, _DISK, exact_search_max_chunks=0) as kb:
        assert kb.searcher.exact_index() is None
        assert _dense_sources(kb, "disk full") == ["disk.md"]


def test_warm_loads_what_the_first_search_needs(tmp_path: Path, embedder: Embedder) -> None:
    with _ingested(tmp_path, embedder, _DISK) as first:
        settings = first.settings
    with KnowledgeBase(settings, embedder) as kb:
        calls: list[int] = []
        fetch = kb.vectors_for
        kb.vectors_for = lambda ids: calls.append(len(ids)) or fetch(ids)  # type: ignore[method-assign]
        kb.warm()
        assert calls == [1]
        assert _dense_sources(kb, "disk full") == ["disk.md"]
        assert calls == [1]  # the search used the warmed copy
        assert kb.document_terms(["disk.md"])["disk.md"] >= {"disk", "prune"}


_GATEWAY_PROCEDURE = """
## Diagnosis

- Check the harbour gateway dashboard for the affected berth.
- Run `kubectl -n harbour logs deploy/harbour-gateway --since=15m`.

## Mitigation

- Roll back the last harbour gateway deploy.
- Scale the harbour gateway to more replicas.
"""
# Sibling runbooks sharing their procedure word for word. The first names timeouts in one
# section, so fusion (a document's best section) ranks it first for a timeout question; the
# second is, as a whole, about requests that hang.
_SIBLINGS = {
    "gateway-errors.md": (
        "# Harbour Gateway Upstream Errors\n\n## Meaning\n\nThe harbour gateway returns 502 and "
        "503 errors for berth booking requests: the upstream booking service refuses "
        "connections or resets them.\n\n## Impact\n\nFerry passengers cannot book berths; the "
        "booking page shows an error.\n\n## Timeouts\n\nTimeouts: requests timing out at the "
        "harbour gateway show up here as 504 errors once the gateway gives up on the upstream; "
        "count them with the other upstream errors.\n" + _GATEWAY_PROCEDURE
    ),
    "gateway-slow.md": (
        "# Harbour Gateway Slow Responses\n\n## Meaning\n\nRequests through the harbour gateway "
        "take longer than their deadline: the booking service answers slowly and clients give "
        "up waiting.\n\n## Impact\n\nFerry passengers wait a long time for the booking page, "
        "and some requests through the harbour\ngateway hang until the client stops waiting.\n"
        + _GATEWAY_PROCEDURE
    ),
}


def test_of_two_close_siblings_the_one_about_the_question_as_a_whole_leads(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "requests timing out at harbour gateway"
    with _ingested(tmp_path, embedder, _SIBLINGS) as kb:
        monkeypatch.setattr(retrieval, "WHOLE_DOCUMENT_MARGIN", float("inf"))
        by_best_section = retrieval.search(kb=kb, query=query, kind="runbook")
        monkeypatch.undo()
        shown = retrieval.search(kb=kb, query=query, kind="runbook")
        # A question the first sibling is about as a whole keeps it first.
        errors = retrieval.search(kb=kb, query="harbour gateway timeouts", kind="runbook")
    assert by_best_section[0].chunk.source == "gateway-errors.md"
    assert shown[0].chunk.source == "gateway-slow.md"
    # The scores go with the places: the document shown first scores highest.
    assert shown[0].score >= max(h.score for h in shown if h.chunk.source == "gateway-errors.md")
    assert errors[0].chunk.source == "gateway-errors.md"


def _kiln_rules() -> dict[str, str]:
    """Sibling rules that share a boilerplate section full of the question's words (how to edit
    the default definition), the runbook the question is about, and kiln runbooks near it in
    meaning that push the boilerplate out of the dense candidates."""
    docs = {
        "KilnProgramsRestored.md": (
            "# KilnProgramsRestored\n\n## Meaning\n\nChanges made by hand to the shipped kiln "
            "programs vanish: the scheduler restores the original programs a few minutes later."
            "\n\n## Mitigation\n\nCopy the shipped program under a new name and change the copy.\n"
        )
    }
    for name, topic in (
        ("GlazeMixerHumidity", "glaze mixer humidity"),
        ("ClayPressVibration", "clay press vibration"),
        ("DryingRoomAirflow", "drying room airflow"),
    ):
        docs[f"{name}.md"] = (
            f"# {name}\n\n## Meaning\n\nThe {topic} is outside its band for ten minutes.\n\n"
            "### Default definition\n\nYou can edit the default definition: the defaults keep "
            "the rule, edits to the default rule template keep the threshold.\n\n"
            "## Mitigation\n\nEdit the template defaults.\n"
        )
    for name, meaning in (
        ("KilnDoorStuck", "The kiln door sensor reports the same state for an hour."),
        ("KilnTempDrift", "The kiln temperature drifts from the firing program curve."),
        ("KilnProgramSlow", "A firing program on a kiln runs slower than its schedule."),
        ("KilnSchedulerDown", "The kiln scheduler is not running: programs are not started."),
        ("KilnProgramAborted", "A firing program stopped before its last segment."),
    ):
        docs[f"{name}.md"] = (
            f"# {name}\n\n## Meaning\n\n{meaning}\n\n## Mitigation\n\nRestart the kiln controller.\n"
        )
    return docs


def test_a_document_found_by_its_words_alone_does_not_lead(
    tmp_path: Path, embedder: Embedder
) -> None:
    # Five dense candidates: the boilerplate "Default definition" sections match most of the
    # question's words, but none of them is among the sections closest in meaning.
    with _ingested(tmp_path, embedder, _kiln_rules(), candidates=5) as kb:
        hits = retrieval.search(
            kb=kb, query="my edits to the default kiln programs keep disappearing", top_k=3
        )
        assert hits[0].chunk.source == "KilnProgramsRestored.md"
        assert hits[0].dense_rank is not None
        # The boilerplate documents still follow, found by their words.
        assert any(h.dense_rank is None and h.keyword_rank for h in hits[1:])
        # A document the question names keeps its lead, however it was found.
        named = retrieval.search(
            kb=kb, query="GlazeMixerHumidity: my edits to the default keep disappearing", top_k=3
        )
        assert named[0].chunk.source == "GlazeMixerHumidity.md"
