"""Insights' knowledge-base figures: runbooks cited and not used, steps no runbook has."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents import schemas as isch
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.insights import knowledge, service
from copilot.knowledge.store import KnowledgeBase
from copilot.security.audit import AuditLog
from copilot.settings import Settings
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "evals" / "datasets" / "runbook_gaps" / "actions.jsonl"
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = BASE + timedelta(days=20)

# Steps written for this test; whether a runbook of the sample knowledge base has each was
# decided by reading the runbooks (catalog-search-cluster-red.md, deploy-rollback.md), not by
# the code under test.
PAUSED_INDEXER = (
    "Paused the indexer's bulk writes: lark flags set search-indexer.bulk_writes_enabled false"
)
COURIER = "Phoned the courier company and asked them to hold the afternoon pickups for an hour"
JENKINS = "Restarted the Jenkins controller so the release pipeline picks up jobs again"
FREEZE_NO_EFFECT = "Froze all deploys with lark deploy freeze --scope all; no effect on the errors"


def _incident(
    store: IncidentStore, title: str, day: int, entries: list[tuple[str, str]], *, end: bool
) -> str:
    declared = BASE + timedelta(days=day)
    made = incidents.declare(
        store=store,
        request=isch.IncidentCreate(title=title, severity="SEV2", declared_at=declared),
    )
    for minutes, (kind, text) in enumerate(entries, 1):
        incidents.add_event(
            store=store,
            incident_id=made.id,
            event=isch.EventCreate(
                kind=kind,
                text=text,
                at=declared + timedelta(minutes=minutes),
                author="sam",  # type: ignore[arg-type]
            ),
        )
    if end:
        incidents.update_incident(
            store=store,
            incident_id=made.id,
            patch=isch.IncidentPatch(status="resolved", at=declared + timedelta(hours=2)),
        )
    return made.id


@pytest.fixture
def history(tmp_path: Path) -> Iterator[tuple[IncidentStore, dict[str, str]]]:
    with IncidentStore(f"sqlite:///{tmp_path / 'db.sqlite'}", clock=lambda: NOW) as store:
        ids = {
            "search": _incident(
                store,
                "Search cluster red",
                1,
                [("action", PAUSED_INDEXER), ("action", COURIER)],
                end=True,
            ),
            "release": _incident(
                store,
                "Checkout errors after a release",
                3,
                [
                    ("note", "Working from the deploy-rollback runbook"),
                    ("action", JENKINS),
                    ("mitigation", FREEZE_NO_EFFECT),
                ],
                end=True,
            ),
            "open": _incident(store, "Vault sealed", 5, [("note", "looking")], end=False),
        }
        audit = AuditLog(store.db)
        for incident, refs in (
            (
                ids["search"],
                ["runbooks/catalog-search-cluster-red.md:60-70", "runbooks/vault-sealed.md:30-40"],
            ),
            (ids["open"], ["runbooks/vault-sealed.md:30-40"]),
        ):
            audit.append(
                who="sam",
                action="ask",
                question="what next",
                sources=refs,
                incident_id=incident,
                at=BASE + timedelta(days=6),
            )
        yield store, ids


def test_knowledge_figures_against_the_hand_labelled_history(
    history: tuple[IncidentStore, dict[str, str]], sample_kb: KnowledgeBase
) -> None:
    store, ids = history
    report = service.insights(
        store=store,
        query=service.make_query(store, since="2026-03-01"),
        kb=sample_kb,
        with_clusters=False,
    )
    k = report.knowledge
    assert k.outputs == 2
    assert {r.source: r.citations for r in k.most_cited} == {
        "runbooks/vault-sealed.md": 2,
        "runbooks/catalog-search-cluster-red.md": 1,
    }
    assert k.never_cited is not None and "runbooks/deploy-rollback.md" in k.never_cited

    gaps = k.steps_no_runbook_has
    assert gaps is not None
    # Four action/mitigation entries; the one recorded as having no effect is not a step taken.
    assert (gaps.entries, gaps.n, gaps.gaps) == (4, 3, 2)
    assert gaps.share == round(2 / 3, 4)
    assert {(g.incident_id, g.text) for g in gaps.steps} == {
        (ids["search"], COURIER),
        (ids["release"], JENKINS),
    }

    cited = k.cited_not_mitigating
    assert cited is not None
    # Ended incidents only: (search, catalog-search) used; (search, vault) and (release,
    # deploy-rollback, named on its timeline; its freeze step had no effect) not.
    assert (cited.n, cited.incidents, cited.not_mitigating) == (3, 2, 2)
    assert {r.source: (r.cited_in, r.incidents) for r in cited.runbooks} == {
        "runbooks/vault-sealed.md": (1, [ids["search"]]),
        "runbooks/deploy-rollback.md": (1, [ids["release"]]),
    }

    # A period that ends before the audit records: the citations are gone, the steps stay.
    early = service.insights(
        store=store,
        query=service.make_query(store, since="2026-03-01", until="2026-03-06"),
        kb=sample_kb,
        with_clusters=False,
    )
    assert early.knowledge.outputs == 0
    assert early.knowledge.cited_not_mitigating is not None
    assert early.knowledge.cited_not_mitigating.n == 1  # deploy-rollback, named on the timeline


def test_without_a_knowledge_base_the_figures_are_absent(
    history: tuple[IncidentStore, dict[str, str]],
) -> None:
    store, _ = history
    report = service.insights(
        store=store, query=service.make_query(store, since="2026-03-01"), with_clusters=False
    )
    assert report.knowledge.steps_no_runbook_has is None
    assert report.knowledge.cited_not_mitigating is None
    assert report.knowledge.outputs == 2


def test_thresholds_hold_on_the_check_half_of_the_labelled_steps(sample_kb: KnowledgeBase) -> None:
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    check = [c for c in cases if c["split"] == "check"]
    assert len(check) >= 20 and {c["covered"] for c in check} == {True, False}
    found = knowledge.RunbookSteps(sample_kb).match([c["text"] for c in check])
    right = sum(1 for c, m in zip(check, found, strict=True) if m.has == c["covered"])
    flagged = [c for c, m in zip(check, found, strict=True) if not m.has]
    # evals/README.md: 24 of 26 on the check half, no covered step called a gap.
    assert right / len(check) >= 0.9
    assert all(not c["covered"] for c in flagged)
    for c, m in zip(check, found, strict=True):
        if m.has and c["covered"]:
            assert c["runbook"] in m.sources


def test_api_carries_the_figures_with_a_knowledge_base(
    tmp_path: Path, sample_kb: KnowledgeBase
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    with IncidentStore(settings.sqlalchemy_url, clock=lambda: NOW) as store:
        _incident(store, "Pickups", 1, [("action", COURIER)], end=True)
        app = create_app(settings, kb=sample_kb, incident_store=store)
        with TestClient(app) as client:
            r = client.get("/v1/insights", params={"since": "2026-03-01", "clusters": "false"})
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()["knowledge"]
            assert body["steps_no_runbook_has"]["gaps"] == 1
            assert body["steps_no_runbook_has"]["steps"][0]["text"] == COURIER
            assert body["cited_not_mitigating"]["n"] == 0
            csv = client.get("/v1/insights.csv", params={"since": "2026-03-01"}).text
            assert "Steps no runbook has,INC-1,step,Phoned the courier company" in csv


def test_cli_report_over_the_sample_history(
    cli_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "ingest", str(ROOT / "runbooks" / "runbooks"))[0] == 0
    postmortems = ROOT / "runbooks" / "postmortems"
    assert run_cli(capsys, "import", "postmortems", str(postmortems))[0] == 0
    code, out, err = run_cli(
        capsys, "insights", "--since", "2026-01-01", "--format", "json", "--no-clusters"
    )
    assert code == 0, err
    k = json.loads(out)["knowledge"]
    # Read from the postmortem files here: every runbook each one links to (and that exists).
    runbooks = {p.name for p in (ROOT / "runbooks" / "runbooks").glob("*.md")}
    linked = [
        {
            name
            for name in re.findall(r"runbooks/([a-z0-9-]+\.md)\)", p.read_text())
            if name in runbooks
        }
        for p in postmortems.glob("*.md")
    ]
    assert k["cited_not_mitigating"]["n"] == sum(len(x) for x in linked)
    assert k["cited_not_mitigating"]["incidents"] == sum(1 for x in linked if x)
    gaps = k["steps_no_runbook_has"]
    assert 0 < gaps["gaps"] < gaps["n"] <= gaps["entries"]

    code, out, _ = run_cli(capsys, "insights", "--since", "2026-01-01", "--no-clusters")
    assert code == 0 and "## Steps no runbook has" in out and "Runbooks cited but not" in out
    code, out, _ = run_cli(
        capsys, "insights", "--since", "2026-01-01", "--format", "json", "--no-knowledge"
    )
    assert json.loads(out)["knowledge"]["steps_no_runbook_has"] is None


class CountingEmbedder:
    """The real model, recording what it is asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked: list[list[str]] = []

    def embed(self, texts: list[str]) -> Any:
        self.asked.append(list(texts))
        return self.inner.embed(texts)


def test_steps_are_embedded_once_in_one_batch(embedder: Any) -> None:
    counting = CountingEmbedder(embedder)
    first = knowledge._vectors(counting, [COURIER, JENKINS, COURIER])
    assert counting.asked == [[COURIER, JENKINS]]
    again = knowledge._vectors(counting, [JENKINS, PAUSED_INDEXER])
    assert counting.asked[-1] == [PAUSED_INDEXER]  # the report after: only the new entry
    assert len(counting.asked) == 2
    assert first.shape[0] == 3 and (first[0] == first[2]).all() and (first[1] == again[0]).all()
    assert abs(float((again**2).sum(axis=1)[1]) - 1.0) < 1e-5
