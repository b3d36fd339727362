"""List items in Markdown: one marker for every module that reads them.

Steps, postmortem timelines, the guardrails' screens and the history import each find list items;
they used to carry their own copy of the pattern, with small differences (one counted "2026. " as
an item). An item opens with "-", "*" or "+", or a number of up to three digits and "." or ")",
then white space.
"""

from __future__ import annotations

import re

# The marker itself, to build a pattern around ("(?:[-*+]|\d{1,3}[.)])\s+").
LIST_MARKER = r"(?:[-*+]|\d{1,3}[.)])\s+"

# An item at any indentation: nested items sit under their parent's text.
LIST_ITEM = re.compile(r"^\s*" + LIST_MARKER)

# An item at the margin (CommonMark: indented up to three spaces).
MARGIN_LIST_ITEM = re.compile(r"^\s{0,3}" + LIST_MARKER)
