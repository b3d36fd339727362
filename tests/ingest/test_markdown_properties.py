"""Property tests: the parser never crashes on text, and never loses or invents lines."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import chunk_document, windows
from ingest.markdown import ParseError, open_fences, parse_markdown, sanitize

_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "# Title",
            "## Diagnosis",
            "### Deep",
            "```",
            "   ```bash",
            "~~~",
            "---",
            "- item `cmd x`",
            "1. step",
            "<!-- hidden -->",
            "<!--",
            "-->",
            "",
            "title: x",
            "kind: postmortem",
            "\u200b",
            "\u202e",
        ]
    ),
)
documents = st.lists(_line, max_size=40).map("\n".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_parser_accepts_any_text_or_says_why(text: str) -> None:
    try:
        doc = parse_markdown(text, fallback_title="fallback", default_kind="runbook")
    except ParseError as exc:
        assert str(exc)
        return
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for section in doc.sections:
        assert 1 <= section.line_start <= section.line_end <= len(lines)
        assert section.text
    chunks = chunk_document(doc, source="x.md", max_words=20, overlap_words=5)
    for chunk in chunks:
        assert 1 <= chunk.line_start <= chunk.line_end <= len(lines)
        assert "\u200b" not in chunk.embed_text and "<!--" not in chunk.text
    # A section whose code blocks all close gives chunks whose code blocks all close.
    for section in doc.sections:
        if section.lines and open_fences(section.lines)[-1] is None:
            for _, _, part in windows(section, max_words=20, overlap_words=5):
                assert open_fences(part.split("\n"))[-1] is None, part
    assert len({c.id for c in chunks}) == len(chunks)


@given(st.text(max_size=200))
def test_sanitize_keeps_line_count_and_is_idempotent(text: str) -> None:
    cleaned, _ = sanitize(text)
    assert cleaned.count("\n") == text.count("\n")
    again, removed = sanitize(cleaned)
    assert again == cleaned and "invisible_characters" not in removed


@given(
    st.dictionaries(
        st.sampled_from(["title", "kind", "services", "tags", "alerts", "owner", "severity"]),
        st.one_of(
            st.text(max_size=10),
            st.integers(),
            st.lists(st.text(max_size=5), max_size=3),
            st.none(),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
    )
)
def test_front_matter_of_any_shape_parses_or_names_the_field(meta: dict[str, object]) -> None:
    import yaml

    text = "---\n" + yaml.safe_dump(meta) + "---\n# Body\n\ntext\n"
    try:
        doc = parse_markdown(text, fallback_title="f", default_kind="runbook")
    except ParseError as exc:
        assert any(name in str(exc) for name in meta) or "YAML" in str(exc)
        return
    assert doc.kind in ("runbook", "postmortem")
    assert all(isinstance(s, str) for s in doc.meta["services"])
