"""The template file: packaged default, a team's replacement, and bad templates refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.errors import ConfigError
from copilot.postmortem.template import SECTIONS, load_template, parse_template


def test_default_template_has_every_section_under_its_heading() -> None:
    template = load_template()
    assert template.source == "default"
    assert set(template.placeholders) == {"title", "draft_note", *SECTIONS}
    headings = template.headings()
    assert headings["root_cause"] == "Root cause and contributing factors"
    assert headings["action_items"] == "Action items"
    assert list(headings) == list(SECTIONS)
    # The comment for template authors is not part of the draft.
    assert "<!--" not in template.render({})


def test_a_team_template_keeps_its_own_text_and_order(tmp_path: Path) -> None:
    path = tmp_path / "ours.md"
    path.write_text(
        "# {{ title }}\n\n## Customer comms\n\nWho told whom, when.\n\n"
        "## Chronology\n\n{{timeline}}\n\n## Summary\n\n{{ summary }}\n",
        encoding="utf-8",
    )
    template = load_template(path)
    assert template.headings() == {"timeline": "Chronology", "summary": "Summary"}
    out = template.render({"title": "T", "timeline": "ROWS", "summary": "S"})
    assert out == (
        "# T\n\n## Customer comms\n\nWho told whom, when.\n\n## Chronology\n\nROWS\n\n"
        "## Summary\n\nS\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## A\n\n{{ sumary }}\n", r"unknown placeholder\(s\) sumary"),
        ("---\nkind: runbook\n---\n## A\n\n{{ summary }}\n", "remove its front matter"),
        ("## A\n\nno placeholders at all\n", "uses none of the pre-filled sections"),
    ],
)
def test_bad_templates_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_template(text, source="t.md")


def test_missing_template_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_template(tmp_path / "nope.md")
