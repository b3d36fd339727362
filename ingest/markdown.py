"""Parse markdown with optional YAML front matter into clean, line-addressed sections."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

from copilot.guardrails.injection import reasons_for
from copilot.guardrails.references import REFERENCE_DEFINITION, REFERENCE_LINK
from copilot.knowledge.models import KINDS, Kind


class ParseError(ValueError):
    """The file cannot be turned into sections; the message says why."""


_FRONT_MATTER_FIELDS = ("title", "kind", "services", "tags", "alerts", "owner", "severity")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# Characters that render as nothing but still reach a model: zero-width, bidi controls, the
# invisible "tag" block (used to smuggle ASCII), word joiners and the byte-order mark.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\U000e0000-\U000e007f]"
)


@dataclass
class Section:
    heading_path: tuple[str, ...]
    line_start: int  # 1-based, inclusive, in the original file
    line_end: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass
class ParsedDocument:
    title: str
    kind: Kind
    meta: dict[str, Any]
    sections: list[Section]
    sanitized: tuple[str, ...] = field(default=())


def open_fences(lines: list[str]) -> list[str | None]:
    """For each line, the fence line that opened the code block still open after it (None: no
    block is open). A piece of a section cut from the middle of a block reopens it with this."""
    out: list[str | None] = []
    opener: str | None = None
    fence = ""
    for line in lines:
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if opener is None:
                opener, fence = line, marker[0] * 3
            elif marker.startswith(fence):
                opener = None
        out.append(opener)
    return out


def closing_fence(opener: str) -> str:
    """The line that closes the block `opener` opened, at the same indent."""
    match = _FENCE.match(opener)
    assert match is not None
    return opener[: match.start(1)] + match.group(1)


def code_lines(lines: list[str]) -> list[bool]:
    """For each line, whether it is code: a fence line or a line inside a fenced block."""
    after = open_fences(lines)
    return [
        bool(_FENCE.match(line)) or (i > 0 and after[i - 1] is not None)
        for i, line in enumerate(lines)
    ]


def inline_references(text: str) -> tuple[str, int]:
    """Reference-style links written inline (`[text][ref]` -> `[text](url)`), and the definitions
    they used blanked (line numbers kept): a link is judged, and read, where it is used, not in
    a list at the end of the document that another section holds. Code blocks are left alone.
    Returns the text and how many links were rewritten."""
    lines = text.split("\n")
    outside = [not code for code in code_lines(lines)]
    definitions: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(lines):
        found = REFERENCE_DEFINITION.match(line) if outside[i] else None
        if found:
            definitions.setdefault(found.group(1).strip().lower(), (i, found.group(2)))
    if not definitions:
        return text, 0
    used: set[int] = set()
    count = 0

    def inline(match: re.Match[str]) -> str:
        nonlocal count
        label = (match.group(2) or match.group(1)).strip().lower()
        if label not in definitions:
            return match.group(0)
        index, url = definitions[label]
        used.add(index)
        count += 1
        return f"[{match.group(1)}]({url})"

    for i, line in enumerate(lines):
        if outside[i] and i not in {d for d, _ in definitions.values()}:
            lines[i] = REFERENCE_LINK.sub(inline, line)
    for i in used:
        lines[i] = ""
    return "\n".join(lines), count


def sanitize(text: str) -> tuple[str, list[str]]:
    """Drop HTML comments and invisible characters, keeping line numbers; say what went.

    When the removed text carries instructions aimed at an AI, `hidden_instructions` is recorded
    too, so that answers built on the document can say it was tampered with.
    """
    removed: list[str] = []
    hidden: list[str] = []

    def _blank_comment(match: re.Match[str]) -> str:
        hidden.append(match.group(0))
        return "\n" * match.group(0).count("\n")

    cleaned, comments = _HTML_COMMENT.subn(_blank_comment, text)
    if comments:
        removed.append("html_comment")
    cleaned, _ = inline_references(cleaned)
    # Unicode tag characters mirror ASCII: decode what they smuggle before dropping them.
    smuggled = "".join(chr(ord(ch) - 0xE0000) for ch in cleaned if 0xE0020 <= ord(ch) <= 0xE007E)
    if smuggled:
        hidden.append(smuggled)
    cleaned, invisible = _INVISIBLE.subn("", cleaned)
    # Any other format character (category Cf) is invisible too; keep none of them.
    if any(unicodedata.category(ch) == "Cf" for ch in cleaned):
        before = len(cleaned)
        cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) != "Cf")
        invisible += before - len(cleaned)
    if invisible:
        removed.append("invisible_characters")
    if hidden and reasons_for("\n".join(hidden)):
        removed.append("hidden_instructions")
    return cleaned, removed


def _as_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ParseError(f"front matter field '{name}' must be a string or a list")


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """Return the front matter mapping and how many lines it took."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            block = "\n".join(lines[1:i])
            try:
                data = yaml.safe_load(block) if block.strip() else {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 2}" if mark is not None else ""
                raise ParseError(f"front matter is not valid YAML{where}") from None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise ParseError("front matter must be a YAML mapping")
            return data, i + 1
    raise ParseError("front matter opened with '---' is never closed")


def normalise_meta(raw: dict[str, Any], *, default_kind: Kind) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    kind = raw.get("kind", default_kind)
    if kind is None:
        kind = default_kind
    kind = str(kind).strip().lower()
    if kind not in KINDS:
        raise ParseError(
            f"front matter field 'kind' must be one of {', '.join(KINDS)}, not {kind!r}"
        )
    meta["kind"] = kind
    for name in ("services", "tags", "alerts"):
        meta[name] = _as_list(raw.get(name), name)
    for name in ("title", "owner", "severity"):
        value = raw.get(name)
        if value is not None and not isinstance(value, str | int | float):
            raise ParseError(f"front matter field '{name}' must be a string")
        meta[name] = str(value).strip() if value is not None else ""
    return meta


def parse_markdown(text: str, *, fallback_title: str, default_kind: Kind) -> ParsedDocument:
    """Split a markdown file into sections by heading, outside fenced code blocks."""
    if "\x00" in text:
        raise ParseError("file contains NUL bytes; it is not a text document")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw_meta, body_start = split_front_matter(text)
    meta = normalise_meta(raw_meta, default_kind=default_kind)
    cleaned, removed = sanitize(text)
    lines = cleaned.split("\n")

    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    current = Section(heading_path=(), line_start=body_start + 1, line_end=body_start, lines=[])
    first_h1: str | None = None
    code = code_lines(lines[body_start:])

    for index in range(body_start, len(lines)):
        line = lines[index]
        lineno = index + 1
        heading = None if code[index - body_start] else _HEADING.match(line)
        if heading:
            if current.text:
                sections.append(current)
            level = len(heading.group(1))
            title_text = _strip_inline(heading.group(2))
            if level == 1 and first_h1 is None:
                first_h1 = title_text
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title_text)]
            current = Section(
                heading_path=tuple(t for _, t in path),
                line_start=lineno,
                line_end=lineno,
                lines=[],
            )
            continue
        current.lines.append(line)
        if line.strip():
            current.line_end = lineno
    if current.text:
        sections.append(current)

    title = meta["title"] or first_h1 or fallback_title
    return ParsedDocument(
        title=title, kind=meta["kind"], meta=meta, sections=sections, sanitized=tuple(removed)
    )


def _strip_inline(text: str) -> str:
    return re.sub(r"[`*_]", "", text).strip()
