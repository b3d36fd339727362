"""Redact secrets and personal data before text reaches a model, a log or a response."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Order matters: the most specific patterns run first so a token is counted once, by its kind.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
    ),
    ("url_password", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer_token", re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{12,}")),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b")),
    (
        "api_token",
        re.compile(
            r"\b(?:sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
            r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|AIza[0-9A-Za-z_-]{30,}|sk_live_[0-9A-Za-z]{16,}|rk_live_[0-9A-Za-z]{16,}"
            r"|hvs\.[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,})"
        ),
    ),
    (
        "secret_assignment",
        re.compile(
            r"(?i)(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|"
            r"secret[_-]?key|token|auth)[\"']?[ \t]*[:=][ \t]*[\"']?(?!\$|\{\{|<|\[REDACTED)"
            # "Check the service's token: `kubectl ... logs`": a code span with a space in it
            # after a label's colon is a command to run, not the value of a secret.
            r"(?!`[^`\n]*\s[^`\n]*`)([^\s\"',;]{6,})"
        ),
    ),
    (
        "email",
        re.compile(
            r"(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"
            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
        ),
    ),
    ("card_number", re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")),
    (
        "ipv6",
        re.compile(
            r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"
            r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?(?![\w:])"
        ),
    ),
    (
        "ipv4",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
        ),
    ),
    (
        "phone",
        re.compile(
            # International (+44 20 7946 0958), North American ((555) 123-4567, 555-123-4567) and
            # national trunk-prefixed (020 7946 0958) forms; bare digit runs are left alone.
            r"(?<![\w+])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?!\w)"
            r"|(?<!\w)\(\d{3}\)\s?\d{3}[\s.-]\d{4}(?!\w)"
            r"|(?<![\w.-])\d{3}[.-]\d{3}[.-]\d{4}(?![\w.-])"
            r"|(?<![\w-])0\d{2,4}[\s-]\d{3,4}[\s-]\d{3,4}(?![\w-])"
        ),
    ),
]


def _luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@dataclass
class Redaction:
    text: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def redact(text: str) -> Redaction:
    """Replace every secret or personal datum with `[REDACTED:<kind>]` and count them."""
    counts: Counter[str] = Counter()
    for kind, pattern in _PATTERNS:

        def _sub(match: re.Match[str], kind: str = kind) -> str:
            value = match.group(0)
            if kind == "card_number":
                digits = re.sub(r"\D", "", value)
                if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
                    return value
            if kind == "ipv4" and value.startswith(("0.", "127.0.0.")):
                return value  # unspecified and loopback addresses identify no one
            if kind == "secret_assignment":
                start, end = match.span(1)
                counts[kind] += 1
                rel_start, rel_end = start - match.start(), end - match.start()
                return value[:rel_start] + f"[REDACTED:{kind}]" + value[rel_end:]
            counts[kind] += 1
            return f"[REDACTED:{kind}]"

        text = pattern.sub(_sub, text)
    return Redaction(text=text, counts=counts)
