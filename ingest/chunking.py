"""Cut parsed sections into chunks the embedding model can see whole."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from copilot.knowledge.models import Chunk
from copilot.knowledge.terms import split_camel
from ingest.markdown import ParsedDocument, Section, closing_fence, open_fences

OVERVIEW = "Overview"
# Bump when what a chunk embeds or indexes changes: each file's fingerprint includes it, so the
# next ingest re-does every file once instead of keeping chunks made the old way.
# 2: titles and headings embedded with CamelCase names split into words.
# 3: reference-style links written inline where they are used (`markdown.inline_references`).
# 4: a window cut inside a fenced code block reopens or closes it (`balanced` in `windows`).
CHUNK_FORMAT = 4
# A name joined from several words: a lower-case letter or digit runs into a capital. "ADSync"
# or "OAuth" (one acronym and a word) stay whole.
_JOINED_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*")


def readable(text: str) -> str:
    """Text with CamelCase names split into words, as the embedding model reads them best.

    Runbooks named after their alert often have "KubePodCrashLooping" as title or heading;
    the model sees "Kube Pod Crash Looping".
    """
    return _JOINED_NAME.sub(lambda m: split_camel(m.group(0)), text)


def section_label(section: Section, title: str) -> str:
    path = list(section.heading_path)
    if path and path[0].casefold() == title.casefold():
        path = path[1:]
    return " > ".join(path) if path else OVERVIEW


def _units(section: Section, max_words: int) -> list[tuple[int, str]]:
    """Lines of a section with their numbers; a line longer than the window is cut in pieces."""
    units: list[tuple[int, str]] = []
    first_body_line = section.line_start + (1 if section.heading_path else 0)
    for offset, line in enumerate(section.lines):
        lineno = first_body_line + offset
        words = line.split()
        step = max(1, max_words // 2)
        if len(words) <= step:
            units.append((lineno, line))
            continue
        for i in range(0, len(words), step):
            units.append((lineno, " ".join(words[i : i + step])))
    return units


def windows(section: Section, *, max_words: int, overlap_words: int) -> list[tuple[int, int, str]]:
    """(line_start, line_end, text) windows of at most about max_words, overlapping."""
    units = _units(section, max_words)
    while units and not units[0][1].strip():
        units.pop(0)
    while units and not units[-1][1].strip():
        units.pop()
    if not units:
        return []
    counts = [len(text.split()) for _, text in units]
    if sum(counts) <= max_words:
        return [(units[0][0], units[-1][0], "\n".join(t for _, t in units).strip())]
    first_body_line = section.line_start + (1 if section.heading_path else 0)
    after = open_fences(section.lines)

    def open_after(lineno: int) -> str | None:
        index = lineno - first_body_line
        return after[index] if 0 <= index < len(after) else None

    def balanced(part: list[tuple[int, str]]) -> str:
        """The window's lines as markdown of their own: a window that starts inside a code block
        reopens it, one that ends inside it closes it (a block's own fence line at either end,
        which would leave an empty block, is left out)."""
        lines = [t for _, t in part]
        reopened = False
        before, first = open_after(part[0][0] - 1), open_after(part[0][0])
        if before is not None and first is None:
            lines = lines[1:]  # the window starts on the block's closing fence
        elif before is not None:
            lines = [before, *lines]
            reopened = True
        last, previous = open_after(part[-1][0]), open_after(part[-1][0] - 1)
        if last is not None and previous is None:
            lines = lines[:-1]  # the window ends on the block's opening fence
        elif last is not None:
            lines = [*lines, closing_fence(last)]
        text = "\n".join(lines)
        # A reopened block keeps its fence's indent: the renderer takes that much off each line.
        return text.strip("\n").rstrip() if reopened else text.strip()

    out: list[tuple[int, int, str]] = []
    start = 0
    while start < len(units):
        end, total = start, 0
        while end < len(units) and (total + counts[end] <= max_words or end == start):
            total += counts[end]
            end += 1
        text = balanced(units[start:end])
        if text:
            out.append((units[start][0], units[end - 1][0], text))
        if end >= len(units):
            break
        # Step back far enough that the next window repeats about overlap_words of this one.
        back, carried = end, 0
        while back > start + 1 and carried < overlap_words:
            back -= 1
            carried += counts[back]
        start = back if back > start else end
    return out


def chunk_document(
    doc: ParsedDocument, *, source: str, max_words: int, overlap_words: int
) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    meta = doc.meta
    for section in doc.sections:
        label = section_label(section, doc.title)
        parts = windows(section, max_words=max_words, overlap_words=overlap_words)
        for part_index, (line_start, line_end, text) in enumerate(parts):
            # The first window of a section is cited from its heading line.
            if part_index == 0:
                line_start = section.line_start
            embed_text = f"{readable(doc.title)}\n{readable(label)}\n{text}"
            seen[embed_text] += 1
            digest = hashlib.sha256(
                f"{source}\x00{embed_text}\x00{seen[embed_text]}".encode()
            ).hexdigest()[:32]
            chunks.append(
                Chunk(
                    id=digest,
                    source=source,
                    ordinal=len(chunks),
                    title=doc.title,
                    section=label,
                    kind=doc.kind,
                    line_start=line_start,
                    line_end=max(line_end, line_start),
                    text=text,
                    embed_text=embed_text,
                    services=tuple(meta["services"]),
                    tags=tuple(meta["tags"]),
                    alerts=tuple(meta["alerts"]),
                    owner=meta["owner"],
                    severity=meta["severity"],
                    sanitized=doc.sanitized,
                )
            )
    return chunks
