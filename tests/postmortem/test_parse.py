"""The timeline parser: tables and lists, zones, partial times, and the sample postmortems."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from copilot.postmortem.parse import parse_timeline, placed, section_text, title_of
from tests.conftest import SAMPLE_KB

TABLE_CET = """# Ingress outage

## Summary

Winter and summer rows.

## Timeline

All times in CET.

| Time             | Event                               |
| :--------------- | ----------------------------------- |
| 2020-01-21 15:36 | Certificate expires \\| alerts quiet |
| 2020-06-09 12:25 | CloudWatch alert fires<br>on 5XX     |
| 2020-06-09 13:13 | Issue resolved &amp; fixed           |

## Action items

- not a timeline row 2020-06-10 10:00
"""


def test_table_rows_in_cet_convert_to_utc_with_summer_time() -> None:
    timeline = parse_timeline(TABLE_CET)
    assert timeline.zone == "CET" and timeline.zone_stated
    assert [e.text for e in timeline.events] == [
        "Certificate expires | alerts quiet",
        "CloudWatch alert fires on 5XX",
        "Issue resolved & fixed",
    ]
    assert [e.at for e in timeline.events] == [
        datetime(2020, 1, 21, 14, 36, tzinfo=UTC),  # CET is UTC+1 in January
        datetime(2020, 6, 9, 10, 25, tzinfo=UTC),  # and UTC+2 in June
        datetime(2020, 6, 9, 11, 13, tzinfo=UTC),
    ]
    assert all(e.precision == "minute" for e in timeline.events)
    assert timeline.events[0].line == 13


LIST_UTC = """## Timeline

All times UTC.

- `2026-04-19 08:41` — **Impact starts.** Shard 2 reaches `maxmemory`;
  shards 0 and 1 follow.
- `2026-04-19 10:05` `RedisCartsMemoryHigh` fires again.
  - nested detail joins the item above
- 11:20 time only takes the date above
* **2026-04-20 09:00** bold stamp, next day

## Root cause
"""


def test_list_items_with_continuations_and_carried_dates() -> None:
    events = parse_timeline(LIST_UTC).events
    assert [e.text for e in events] == [
        "**Impact starts.** Shard 2 reaches `maxmemory`; shards 0 and 1 follow.",
        "`RedisCartsMemoryHigh` fires again. nested detail joins the item above",
        "time only takes the date above",
        "bold stamp, next day",
    ]
    assert [e.at for e in events] == [
        datetime(2026, 4, 19, 8, 41, tzinfo=UTC),
        datetime(2026, 4, 19, 10, 5, tzinfo=UTC),
        datetime(2026, 4, 19, 11, 20, tzinfo=UTC),
        datetime(2026, 4, 20, 9, 0, tzinfo=UTC),
    ]
    assert events[2].date_carried and not events[1].date_carried


PARTIAL = """## Timeline

| When | Who | What |
|---|---|---|
| 2024-03-13 10:01 | ops | Node NotReady |
| 2024-03-13 14:?? | dev | Scaled the container down |
| 2022-05-?? HH:mm | ops | Detected some time in May |
| 2021/22-??-?? HH:mm | ops | Ran the script at an unknown date |
| ~2024-03-13 15:30 | ops | Roughly then |
| 2020-10-06 09:00 - 11:00 | ops | A range keeps its start |
"""


def test_partial_times_keep_their_place_and_say_what_is_known() -> None:
    events = parse_timeline(PARTIAL).events
    assert [e.precision for e in events] == ["minute", "day", "month", "none", "minute", "minute"]
    assert events[0].text == "ops — Node NotReady"
    assert events[0].cells == {"When": "2024-03-13 10:01", "Who": "ops", "What": "Node NotReady"}
    assert events[1].at is None and events[1].day is not None
    assert events[4].approximate and events[4].at == datetime(2024, 3, 13, 15, 30, tzinfo=UTC)
    assert events[5].at == datetime(2020, 10, 6, 9, 0, tzinfo=UTC)
    times = placed(events)
    # Rows of unknown time sit where the document puts them: at the time of the row above.
    assert times[1] == times[0]
    assert times[2] == times[1] and times[3] == times[2]


def test_time_column_found_by_its_header() -> None:
    text = "## Timeline\n\n| Event | Time (UTC) |\n|---|---|\n| Paged | 2026-01-01 10:00 |\n"
    (event,) = parse_timeline(text).events
    assert event.text == "Paged" and event.at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def test_no_timeline_section_is_no_events() -> None:
    timeline = parse_timeline("# Title\n\n## Summary\n\n- 2026-01-01 10:00 not a timeline\n")
    assert timeline.events == [] and timeline.heading is None


def test_no_zone_stated_means_utc() -> None:
    timeline = parse_timeline("## Timeline\n\n- 2026-01-01 10:00 paged\n")
    assert timeline.zone == "UTC" and not timeline.zone_stated
    assert timeline.events[0].at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def test_headings_inside_code_fences_do_not_end_the_section() -> None:
    text = "# T\n\n## Timeline\n\n```\n## not a heading\n```\n\n- 2026-01-01 10:00 paged\n"
    assert [e.text for e in parse_timeline(text).events] == ["paged"]
    assert title_of(text) == "T"
    assert section_text(text, "timeline") is not None


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("2026-01-22-search-outage-opensearch-disk-watermark.md", 16),
        ("2026-02-03-checkout-outage-pgbouncer-pool-exhaustion.md", 14),
        ("2026-04-19-carts-emptied-redis-eviction.md", 13),
        ("2026-05-11-overselling-inventory-sync-stalled.md", 14),
        ("2026-09-30-platform-wide-outage-coredns-misconfiguration.md", 15),
    ],
)
def test_sample_postmortems_parse_every_row(name: str, count: int) -> None:
    text = (SAMPLE_KB / "postmortems" / name).read_text(encoding="utf-8")
    events = parse_timeline(text).events
    # Counted by hand: every row of the table, every top-level item of the list.
    assert len(events) == count
    assert all(e.precision == "minute" for e in events)
    # The stamp is not left at the start of the text, whether it was in backticks or a cell.
    assert not any(re.match(r"[`*]*\d{4}-\d{2}-\d{2}", e.text) for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events if e.at)
