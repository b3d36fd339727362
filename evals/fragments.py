"""How a labelled fragment is found in what a responder reads: a step's text or its command,
as written or as read (a link read as its text), a command written over several lines read as one.

The reader eval (`reader.py`) scores step recall with it; the "what fixed it" eval
(`fixed_by.py`) compares its phrases the same way.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from copilot.assist.schemas import AskResponse


def norm(text: str) -> str:
    """Whitespace collapsed, case folded: how fragments and headings are compared."""
    return " ".join(text.split()).casefold()


_LINKED = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])")


def as_read(text: str) -> str:
    """A step as a person reads it: a link is its text, whether the document wrote it inline
    (`[image pruner](https://...)`) or by reference (`[image pruner][imagePruner]`), which a
    step may resolve to the inline form. A list item's closing stop is not part of what it
    says: items folded into their parent are joined with "; "."""
    return norm(_LINKED.sub(r"\1", text)).rstrip(" .;,")


_CONTINUATION = re.compile(r"\\\n")
_TRAILING_CONTINUATION = re.compile(r"\s*\\\s*$")


def missed_fragments(case: dict[str, Any], answer: AskResponse) -> list[str]:
    """The labelled fragments of a case that no step of the answer holds."""
    # A command written over several lines is read as one: `oc get x \` / `-o yaml` is
    # `oc get x -o yaml`, as a fragment taken from a one-line copy of it says.
    commands = [_CONTINUATION.sub(" ", s.command or "") for s in answer.steps]
    written = [norm(s.text) for s in answer.steps] + [norm(c) for c in commands]
    read = [as_read(s.text) for s in answer.steps]
    # A fragment copied as a line of the file may run from one sentence into the next ("... the
    # affected row. Select "Expand" and"); the answer shows them as two steps, one after the
    # other, and the reader reads on from one to the next.
    texts = [s.text for s in answer.steps]
    for first, second in pairwise(texts):
        written.append(norm(f"{first} {second}"))
        read.append(as_read(f"{first} {second}"))

    def found(fragment: str) -> bool:
        # As written (a fragment may hold a link's brackets), or as read (the step may show
        # the link in another form).
        # A fragment copied with its line's continuation ("oc exec pod/x -- \\") is the
        # command's first line, read as one with the rest.
        as_written, heard = norm(_TRAILING_CONTINUATION.sub("", fragment)), as_read(fragment)
        return any(as_written in x for x in written) or any(heard in x for x in read)

    return [f for f in case.get("steps", []) if norm(f) and not found(f)]
