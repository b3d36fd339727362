"""One screening path for every text a person is shown that came from a document, an alert, a
catalog entry or any other source the copilot does not write itself.

`screen()` cuts the smallest unit that carries instructions aimed at an AI (a sentence, a list
item, a table row, a quoted block: the rest stays), withholds commands that send credentials
away or run a script fetched from an unknown host wherever they sit in the text, then redacts
secrets and personal data in what is left. It returns `Screened`, a `str` that only this
module makes.

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
from copilot.guardrails.risk import SEVERE, scan
from copilot.listitems import LIST_MARKER


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


# A warning's label over what an action would do, said as a statement: "**Warning**: Overriding
# the condition bypasses safety checks". An order under the label ("Warning: bypass the
# interlock") is not one.
_LABEL = r"[*_\s]*(?:warning|caution|danger)[*_\s]*:[*_\s]*"
_WARNING_LABEL_ONLY = re.compile(_LABEL, re.I)
_WARNING_LABEL = re.compile(_LABEL + r"[A-Za-z]+ing\b", re.I)


def _warns(text: str, start: int) -> bool:
    """Whether the clause holding the command at `start` warns against it ("never run X"; not
    "it will never drain; the standard is to run X"), or is a warning that says what it does."""
    before = text[max(0, start - 120) : start]
    clause = re.split(r"[.!?;]\s|:\s(?=[A-Za-z])|\n\s*\n|\n\s*(?:[-*+]|\d+[.)])\s", before)[-1]
    if _WARNING.search(clause):
        return True
    # The statement itself opens the warning: nothing but the label stands before it.
    opening = re.split(r"[.!?;]\s|\n\s*\n", before)[-1]
    if opening.strip(" *_\n") and not _WARNING_LABEL_ONLY.fullmatch(opening):
        return False
    return bool(_WARNING_LABEL.match(opening + text[start : start + 80]))


_PLACEHOLDER = re.compile(re.escape(_SEVERE).replace(re.escape("{reason}"), "(?P<reason>[^)]*)"))
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=:)\s+(?=\S)")
_LIST_ITEM = re.compile(r"\s*" + LIST_MARKER)


def _first_sentence(paragraph: str) -> str:
    """What a paragraph's first sentence says (its notes kept in place); "" for a fragment
    ("(see ticket):") that orders nothing."""
    notes = [m.group(0) for m in _PLACEHOLDER.finditer(paragraph)]
    body = _PLACEHOLDER.sub("\x00", paragraph.strip())
    marker = _LIST_ITEM.match(body)
    head = marker.group(0) if marker else ""
    first = _SENTENCE_END.split(body[len(head) :], maxsplit=1)[0]
    if len(first.replace("\x00", " ").split()) < 3:
        first = "\x00" if "\x00" in first else ""
    for note in notes:
        first = first.replace("\x00", note, 1)
    first = first.replace("\x00", "")
    return head + first if first else ""


def _without_the_case(text: str) -> str:
    """A paragraph that holds a severe command keeps what it orders, not the case it makes.

    The first sentence says what the step is for ("If WAL held by a slot fills the disk");
    what follows argues why the irreversible command is safe, approved or routine, which is
    where a planted step does its persuading. A paragraph that ends with a colon introduces the
    code block after it, and is its case too. The command is already out (`_SEVERE`): the
    reader is sent to the source, where the whole paragraph is, with the reason."""
    parts = re.split(r"(\n\s*\n)", text)
    for i in range(0, len(parts), 2):
        held = [m.group(0) for m in _PLACEHOLDER.finditer(parts[i])]
        if not held:
            continue
        if parts[i].lstrip().startswith(("```", "~~~")):
            parts[i] = " ".join(held)  # a code block of held commands: only the notes
            # The list item's own lines after its block (indented) go on making its case.
            j = i + 2
            while j < len(parts) and parts[j][:1] in (" ", "\t") and not _LIST_ITEM.match(parts[j]):
                if _PLACEHOLDER.search(parts[j]) or parts[j].lstrip().startswith(("```", "~~~")):
                    break
                parts[j] = parts[j - 1] = ""
                j += 2
            lead = i - 2
            if (
                lead >= 0
                and parts[lead].rstrip().endswith(":")
                and not _PLACEHOLDER.search(parts[lead])
            ):
                # The note joins the order that introduced the block: one step, marked.
                parts[lead] = " ".join(filter(None, [_first_sentence(parts[lead]), *held]))
                parts[i] = parts[i - 1] = ""
            continue
        first = _first_sentence(parts[i])
        rest = [h for h in held if h not in first]
        parts[i] = " ".join([first, *rest]).strip()
    return "".join(parts)


# What a diagnosis step has no business doing: taking a service, a process or a queue away.
# Finding out is read-only; a "diagnostic" that stops the thing under suspicion is an outage.
_OUTAGE = frozenset({"scale to zero", "terminate or kill", "failover", "flush", "drain"})
DIAGNOSIS_OUTAGE = "takes a service down during diagnosis"


def hold_severe(
    text: str, allowed_hosts: Collection[str] = (), *, diagnosis: bool = False
) -> tuple[str, list[str]]:
    """(text, reasons): each severe command (`risk.Risk.severe`) that the text does not warn
    against replaced by a note that sends the reader to the source, and the case its paragraph
    makes for it cut (`_without_the_case`). Notes already in the text count with their reason.

    What a responder is handed to act on (steps, answers, what fixed a past incident) and what
    a model is given to write them from both pass here: neither repeats an irreversible command
    or the argument that it is safe. In a `diagnosis` section, a command that stops a service
    (scales it to zero, kills it, fails it over, flushes or drains it) is held back the same way.
    """
    held = [(m.start(), m.end(), m.group("reason")) for m in _PLACEHOLDER.finditer(text)]
    severe: list[str] = []
    for risk in reversed(scan(text, allowed_hosts=allowed_hosts)):
        if any(a <= risk.start < b for a, b, _ in held):
            continue  # our own note about a command already held back
        parts = [r.split(" (")[0] for r in risk.reason.split("; ")]
        outage = diagnosis and bool(_OUTAGE.intersection(parts))
        if risk.action != "withhold" and (risk.severe or outage) and not _warns(text, risk.start):
            reason = next((r for r in parts if r in SEVERE), DIAGNOSIS_OUTAGE)
            severe.append(reason)
            text = text[: risk.start] + _SEVERE.format(reason=reason) + text[risk.end :]
    if severe or held:
        text = _without_the_case(text)
    return text, list(dict.fromkeys([r for _, _, r in held] + list(reversed(severe))))


@lru_cache(maxsize=8192)
def _screen(
    text: str, allowed_hosts: frozenset[str], strict: bool = False, label: bool = False
) -> Screening:
    # Hosts are judged by what the rest of a document names (see `injection.judge`): a section
    # or a document has that; one step or sentence was judged with its document already. The
    # judgement reads the text as written (a copy sent to a public address is told from one to
    # a private address by the address); what is shown is redacted.
    isolated = isolate(text, vouch=len(units(text)) > 1)
    redacted = redact(isolated.text)
    removed = [redact(r).text for r in isolated.removed]
    reasons = list(isolated.reasons)
    cleaned = redacted.text
    approvals: list[str] = []
    severe: list[str] = []
    if strict:
        cleaned, severe = hold_severe(cleaned, allowed_hosts)
    held = [m.span() for m in _PLACEHOLDER.finditer(cleaned)]
    for risk in reversed(scan(cleaned, allowed_hosts=allowed_hosts)):
        if any(a <= risk.start < b for a, b in held):
            continue
        if risk.action == "withhold" or label:
            # A label (a heading in a citation, a title) cannot carry the approval a command
            # needs: what would need approval in a step is withheld from a label.
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
        severe=severe,
    )


def screen(
    text: str | None, *, allowed_hosts: Collection[str] = (), strict: bool = False
) -> Screening:
    """Screen text from an untrusted source before anyone is shown it.

    `strict` (what the copilot hands a responder to act on: steps, its answer, what fixed a past
    incident) also holds back severe commands, which are otherwise shown marked for approval."""
    return _screen(text or "", frozenset(h.lower() for h in allowed_hosts), strict)


def screened_label(text: str | None) -> Screened:
    """A document's title or heading path, shown as a label: screened, and any command in it
    that would need approval as a step is withheld ("### 3. Nobody logged in: `iam user create
    ... --mfa off`" names a section; it is not an order anyone approved)."""
    return _screen(text or "", frozenset(), strict=False, label=True).text


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
