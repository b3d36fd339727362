"""Code fences in Markdown: one set of rules for every module that reads them.

The guardrails, the postmortem parser, the step extractor and the CLI each skip or keep what a
fence holds; they used to carry their own copy of the pattern. A fence is three backticks or
three tildes, the language after it optional.
"""

from __future__ import annotations

import re

# A line that opens or closes a fence at the margin (CommonMark: indented up to three spaces);
# group 1 is the marker, to find the line that closes it.
FENCE = re.compile(r"^\s{0,3}(```|~~~)")

# The same at any indentation: a fence inside a list item sits under the item's text, and the
# step extractor reads items with their code blocks.
NESTED_FENCE = re.compile(r"^\s*(```|~~~)")

# A whole fence line (marker and language, nothing else), to strip fences from a snippet.
FENCE_LINE = re.compile(r"^\s*(?:```|~~~)[\w+-]*\s*$", re.MULTILINE)
