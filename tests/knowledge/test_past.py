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
