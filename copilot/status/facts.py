"""Figures in text: dates, times, amounts, percentages, durations, numbers, numbered identifiers.

A draft may state a figure only when the incident record (or a value the copilot derived from
it: a duration between two recorded times, the next update time) holds the same figure. The
comparison is on values, not spelling: `9:40 am` is `09:40`, `£12k` is `£12,000`, `80 minutes`
is `1 hour 20 minutes`, `30 percent` is `30%`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Capitalised only: "5 may be affected" is not the fifth of May.
_MONTH = (
    r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_MULTIPLIERS = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "bn": 1e9,
    "billion": 1e9,
}
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

# Order matters: each pattern masks what it matched before the next one looks.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("list_marker", re.compile(r"(?m)^\s{0,3}\d{1,3}[.)](?=\s)")),
    (
        "datetime",
        re.compile(
            r"\b(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2})"
            r"(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\w:])"
        ),
    ),
    (
        "date",
        re.compile(
            rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<y>\d{{4}}))?\b"
        ),
    ),
    (
        "date",
        re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?\b"),
    ),
    ("date", re.compile(r"\b(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})\b")),
    (
        "time",
        re.compile(
            r"(?<![\d:.])(?P<h>\d{1,2}):(?P<mi>\d{2})(?::\d{2})?(?![\d:])"
            r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?",
            re.IGNORECASE,
        ),
    ),
    (
        "time",
        re.compile(r"(?<![\d:.])(?P<h>\d{1,2})\s*(?P<ampm>[ap]\.?m\.?)(?![a-z])", re.IGNORECASE),
    ),
    (
        "money",
        re.compile(
            rf"(?P<cur>[£$€])\s?(?P<n>{_NUM})\s*(?P<mult>k|m|mn|bn|thousand|million|billion)?\b",
            re.IGNORECASE,
        ),
    ),
    (
        "money",
        re.compile(
            rf"(?<![\w.])(?P<n>{_NUM})\s*(?P<mult>k|m|mn|bn|thousand|million|billion)?\s*"
            r"(?P<cur>GBP|EUR|USD)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "percentage",
        re.compile(rf"(?<![\w.])(?P<n>{_NUM})\s*(?:%|percent\b|per\s+cent\b)", re.IGNORECASE),
    ),
    (
        "duration",
        re.compile(
            rf"(?<![\w.])(?P<n>{_NUM})\s?(?P<unit>days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)\b"
            r"|(?<![\w.])(?P<n2>\d+)(?P<unit2>[dhms])\b",
            re.IGNORECASE,
        ),
    ),
    # A word with both letters and digits: SEV2, INC-12, v4410, p99, 5xx, prod-eu-1.
    (
        "identifier",
        re.compile(
            r"(?<![\w.-])(?=[\w-]*[A-Za-z])(?=[\w-]*\d)(?!\d+(?:st|nd|rd|th)\b)[A-Za-z0-9][\w-]*"
            r"(?<![-_])"
        ),
    ),
    (
        "number",
        re.compile(
            rf"(?<![\w.])(?P<n>{_NUM})(?:st|nd|rd|th)?"
            r"(?:\s?(?P<mult>k|thousand|million|mn|bn|billion)\b)?"
        ),
    ),
]
_JOIN = re.compile(r"^\s*(?:,\s*|and\s+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    kind: str  # date, time, money, percentage, duration, identifier, number
    value: str | float
    text: str
    start: int
    end: int


def _number(raw: str, mult: str | None = None) -> float:
    value = float(raw.replace(",", ""))
    if mult:
        value *= _MULTIPLIERS[mult.lower()]
    return value


def _hhmm(hour: int, minute: int, ampm: str | None) -> str | None:
    if ampm:
        pm = ampm.lower().startswith("p")
        if not 1 <= hour <= 12:
            return None
        hour = (hour % 12) + (12 if pm else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _date(m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    month = int(groups["mo"]) if groups.get("mo") else _MONTHS[groups["month"][:3].lower()]
    day = int(groups["d"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    year = groups.get("y")
    return f"{year}-{month:02d}-{day:02d}" if year else f"{month:02d}-{day:02d}"


def _duration_unit(m: re.Match[str]) -> int:
    unit = (m.group("unit") or m.group("unit2")).lower()
    return _UNIT_SECONDS["m" if unit.startswith("min") else unit[0]]


def _duration_seconds(m: re.Match[str]) -> float:
    return _number(m.group("n") or m.group("n2")) * _duration_unit(m)


def figures(text: str) -> Iterator[Figure]:
    """Every figure in `text`, each span read once (the most specific reading wins)."""
    work = text
    found: list[Figure] = []
    for kind, pattern in _PATTERNS:
        durations: list[tuple[Figure, int]] = []
        for m in pattern.finditer(work):
            span_text = text[m.start() : m.end()]
            if kind == "list_marker":
                pass
            elif kind == "datetime":
                found.append(
                    Figure("date", f"{m['y']}-{m['mo']}-{m['d']}", span_text, m.start(), m.end())
                )
                found.append(Figure("time", f"{m['h']}:{m['mi']}", span_text, m.start(), m.end()))
            elif kind == "date":
                value = _date(m)
                if value is None:
                    continue
                found.append(Figure("date", value, span_text, m.start(), m.end()))
            elif kind == "time":
                hhmm = _hhmm(
                    int(m["h"]), int(m.groupdict().get("mi") or 0), m.groupdict().get("ampm")
                )
                if hhmm is None:
                    continue
                found.append(Figure("time", hhmm, span_text, m.start(), m.end()))
            elif kind == "money":
                amount = _number(m["n"], m["mult"])
                symbol = {"gbp": "£", "eur": "€", "usd": "$"}.get(m["cur"].lower(), m["cur"])
                found.append(Figure("money", f"{symbol}{amount:g}", span_text, m.start(), m.end()))
            elif kind == "percentage":
                found.append(Figure("percentage", _number(m["n"]), span_text, m.start(), m.end()))
            elif kind == "duration":
                fig = Figure("duration", _duration_seconds(m), span_text, m.start(), m.end())
                durations.append((fig, _duration_unit(m)))
            elif kind == "identifier":
                found.append(Figure("identifier", span_text.lower(), span_text, m.start(), m.end()))
            else:
                found.append(
                    Figure("number", _number(m["n"], m["mult"]), span_text, m.start(), m.end())
                )
            work = work[: m.start()] + " " * (m.end() - m.start()) + work[m.end() :]
        # "1 hour 20 minutes" is one duration.
        for group in _merge(durations, text):
            found.append(group)
    found.sort(key=lambda f: f.start)
    yield from found


def _merge(durations: list[tuple[Figure, int]], text: str) -> Iterator[Figure]:
    """Join "1 hour 20 minutes" (larger unit, then smaller) into one duration."""
    current: Figure | None = None
    last_unit = 0
    for fig, unit in durations:
        if current is not None and unit < last_unit and _JOIN.match(text[current.end : fig.start]):
            total = float(current.value) + float(fig.value)
            span = text[current.start : fig.end]
            current = Figure("duration", total, span, current.start, fig.end)
            last_unit = unit
            continue
        if current is not None:
            yield current
        current, last_unit = fig, unit
    if current is not None:
        yield current


@dataclass
class Allowed:
    """The figures a draft may state."""

    dates: set[str] = field(default_factory=set)
    month_days: set[str] = field(default_factory=set)
    times: set[str] = field(default_factory=set)
    money: set[str] = field(default_factory=set)
    percentages: set[float] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)
    identifiers: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)

    @classmethod
    def from_text(cls, text: str) -> Allowed:
        allowed = cls()
        for fig in figures(text):
            allowed.add(fig)
        # Any number the record writes, in any form, may be restated as a plain number (the
        # record's "deploy v4411" supports "deploy 4411").
        for raw in re.findall(r"\d+(?:\.\d+)?", text.replace(",", "")):
            allowed.numbers.add(float(raw))
        return allowed

    def add(self, fig: Figure) -> None:
        if fig.kind == "date":
            value = str(fig.value)
            if len(value) == 10:
                self.dates.add(value)
                self.month_days.add(value[5:])
            else:
                self.month_days.add(value)
        elif fig.kind == "time":
            self.times.add(str(fig.value))
        elif fig.kind == "money":
            self.money.add(str(fig.value))
        elif fig.kind == "percentage":
            self.percentages.add(float(fig.value))
        elif fig.kind == "duration":
            self.durations.append(float(fig.value))
        elif fig.kind == "identifier":
            self.identifiers.add(str(fig.value))
        elif fig.kind == "number":
            self.numbers.add(float(fig.value))

    def supports(self, fig: Figure) -> bool:
        if fig.kind == "date":
            value = str(fig.value)
            return value in self.dates if len(value) == 10 else value in self.month_days
        if fig.kind == "time":
            return fig.value in self.times
        if fig.kind == "money":
            return fig.value in self.money
        if fig.kind == "percentage":
            return float(fig.value) in self.percentages
        if fig.kind == "duration":
            # Rounded to the minute either way: "about 41 minutes" for 40 m 50 s is fine.
            seconds = float(fig.value)
            return any(abs(seconds - d) < 60 for d in self.durations)
        if fig.kind == "identifier":
            return fig.value in self.identifiers
        return float(fig.value) in self.numbers


def unsupported(text: str, allowed: Allowed) -> list[Figure]:
    return [fig for fig in figures(text) if not allowed.supports(fig)]
