"""Parse the timeline of a written postmortem (markdown tables or lists with dates and times).

Used by the postmortem eval to turn real postmortems into incidents, and to read back the timeline
of a generated draft. Times are converted to UTC from the zone the document states ("All times
in CET", a "Time (UTC)" column); a document that states none is taken to be in UTC. "CET" and
"CEST" are read as Central European local time (summer time applied), which is what people who
write "CET" in June mean.

Rows whose time is partly unknown (`2024-03-13 14:??`, `2022-05-?? HH:mm`) keep their place and
say how much is known (`precision`); a time without a date takes the date of the row above.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from copilot.fences import FENCE
from copilot.listitems import LIST_MARKER

Precision = Literal["minute", "day", "month", "none"]

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TIMELINE_HEADING = re.compile(r"\btime\s*line\b|\bchronology\b|\bsequence of events\b", re.I)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^(?P<indent>\s*)" + LIST_MARKER + r"(?P<body>.*)$")
_DATE = re.compile(r"(?<![\d?])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d?])")
_MONTH_ONLY = re.compile(r"(?<![\d?])(\d{4})[-/](\d{1,2})[-/]\?\?")
_BROKEN_DATE = re.compile(r"\d{5,}[-/]\d|\?{2,}[-/]|\d{4}/\d{2}-|\d{4}[-/]\?\?")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])")
_UNKNOWN_TIME = re.compile(r"(?<![\w?])(?:HH|hh|--|\?\?|\d{1,2}):(?:mm|MM|--|\?\?)(?![\w?])")
# A list item or line that opens with a timestamp, maybe in backticks or bold.
_TS = (
    r"~?\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2})?)(?:\s*(?:UTC|Z|GMT|CET|CEST))?\s*~?"
)
_LEAD = re.compile(
    rf"^\s*(?P<stamp>`{_TS}`|\*\*{_TS}\*\*|__{_TS}__|\*{_TS}\*|{_TS})\s*"
    r"(?:[-–—:|]\s*)?(?P<text>.*)$"
)
_ZONE_WORDS = r"UTC|GMT|Z|CET|CEST|EET|EEST|WET|WEST|BST|IST|PST|PDT|MST|MDT|EST|EDT|CDT"
_ZONE_STATED = re.compile(
    rf"(?:times?|clock|timestamps?)[^.\n|]{{0,30}}?\b(?:in|are|:)?\s*\(?\b({_ZONE_WORDS})\b"
    rf"|\b({_ZONE_WORDS})\s*(?:times?|timestamps?)\b|\btime\s*\(({_ZONE_WORDS})\)",
    re.I,
)
_FIXED_OFFSETS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "BST": 1,
    "IST": 5.5,
    "PST": -8,
    "PDT": -7,
    "MST": -7,
    "MDT": -6,
    "EST": -5,
    "EDT": -4,
    "CDT": -5,
}
_LOCAL_ZONES = {
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "EET": "Europe/Helsinki",
    "EEST": "Europe/Helsinki",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
}
_FALLBACK_OFFSETS = {"CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "WET": 0, "WEST": 1}


@dataclass(frozen=True)
class ParsedEvent:
    """One timeline row, as written, with the UTC time it denotes when that is known."""

    index: int
    line: int
    raw_time: str
    text: str
    at: datetime | None
    day: date | None
    precision: Precision
    approximate: bool = False
    date_carried: bool = False
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedTimeline:
    events: list[ParsedEvent]
    zone: str
    zone_stated: bool
    heading: str | None


def zone_for(name: str) -> tzinfo:
    """The tzinfo of a zone abbreviation from the list above (UTC when unknown)."""
    upper = name.upper()
    if upper in _LOCAL_ZONES:
        try:
            return ZoneInfo(_LOCAL_ZONES[upper])
        except ZoneInfoNotFoundError:  # pragma: no cover - tzdata ships with the venv
            return timezone(timedelta(hours=_FALLBACK_OFFSETS[upper]))
    return timezone(timedelta(hours=_FIXED_OFFSETS.get(upper, 0)))


def sections(markdown: str) -> list[tuple[int, str, int, int]]:
    """(level, heading, first line, last line) of every heading, 0-based lines, outside fences."""
    lines = markdown.split("\n")
    found: list[tuple[int, str, int]] = []
    fenced = False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2).strip(), i))
    out = []
    for n, (level, text, start) in enumerate(found):
        end = len(lines) - 1
        for later_level, _, later_start in found[n + 1 :]:
            if later_level <= level:
                end = later_start - 1
                break
        out.append((level, text, start, end))
    return out


def section_text(markdown: str, pattern: str | re.Pattern[str]) -> str | None:
    """The body of the first section whose heading matches `pattern` (without the heading)."""
    regex = re.compile(pattern, re.I) if isinstance(pattern, str) else pattern
    lines = markdown.split("\n")
    for _, heading, start, end in sections(markdown):
        if regex.search(heading):
            return "\n".join(lines[start + 1 : end + 1]).strip()
    return None


def title_of(markdown: str) -> str | None:
    for level, heading, _, _ in sections(markdown):
        if level == 1:
            return heading
    return None


def _clean(text: str) -> str:
    text = html.unescape(re.sub(r"<br\s*/?>", " ", text, flags=re.I))
    return " ".join(text.split())


def _split_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


@dataclass
class _Stamp:
    raw: str
    at: datetime | None
    day: date | None
    precision: Precision
    approximate: bool
    date_carried: bool


def parse_stamp(raw: str, *, zone: tzinfo, last_day: date | None) -> _Stamp:
    """Read a date-and-time cell; what is unknown stays unknown."""
    text = raw.replace("`", "").replace("*", "").strip()
    approximate = "~" in text or bool(re.search(r"\b(?:approx|around|ca\.)", text, re.I))
    day: date | None = None
    carried = False
    date_match = _DATE.search(text)
    after_date = text
    if date_match:
        try:
            day = date(int(date_match.group(1)), int(date_match.group(2)), int(date_match.group(3)))
        except ValueError:
            day = None
        after_date = text[date_match.end() :]
    elif _BROKEN_DATE.search(text) and not _MONTH_ONLY.search(text):
        return _Stamp(raw, None, None, "none", approximate, False)
    else:
        month = _MONTH_ONLY.search(text)
        if month and 1 <= int(month.group(2)) <= 12:
            return _Stamp(raw, None, None, "month", approximate, False)
        if month or _BROKEN_DATE.search(text):
            return _Stamp(raw, None, None, "none", approximate, False)
    time_match = _TIME.search(after_date)
    if time_match and not _UNKNOWN_TIME.fullmatch(time_match.group(0)):
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second = int(time_match.group(3) or 0)
        if day is None and not date_match and last_day is not None:
            day, carried = last_day, True
        if day is not None and hour < 24 and minute < 60 and second < 60:
            local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
            return _Stamp(raw, local.astimezone(UTC), day, "minute", approximate, carried)
    if day is not None:
        return _Stamp(raw, None, day, "day", approximate, False)
    return _Stamp(raw, None, None, "none", approximate, False)


def _zone_in(text: str) -> str | None:
    match = _ZONE_STATED.search(text)
    if not match:
        return None
    name = next(g for g in match.groups() if g)
    return name.upper()


def parse_timeline(markdown: str, *, default_zone: str = "UTC") -> ParsedTimeline:
    """The events of the first timeline section, in document order."""
    markdown = markdown.replace("\r\n", "\n").replace("\r", "\n")
    lines = markdown.split("\n")
    span = next(
        (
            (heading, start, end)
            for _, heading, start, end in sections(markdown)
            if _TIMELINE_HEADING.search(heading)
        ),
        None,
    )
    if span is None:
        return ParsedTimeline(events=[], zone=default_zone, zone_stated=False, heading=None)
    heading, start, end = span
    body = lines[start + 1 : end + 1]
    stated = _zone_in("\n".join(body[:60]))
    zone_name = stated or default_zone
    zone = zone_for(zone_name)

    events: list[ParsedEvent] = []
    last_day: date | None = None
    header: list[str] | None = None
    time_col = 0
    pending_header: list[str] | None = None
    fenced = False

    def add(raw: str, text: str, line_no: int, cells: dict[str, str] | None = None) -> None:
        nonlocal last_day
        stamp = parse_stamp(raw, zone=zone, last_day=last_day)
        if stamp.day is not None:
            last_day = stamp.day
        clean = _clean(text)
        if not clean and not raw.strip():
            return
        events.append(
            ParsedEvent(
                index=len(events),
                line=line_no,
                raw_time=_clean(raw),
                text=clean,
                at=stamp.at,
                day=stamp.day,
                precision=stamp.precision,
                approximate=stamp.approximate,
                date_carried=stamp.date_carried,
                cells=cells or {},
            )
        )

    for offset, line in enumerate(body):
        line_no = start + 2 + offset
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        stripped = line.strip()
        if stripped.startswith("|"):
            if _TABLE_RULE.match(stripped):
                header, pending_header = pending_header, None
                if header:
                    lowered = [h.lower() for h in header]
                    time_col = next(
                        (i for i, h in enumerate(lowered) if re.search(r"time|date|when", h)), 0
                    )
                continue
            cells = _split_row(stripped)
            if header is None:
                pending_header = cells
                continue
            raw = cells[time_col] if time_col < len(cells) else ""
            rest = [c for i, c in enumerate(cells) if i != time_col and c]
            named = {(header[i] if i < len(header) else f"col{i}"): c for i, c in enumerate(cells)}
            add(raw, " — ".join(rest), line_no, named)
            continue
        header = None
        pending_header = None
        if not stripped:
            continue
        item = _LIST_ITEM.match(line)
        lead = _LEAD.match(item.group("body") if item else stripped)
        timed = _has_time(lead)
        if item and (timed or not item.group("indent") or not events):
            if lead is not None and timed:
                add(lead.group("stamp"), lead.group("text"), line_no)
            else:
                add("", item.group("body"), line_no)
        elif not item and lead is not None and timed:
            add(lead.group("stamp"), lead.group("text"), line_no)
        elif events and not events[-1].cells and (item or line[:1] in (" ", "\t")):
            # An indented line, or a nested item, continues the item above it.
            more = item.group("body") if item else stripped
            last = events[-1]
            events[-1] = replace(last, text=_clean(f"{last.text} {more}"))
    return ParsedTimeline(
        events=events, zone=zone_name, zone_stated=stated is not None, heading=heading
    )


def _has_time(lead: re.Match[str] | None) -> bool:
    return bool(lead and re.search(r"\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}", lead.group("stamp")))


def placed(events: list[ParsedEvent]) -> list[datetime | None]:
    """A time for every event that keeps the document's order around rows of unknown time.

    A row known to the minute keeps its time. One known only to the day takes the time of the
    row above when that falls on the same day, else the start of that day (UTC); one with no usable
    date takes the time of the row above, or of the next known row when it is first.
    """
    out: list[datetime | None] = []
    previous: datetime | None = None
    for event in events:
        if event.at is not None:
            at: datetime | None = event.at
        elif event.precision == "day" and event.day is not None:
            start = datetime(event.day.year, event.day.month, event.day.day, tzinfo=UTC)
            at = previous if previous is not None and previous.date() == event.day else start
            if previous is not None and at < previous:
                at = previous
        else:
            at = previous
        out.append(at)
        if at is not None:
            previous = at
    # Rows before the first known time take the first known time.
    first_known = next((t for t in out if t is not None), None)
    return [t if t is not None else first_known for t in out]
