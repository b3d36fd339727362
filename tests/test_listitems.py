"""One list-item marker for every reader of Markdown lists."""

from __future__ import annotations

import pytest

from copilot.guardrails import screened
from copilot.listitems import LIST_ITEM, MARGIN_LIST_ITEM


@pytest.mark.parametrize(
    ("line", "item", "at_margin"),
    [
        ("- roll back", True, True),
        ("* roll back", True, True),
        ("+ roll back", True, True),
        ("1. roll back", True, True),
        ("12) roll back", True, True),
        ("   - nested under a three-space indent", True, True),
        ("      - nested under its parent's text", True, False),
        ("2026. The year the pool ran out.", False, False),  # a year, not an item
        ("-roll back", False, False),  # no space after the marker
        ("**Bold** opening", False, False),
    ],
)
def test_what_opens_a_list_item(line: str, item: bool, at_margin: bool) -> None:
    assert bool(LIST_ITEM.match(line)) is item
    assert bool(MARGIN_LIST_ITEM.match(line)) is at_margin


def test_the_guardrails_screen_reads_the_same_marker() -> None:
    # screened.py once took "2026. " for a list marker (any number of digits).
    assert screened._LIST_ITEM.match("2026. The year") is None
    assert screened._LIST_ITEM.match("2. Restart the pod") is not None
