"""Side channels: the parts of a document a reader skims or never sees rendered.

Footnotes, link definitions, definition lists, quotes and callouts, collapsed `<details>` blocks,
HTML comments, image descriptions and a command's sample output carry text past a reader;
`injection.judge` holds what they order to a stricter bar.
"""

from __future__ import annotations

import re

from copilot.fences import FENCE
from copilot.guardrails import risk

_FOOTNOTE = re.compile(r"^\s{0,3}\[\^[^\]]+\]:")
LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]^][^\]]*\]:\s*\S")
_DEFINITION = re.compile(r"^\s{0,3}:\s+\S", re.MULTILINE)
_QUOTE = re.compile(r"^\s{0,3}>")
_ALT_TEXT = re.compile(r"!\[([^\]]{12,})\]")


# What introduces a command's sample output: "Expected output:", "It should print:".
_OUTPUT_LEAD = re.compile(
    r"(?:\b(?:expected|example|sample|typical)\s+(?:output|response|result)|\boutput\s+(?:looks|is)"
    r"\s+like|\bshould\s+(?:print|show|return|look\s+like|output))[^\n]*:\s*$",
    re.I,
)


def side_channels(parts: list[str]) -> list[str | None]:
    """For each unit, the kind of side channel it sits in (None: the document's main text).

    Footnotes, link definitions, definition lists, quotes and callouts, collapsed `<details>`
    blocks and HTML comments (across units), image descriptions, and a code block that shows a
    command's expected output."""
    out: list[str | None] = []
    details = comment = 0
    for i, unit in enumerate(parts):
        if FENCE.match(unit):
            # A code block is the procedure's own text: markup inside it is literal. What a
            # command prints is not an order: a command in sample output is planted there.
            sample = i > 0 and bool(_OUTPUT_LEAD.search(parts[i - 1]))
            out.append("collapsed block" if details > 0 else ("sample output" if sample else None))
            continue
        lowered = unit.lower()
        inside = "collapsed block" if details > 0 else ("comment" if comment > 0 else None)
        details += lowered.count("<details") - lowered.count("</details")
        comment += unit.count("<!--") - unit.count("-->")
        lines = [line for line in unit.split("\n") if line.strip()]
        if inside is None and ("<details" in lowered or "<!--" in unit):
            inside = "collapsed block" if "<details" in lowered else "comment"
        if inside is None and lines:
            if _FOOTNOTE.match(lines[0]):
                inside = "footnote"
            elif LINK_DEFINITION.match(lines[0]):
                inside = "link definition"
            elif _DEFINITION.search(unit) and not FENCE.match(lines[0]):
                inside = "definition"
            elif all(_QUOTE.match(line) for line in lines):
                inside = "quote"
            elif _ALT_TEXT.search(unit) and risk.scan(" ".join(_ALT_TEXT.findall(unit))):
                inside = "image description"
        out.append(inside)
        details, comment = max(details, 0), max(comment, 0)
    return out
