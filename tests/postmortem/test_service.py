"""The draft itself: timeline, metrics, similar incidents, recurrence, runbook updates, 5 Whys,
blameless language, redaction, traceability, and the front matter that lets it ingest."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from copilot.embedding import Embedder
from copilot.incidents import schemas as isch
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.postmortem import compose, record
from copilot.postmortem.parse import parse_timeline, section_text
from copilot.postmortem.service import draft_postmortem
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB
from tests.postmortem.conftest import Worked, at

PGBOUNCER = "postmortems/2026-02-03-checkout-outage-pgbouncer-pool-exhaustion.md"
CITED = re.compile(r"\((?:record|events? #\d+|metrics|source: [^)]+)[^)]*\)|\*\*\[team\]\*\*")


def _file_lines(source: str, span: tuple[int, int]) -> str:
    lines = (SAMPLE_KB / source).read_text(encoding="utf-8").split("\n")
    return " ".join(" ".join(lines[span[0] - 1 : span[1]]).split())


def test_timeline_has_every_event_in_order_with_offsets_and_key_moments(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    events = incidents.list_events(store=store, incident_id=worked.id)
    rows = [e for e in draft.timeline if e.event_id is not None]
    assert [e.event_id for e in rows] == [e.id for e in events]
    assert [e.at for e in draft.timeline] == sorted(e.at for e in draft.timeline)
    # Offsets from detection (18:14): the alert is at 0, the declaration 5 minutes later.
    by_id = {e.event_id: e for e in rows}
    assert by_id[worked.alert].offset_s == 0
    declared = next(e for e in rows if e.kind == "declared")
    assert declared.offset_s == 300 and declared.key_moment == "Declared"
    moments = {e.key_moment for e in draft.timeline if e.key_moment}
    assert {"Impact started", "Detected", "First alert", "Mitigated (monitoring)", "Resolved"} <= (
        moments
    )
    assert "First status update" in moments
    # Read back from the markdown: every event, in order, at its time, with its text.
    table = parse_timeline(draft.markdown)
    assert table.zone == "UTC"
    written = [e for e in table.events if e.cells.get("Kind") != "milestone"]
    assert [e.at for e in written] == [e.at for e in events]
    for row, event in zip(written, events, strict=True):
        assert record.cell(draft_text(event.text)) in row.cells["Event"].replace("|", "\\|")


def draft_text(text: str) -> str:
    from copilot.guardrails.redact import redact

    return redact(text).text


def test_metrics_are_the_incident_metrics(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    assert draft.metrics == incidents.incident_metrics(store=store, incident_id=worked.id)
    metrics = draft.sections["metrics"]
    assert "| Time to detect | 2m |" in metrics
    assert "| Time to mitigate | 39m |" in metrics  # detection 18:14 -> monitoring 18:53
    assert "| Customer-impact window | 41m |" in metrics
    assert "1 of 2 intervals late" in metrics


def test_similar_incidents_are_cited_with_root_cause_and_action_items(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    first = draft.similar_incidents[0]
    assert first.source == PGBOUNCER
    assert {"pgbouncer", "deploy"} <= set(first.shared_tags)
    assert first.root_cause is not None
    assert "transaction-pooling mode" in _file_lines(PGBOUNCER, first.root_cause.lines)
    assert first.action_items
    for item in first.action_items:
        assert item.text.split(" — ")[0] in _file_lines(PGBOUNCER, item.lines)
    section = draft.sections["similar_incidents"]
    start, end = first.root_cause.lines
    assert f"(source: {PGBOUNCER}:{start}-{end})" in section


def test_recurrence_counts_the_store_and_past_postmortems_up_to_this_incident(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    checkout = next(r for r in draft.recurring if "checkout-api" in r.services)
    # INC-1 (February, same service), the 2026-02-03 postmortem, and this one. The 2026-09-30
    # postmortem also names checkout-api but comes after this incident.
    assert checkout.count == 3
    assert checkout.incidents == [worked.earlier]
    assert checkout.postmortems == [PGBOUNCER]
    assert "third incident in 2026 involving service `checkout-api`" in checkout.text
    assert checkout.text in draft.sections["similar_incidents"]


def test_runbook_updates_add_missing_steps_and_change_steps_that_did_not_help(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    by_event = {u.event_id: u for u in draft.runbook_updates if u.event_id is not None}
    assert by_event[worked.maintenance].action == "add_step"
    assert by_event[worked.batch_jobs].action == "change_step"
    # The runbooks already say to roll back and to cap the HPA: nothing to add for those.
    assert worked.rollback not in by_event and worked.hpa not in by_event
    review = [u for u in draft.runbook_updates if u.action == "review"]
    assert [u.runbook for u in review] == ["runbooks/deploy-rollback.md"]
    add = by_event[worked.maintenance]
    assert add.runbook and add.lines and f"(source: {add.runbook}:{add.lines[0]}-" in add.text
    assert add.overlap is not None and add.overlap < 0.55
    section = draft.sections["runbook_updates"]
    assert "**Add a step**" in section and "**Change this step**" in section


def test_five_whys_are_seeded_from_cause_notes_and_the_rest_left_open(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    first, *rest = draft.five_whys
    assert len(draft.five_whys) == 5
    assert first.event_id == worked.hypothesis and first.hypothesis
    # The hypothesis was corrected later: the seed carries the correction.
    assert first.seed and "moved the fraud-scorer call inside" in first.seed
    assert [w.seed for w in rest] == [None] * 4
    section = draft.sections["root_cause"]
    assert section.count("**[team]** Why") == 5


def test_blaming_phrases_are_rewritten_in_the_narrative_and_flagged(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    where = {f.where: f for f in draft.blameless}
    assert where["record: summary"].phrase == "Dana forgot to check the canary at peak traffic"
    assert where[f"event #{worked.blame_note}"].rewrite.endswith("?")
    assert "Dana forgot" not in draft.sections["summary"]
    assert "Nothing in the process prompted anyone to check the canary" in draft.sections["summary"]
    # The timeline quotes the record as it is; the review lists what to reword.
    assert "Lee should have rolled back sooner" in draft.sections["timeline"]
    assert "Lee should have rolled back sooner" in draft.sections["review"]


def test_secrets_and_personal_data_are_redacted(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    incidents.add_event(
        store=store,
        incident_id=worked.id,
        event=isch.EventCreate(
            kind="note",
            text="Shared token=hvs.CAESIJk3x9Lq0wExample with ops@example.com",
            at=at(65),
        ),
    )
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    for secret in ("7946 0958", "hvs.CAESIJk3x9", "ops@example.com"):
        assert secret not in draft.markdown
        assert secret not in draft.model_dump_json()
    assert draft.guardrails.redactions >= 3


def test_the_front_matter_is_screened_value_by_value_and_reads_as_written(
    store: IncidentStore,
) -> None:
    incident = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="Vault token=hvs.CAESIJk3x9Lq0wExample leaked in logs",
            severity="SEV3",
            services=["checkout-api", "orders-db"],
            tags=["secret-leak"],
        ),
    )
    draft = draft_postmortem(store=store, incident_id=incident.id, kb=None)
    front = draft.markdown.split("---\n")[1]
    assert "hvs.CAESIJk3x9" not in draft.markdown
    meta = yaml.safe_load(front)
    assert meta["services"] == ["checkout-api", "orders-db"] and meta["tags"] == ["secret-leak"]
    assert "services:\n- checkout-api\n- orders-db\n" in front, front


def test_every_statement_names_its_source_or_asks_the_team(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    prose = ["summary", "impact", "detection", "response", "root_cause", "retrospective"]
    prose += ["runbook_updates", "similar_incidents"]
    unsourced = []
    for name in prose:
        for line in draft.sections[name].split("\n"):
            text = line.strip()
            structural = not text or text.startswith("#") or text.endswith(":")
            if structural or text.startswith(("**Recurring", "**5 Whys**")):
                continue
            if not CITED.search(text) and not re.match(r"^\d\. Why", text):
                unsourced.append((name, text))
    assert unsourced == [], "\n".join(map(str, unsourced))
    # Every question left for the team is listed, and no answer is invented in its place.
    prompts = re.findall(r"\*\*\[team\]\*\* ([A-Z][^|\n]*)", draft.markdown)
    assert [p.strip() for p in prompts] == draft.open_questions
    assert "Open questions for the team: " + str(len(draft.open_questions)) in draft.markdown


def test_action_items_carry_owner_due_and_source(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    follow = next(a for a in draft.action_items if a.source == f"event #{worked.follow_up}")
    assert (follow.owner, follow.due) == ("team-data", "2026-03-20")
    assert any(a.source == "runbook updates" for a in draft.action_items)
    assert any(a.source == "recurring pattern" for a in draft.action_items)
    table = draft.sections["action_items"]
    assert "| Action | Term | Owner | Due | From |" in table
    assert "short-term actions" in table and "long-term actions" in table


def test_the_draft_ingests_as_a_postmortem_and_closes_the_loop(
    store: IncidentStore,
    worked: Worked,
    sample_kb: KnowledgeBase,
    embedder: Embedder,
    tmp_path: Path,
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb)
    front = draft.markdown.split("---\n")[1]
    meta = yaml.safe_load(front)
    assert meta["kind"] == "postmortem" and meta["severity"] == "SEV1"
    # Read as written: no blank line between a key and its list ("services:", then "- ...").
    assert "" not in front.rstrip("\n").split("\n"), front
    assert meta["date"] == "2026-03-02" and meta["incident"] == worked.id
    assert meta["started_at"] == "2026-03-02T18:12:00Z"

    root = tmp_path / "kb"
    (root / "postmortems").mkdir(parents=True)
    (root / "postmortems" / "inc-2.md").write_text(draft.markdown, encoding="utf-8")
    (root / "postmortems" / "pgbouncer.md").write_bytes((SAMPLE_KB / PGBOUNCER).read_bytes())
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "data", _env_file=None), embedder)
    try:
        report = ingest_paths(kb, [root], progress=False)
        assert not report.failed, report.failed
        record = kb.files()["postmortems/inc-2.md"]
        assert record.kind == "postmortem" and record.title == draft.title
        chunks = kb.document_chunks("postmortems/inc-2.md")
        assert set(chunks[0].services) == {"checkout-api", "orders-service", "orders-db"}
        assert set(chunks[0].tags) == {"pgbouncer", "deploy"} and chunks[0].severity == "SEV1"
        sections = {c.section.split(" > ")[0] for c in chunks}
        assert {"Summary", "Timeline", "Action items", "Metrics"} <= sections

        # Drafted again, its own ingested postmortem is neither "similar" nor a recurrence.
        again = draft_postmortem(store=store, incident_id=worked.id, kb=kb)
        assert "postmortems/inc-2.md" not in [p.source for p in again.similar_incidents]
        assert all("postmortems/inc-2.md" not in r.postmortems for r in again.recurring)
        # A later incident on the same services finds it.
        later = incidents.declare(
            store=store,
            request=isch.IncidentCreate(
                title="Checkout submits failing again, orders pool saturated",
                severity="SEV2",
                services=["orders-db"],
                declared_at=at(200),
            ),
        )
        found = draft_postmortem(store=store, incident_id=later.id, kb=kb)
        assert "postmortems/inc-2.md" in [p.source for p in found.similar_incidents]
    finally:
        kb.close()


def test_an_incident_with_nothing_recorded_still_drafts_and_says_what_is_missing(
    store: IncidentStore,
) -> None:
    bare = incidents.declare(
        store=store, request=isch.IncidentCreate(title="Something odd", severity="SEV4")
    )
    draft = draft_postmortem(store=store, incident_id=bare.id, kb=None)
    assert draft.markdown.startswith("---\n")
    assert yaml.safe_load(draft.markdown.split("---\n")[1])["kind"] == "postmortem"
    for gap in ("summary", "customer impact statement", "status updates: none recorded"):
        assert gap in draft.missing
    assert "timeline events: nothing the responders recorded" in draft.missing
    assert "The knowledge base is not loaded" in draft.sections["similar_incidents"]
    assert "Missing from the record:" in draft.sections["review"]
    timeline = section_text(draft.markdown, "^Timeline$") or ""
    assert "holds nothing the responders recorded" in timeline
    assert draft.similar_incidents == [] and draft.runbook_updates == []


def test_the_impact_window_names_the_field_it_starts_at(store: IncidentStore) -> None:
    # Neither the start of impact nor detection recorded: the window starts at the declaration,
    # and the draft says so rather than citing a detected_at that is not there.
    bare = incidents.declare(
        store=store, request=isch.IncidentCreate(title="Kiln offline", severity="SEV3")
    )
    incidents.update_incident(
        store=store, incident_id=bare.id, patch=isch.IncidentPatch(status="resolved")
    )
    draft = draft_postmortem(store=store, incident_id=bare.id, kb=None)
    assert "(metrics: impact window, from declared_at to mitigated_at)" in draft.markdown


def test_composing_with_no_events_at_all_is_valid(store: IncidentStore) -> None:
    bare = incidents.declare(
        store=store, request=isch.IncidentCreate(title="Quiet", severity="SEV3")
    )
    inputs = record.Inputs(
        incident=bare,
        events=[],
        metrics=incidents.incident_metrics(store=store, incident_id=bare.id),
        generated_at=datetime(2026, 3, 3, tzinfo=UTC),
    )
    drafted = compose.Drafter(inputs).draft()
    assert [e.kind for e in drafted.timeline] == []
    assert "holds nothing the responders recorded" in drafted.sections["timeline"]


@pytest.mark.parametrize("similar", [0, 1])
def test_similar_limit(
    store: IncidentStore, worked: Worked, sample_kb: KnowledgeBase, similar: int
) -> None:
    draft = draft_postmortem(store=store, incident_id=worked.id, kb=sample_kb, similar=similar)
    assert len(draft.similar_incidents) == similar


def test_record_text_cannot_break_the_document_structure(
    store: IncidentStore, embedder: Embedder, tmp_path: Path
) -> None:
    odd = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="Odd <!-- title",
            severity="SEV3",
            summary="first line\n## Not a section\n```\nan unclosed fence\n---",
            customer_impact="<!-- never closed",
            started_at=at(0),
        ),
    )
    incidents.add_event(
        store=store,
        incident_id=odd.id,
        event=isch.EventCreate(kind="note", text="pipe | and <!-- comment", at=at(5)),
    )
    draft = draft_postmortem(store=store, incident_id=odd.id, kb=None)
    (tmp_path / "postmortems").mkdir()
    (tmp_path / "postmortems" / "odd.md").write_text(draft.markdown, encoding="utf-8")
    kb = KnowledgeBase(Settings(data_dir=tmp_path / "data", _env_file=None), embedder)
    try:
        assert not ingest_paths(kb, [tmp_path / "postmortems"], progress=False).failed
        sections = {c.section.split(" > ")[0] for c in kb.document_chunks("odd.md")}
    finally:
        kb.close()
    assert {"Summary", "Timeline", "Metrics", "Before publishing"} <= sections
    assert "Not a section" not in sections
    (row,) = [e for e in parse_timeline(draft.markdown).events if e.cells.get("Kind") == "note"]
    assert row.cells["Event"] == "pipe | and &lt;!-- comment"


def test_a_customer_impact_written_as_a_list_stays_a_list(store: IncidentStore) -> None:
    # Found as a new user: an imported postmortem's Impact list came out of the pre-fill as one
    # line, "Customer impact: - Duration: 10:14 to 11:06 UTC (52 min). - Checkout ...".
    listed = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="DNS outage",
            severity="SEV1",
            customer_impact=(
                "- Duration: 10:14 to 11:06 UTC (52 min).\n"
                "- Checkout success rate dropped to 0% for 38 minutes, with\n"
                "  about 14,500 attempts failed.\n"
                "- <!-- not a comment"
            ),
            started_at=at(0),
        ),
    )
    impact = draft_postmortem(store=store, incident_id=listed.id, kb=None).sections["impact"]
    assert "- Customer impact (record: customer_impact):\n" in impact
    assert "\n  - Duration: 10:14 to 11:06 UTC (52 min).\n" in impact
    # A wrapped line stays with its item; nothing can open a comment.
    assert "\n  - Checkout success rate dropped to 0% for 38 minutes, with about 14,500" in impact
    assert "\n  - &lt;!-- not a comment" in impact
    # One line of prose stays one line.
    plain = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title="Slow", severity="SEV3", customer_impact="Some pages were slow.", started_at=at(0)
        ),
    )
    impact = draft_postmortem(store=store, incident_id=plain.id, kb=None).sections["impact"]
    assert "- Customer impact: Some pages were slow. (record: customer_impact)" in impact
