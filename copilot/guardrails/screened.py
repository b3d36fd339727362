"""One screening path for every text a person is shown that came from a document, an alert, a
catalog entry or any other source the copilot does not write itself.

`screen()` redacts secrets and personal data, cuts the smallest unit that carries instructions
aimed at an AI (a sentence, a list item, a table row, a quoted block: the rest stays), and
withholds commands that send credentials away or run a script fetched from an unknown host,
wherever they sit in the text. It returns `Screened`, a `str` that only this module makes.

Response models type such fields `ScreenedStr`: built in Python, they refuse a plain `str`, so a
renderer cannot show document text it forgot to screen (a test walks every response model).
Parsed from JSON (a client reading a response) they accept any string.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator

from copilot.guardrails.injection import isolate, units
from copilot.guardrails.redact import redact
from copilot.guardrails.risk import scan


class Screened(str):
    """Text that went through `screen()` (or is the copilot's own wording, see `ours`)."""

    __slots__ = ()


@dataclass
class Screening:
    text: Screened
    redactions: int = 0
    removed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    # Commands shown only with approval, with the reason (destructive, sweeping).
    approvals: list[str] = field(default_factory=list)
    # Under `strict`: severe commands (`risk.Risk.severe`) held back, with the reason. Not an
    # attack by itself (a runbook may need one): the reader is sent to the source to run it.
    severe: list[str] = field(default_factory=list)

    @property
    def suspected(self) -> bool:
        return bool(self.removed)


_WITHHELD = "[command withheld: {reason}]"
_SEVERE = "[severe command not repeated here ({reason}): run it from its source, after review]"


# "Never run `FLUSHALL`": a warning names the command so nobody runs it; it stays.
_WARNING = re.compile(
    r"\b(?:never|not|don't|do not|avoid|no one|nobody|must not|forbidden)\b", re.I
)


def _warns(text: str, start: int) -> bool:
    """Whether the sentence holding the command at `start` warns against it."""
    before = text[max(0, start - 120) : start]
    sentence = re.split(r"[.!?]\s|\n\s*\n|\n\s*(?:[-*+]|\d+[.)])\s", before)[-1]
    return bool(_WARNING.search(sentence))


@lru_cache(maxsize=8192)
def _screen(text: str, allowed_hosts: frozenset[str], strict: bool = False) -> Screening:
    redacted = redact(text)
    # Hosts are judged by what the rest of a document names (see `injection.judge`): a section
    # or a document has that; one step or sentence was judged with its document already.
    isolated = isolate(redacted.text, vouch=len(units(redacted.text)) > 1)
    removed = list(isolated.removed)
    reasons = list(isolated.reasons)
    cleaned = isolated.text
    approvals: list[str] = []
    severe: list[str] = []
    for risk in reversed(scan(cleaned, allowed_hosts=allowed_hosts)):
        if strict and risk.action != "withhold" and risk.severe and not _warns(cleaned, risk.start):
            reason = risk.reason.split(" (")[0]
            severe.append(reason)
            cleaned = cleaned[: risk.start] + _SEVERE.format(reason=reason) + cleaned[risk.end :]
        elif risk.action == "withhold":
            removed.append(risk.span)
            if f"risk:{risk.reason}" not in reasons:
                reasons.append(f"risk:{risk.reason}")
            cleaned = (
                cleaned[: risk.start]
                + _WITHHELD.format(reason=risk.reason.split(" (")[0])
                + cleaned[risk.end :]
            )
        else:
            approvals.append(risk.reason)
    return Screening(
        text=Screened(cleaned),
        redactions=redacted.total,
        removed=removed,
        reasons=reasons,
        approvals=list(dict.fromkeys(reversed(approvals))),
        severe=list(dict.fromkeys(reversed(severe))),
    )


def screen(
    text: str | None, *, allowed_hosts: Collection[str] = (), strict: bool = False
) -> Screening:
    """Screen text from an untrusted source before anyone is shown it.

    `strict` (what the copilot hands a responder to act on: steps, its answer, what fixed a past
    incident) also holds back severe commands, which are otherwise shown marked for approval."""
    return _screen(text or "", frozenset(h.lower() for h in allowed_hosts), strict)


def screened(
    text: str | None, *, allowed_hosts: Collection[str] = (), strict: bool = False
) -> Screened:
    """The screened text alone (what was cut is reported by `screen`)."""
    return screen(text, allowed_hosts=allowed_hosts, strict=strict).text


def ours(text: str) -> Screened:
    """The copilot's own wording (templates, labels, numbers), which holds no document text.

    Use it only for strings built here; anything quoted from a source goes through `screen`.
    """
    return Screened(text)


def _require_screened(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> Any:
    if info.mode == "python" and isinstance(value, str) and not isinstance(value, Screened):
        raise ValueError("text from a document must pass through guardrails.screen() first")
    result = handler(value)
    # Stays marked, so a field's value can fill another screened field without a second pass.
    return Screened(result) if isinstance(value, Screened) and isinstance(result, str) else result


# A response field that can carry text from a document or another untrusted source.
ScreenedStr = Annotated[str, WrapValidator(_require_screened)]
