"""What a document defines in one place and uses in another: shell variables and reference links.

A command's host can sit in a variable set three sections earlier (`export DR_HOST=...`), and a
link's address in a definition at the end of the file (`[label]: https://...`). The guardrails
read a part with them written in; ingest writes reference links inline with the same patterns.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_DEFINITION_OF = re.compile(
    r"(?:^|[\s;`])(?:export\s+|set\s+-x\s+|setenv\s+)?([A-Z][A-Z0-9_]{2,})=(['\"]?)([^\s'\";`]+)\2"
)


def definitions(parts: list[str]) -> dict[str, str]:
    """Shell variables the document sets anywhere (`export DR_HOST=203.0.113.7`)."""
    out: dict[str, str] = {}
    for part in parts:
        for name, _, value in _DEFINITION_OF.findall(part):
            out.setdefault(name, value)
    return out


# A reference-style link (`[text][label]`, `[label][]`) and the line that defines its label
# (`[label]: <url> "title"`); ingest writes such links inline with these (`ingest.markdown`).
REFERENCE_DEFINITION = re.compile(
    r"^[ \t]{0,3}\[([^\]^][^\]]*)\]:[ \t]*<?([^\s>]+)>?(?:[ \t].*)?$", re.M
)
REFERENCE_LINK = re.compile(r"\[([^\]]+)\]\[([^\]]*)\]")


def link_references(parts: list[str]) -> dict[str, str]:
    """Reference-style link definitions anywhere in the document (`[label]: https://...`)."""
    out: dict[str, str] = {}
    for part in parts:
        for label, url in REFERENCE_DEFINITION.findall(part):
            out.setdefault(label.strip().lower(), url)
    return out


def resolve_references(unit: str, references: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """`unit` with its reference links written inline, and which (reference, URL) it used."""
    cited: list[tuple[str, str]] = []

    def inline(match: re.Match[str]) -> str:
        label = (match.group(2) or match.group(1)).strip().lower()
        url = references.get(label)
        if url is None:
            return match.group(0)
        cited.append((match.group(0), url))
        return f"[{match.group(1)}]({url})"

    return REFERENCE_LINK.sub(inline, unit), cited


def uses(text: str, names: Collection[str]) -> bool:
    return any(f"${n}" in text or f"${{{n}}}" in text for n in names)


def expand(unit: str, defined: dict[str, str]) -> tuple[str, set[str]]:
    """`unit` with the variables it uses replaced by their values, and which it used."""
    used = {n for n in defined if uses(unit, (n,))}
    for name in used:
        unit = unit.replace(f"${{{name}}}", defined[name]).replace(f"${name}", defined[name])
    return unit, used
