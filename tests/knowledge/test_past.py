"""Reading a past postmortem: what happened, root cause, fix and action items, with lines."""

from __future__ import annotations

from datetime import date

from copilot.knowledge import past
from copilot.knowledge.store import KnowledgeBase
from tests.conftest import SAMPLE_KB

PGBOUNCER = "postmortems/2026-02-03-checkout-outage-pgbouncer-pool-exhaustion.md"


def _lines(source: str, span: tuple[int, int]) -> str:
    lines = (SAMPLE_KB / source).read_text(encoding="utf-8").split("\n")
    return "\n".join(lines[span[0] - 1 : span[1]])


def test_items_reads_tables_and_lists() -> None:
    text = (
        "| Action | Owner |\n|---|---|\n| Fix the pool | team-a |\n| Add an alert | team-b |\n\n"
        "- First\n  continued\n  - nested\n- Second\n"
    )
    assert past.items(text) == [
        "Fix the pool — team-a",
        "Add an alert — team-b",
        "First continued; nested",
        "Second",
    ]


def test_read_quotes_sections_with_their_lines(sample_kb: KnowledgeBase) -> None:
    read = past.read(sample_kb, PGBOUNCER)
    assert read is not None
    assert read.day == date(2026, 2, 3) and read.year == 2026
    assert "pgbouncer" in read.tags and "orders-db" in read.services
    assert read.root_cause is not None
    assert read.root_cause.section == "Root cause"
    assert "BEGIN" in _lines(PGBOUNCER, read.root_cause.lines)
    assert read.action_items[0].text.startswith("Move the fraud check outside")
    for item in read.action_items:
        assert item.text.split(" — ")[0] in _lines(PGBOUNCER, item.lines)
    assert read.contributing and "canary" in read.contributing[0].text
    # No resolution section: the summary's sentence that says how it ended, whole.
    assert past.what_fixed_it(read.passages).startswith("Rolling back the release and terminating")
    assert past.what_fixed_it(read.passages).endswith("restored service.")
    assert read.fixed.startswith("Rolling back the release")


def test_date_of_reads_titles_and_dfds_style_names() -> None:
    assert past.date_of("2026-02-03 Checkout outage", "x.md") == (date(2026, 2, 3), 2026)
    assert past.date_of("Logs not shipped", "pm/PM2021-005 - All services.md") == (None, 2021)
    assert past.date_of("No date", "x.md") == (None, None)


def test_a_fix_found_only_in_the_timeline_reads_as_sentences_with_their_times(
    sample_kb: KnowledgeBase,
) -> None:
    """The CoreDNS postmortem has no resolution section: its fix is in timeline entries, shown
    as "10:34: ..." sentences, not as raw entries with their date stamps."""
    source = "postmortems/2026-09-30-platform-wide-outage-coredns-misconfiguration.md"
    passages = past.document_passages(sample_kb.document_chunks(source), score=1.0)
    fixed = past.fixed_excerpt(passages)
    assert fixed is not None and fixed.section.endswith("Timeline")
    assert fixed.text.startswith("10:34: Decision to use break-glass access")
    assert "2026-09-30" not in fixed.text and "`2026" not in fixed.text
    assert "previous Corefile applied" in fixed.text
    assert fixed.text.endswith(".") and ";." not in fixed.text
    # Every entry it quotes is in the lines it cites.
    quoted = _lines(source, fixed.lines)
    assert "Same fix applied to `prod-eu-1`" in quoted and "Same fix applied" in fixed.text


def test_timeline_stamps_of_other_shapes() -> None:
    for entry, expected in [
        ("**14:02** Rolled back the deploy", "14:02: Rolled back the deploy."),
        ("2026-01-02T09:15Z - restarted the consumers.", "09:15: Restarted the consumers."),
        ("09:15 UTC | failed over to the replica", "09:15: Failed over to the replica."),
        ("Rolled back at noon", "Rolled back at noon."),
    ]:
        assert past._timeline_sentence(entry) == expected


def test_what_was_deleted_or_excluded_to_fix_it_is_read_from_the_timeline(
    sample_kb: KnowledgeBase,
) -> None:
    """The overselling postmortem says what fixed it only in its timeline, in words ("Leader pod
    deleted", "DC-South temporarily excluded") that also tell how incidents begin."""
    source = "postmortems/2026-05-11-overselling-inventory-sync-stalled.md"
    passages = past.document_passages(sample_kb.document_chunks(source), score=1.0)
    fixed = past.what_fixed_it(passages)
    assert fixed.startswith("08:58: Leader pod deleted")
    assert "09:03: DC-South temporarily excluded" in fixed


def test_a_deletion_that_began_the_incident_is_not_what_fixed_it() -> None:
    entries = [
        "00:30 Pipeline applied a malformed change; all worker nodes deleted",
        "00:31 Routine job deleted old snapshots",
        "00:45 Alert fires: no schedulable nodes; SEV1 declared",
        "01:00 Discovered that the autoscaler was deleted too",
        "01:05 Alert fires again; stale pods deleted",
        "01:10 Node group rebuilt from the last good template",
        "01:20 Stuck pods deleted, workloads rescheduled",
    ]
    assert past._fix_entries(entries) == [entries[5], entries[6]]
