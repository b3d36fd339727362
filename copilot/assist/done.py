"""Which runbook steps the incident's timeline already records as done."""

from __future__ import annotations

import re
from datetime import datetime

from copilot.assist.blocks import inline_code
from copilot.assist.steps import Candidate, normalise

_WORDS = re.compile(r"[a-z0-9]+")
# Canonical actions, as a timeline records them ("Rolled back checkout-api") and as a runbook
# orders them ("roll back", `kubectl rollout undo`).
_ACTIONS: dict[str, re.Pattern[str]] = {
    "rollback": re.compile(
        r"\broll(?:ed|ing)?[ -]?back\b|\brollback\b|\brevert\w*|rollout undo", re.I
    ),
    "restart": re.compile(r"\brestart\w*|\bbounc(?:e|ed|ing)\b|\brecycl\w*", re.I),
    "failover": re.compile(r"\bfail(?:ed|ing)?[ -]?over\b|\bpromot(?:e|ed|ing)\b", re.I),
    "flush": re.compile(r"\bflush\w*|\bpurg\w*", re.I),
    "drain": re.compile(r"\bcordon\w*|\bdrain\w*", re.I),
    # "Froze deploys": a deploy freeze, not `lark deploy unfreeze`.
    "freeze": re.compile(r"\bfr(?:eez(?:e|es|ing)|oze|ozen)\b", re.I),
    "pause": re.compile(r"\bpaus(?:e|ed|ing)\b|\bsuspend\w*", re.I),
    "terminate": re.compile(r"\bterminat\w*|\bpg_terminate_backend\b", re.I),
    "renew": re.compile(r"\brenew\w*|\brotat(?:e|ed|ing)\b|\breissu\w*", re.I),
    "scale": re.compile(r"\bscal(?:e|ed|ing) (?:up|out)\b|\badd(?:ed)? (?:more )?replicas\b", re.I),
}
# Raising a limit is done only for the limit named: "Raised maxmemory on carts redis" does the
# step "raise `maxmemory` ...", and "Increased the PVC size" does not do "increase the memory
# limit". The verb alone says too little, so a word the step and the entry share (past the verb
# and short words) must name the same thing.
_RAISE = re.compile(
    r"\b(?:rais(?:e|ed|es|ing)|increas(?:e|ed|es|ing)|bump(?:s|ed|ing)?|resiz(?:e|ed|es|ing)|"
    r"grow(?:s|n|ing)?|grew|expand(?:s|ed|ing)?)\b",
    re.I,
)
_LIMIT_WORD_MIN = 4
_CONDITION = re.compile(r"^\*\*[^*]{1,120}:\*\*\s*|^[^:]{1,80}:\s+(?=[a-z])")
# Names of things: hyphenated or dotted identifiers, not placeholders like <service>.
_ENTITY = re.compile(r"(?<![<\w])[a-z][a-z0-9]*(?:[-.][a-z0-9]+)+(?![>\w])")


_LINK_TARGET = re.compile(r"\]\([^)\s]*\)|\S+\.md\b")
# A command that sets one setting to a value: `CONFIG SET maxmemory-policy noeviction`, `lark
# flags set cart.anon_ttl_hours --value 12`, `sysctl -w net.core.somaxconn=1024`.
_SETTING = re.compile(
    r"\b(?:config\s+set|flags?\s+set|sysctl\s+-w|set)\s+([a-z][\w.:/-]*[a-z0-9_])"
    r"(?:\s+--value[= ]\s*|\s*=\s*|\s+)[\"']?([\w.:/-]+)",
    re.I,
)


def _things(text: str) -> set[str]:
    """Named things a step or an entry acts on (link targets and file names are not)."""
    return set(_ENTITY.findall(_LINK_TARGET.sub("]", text.lower())))


# A step that opens with a check orders nothing done to what it checks: "Check the consumer
# pods are running and not restarting" is not done by "Restarted the consumer". What it says to
# do after the check ("..., then restart it") still is an order.
_CHECK_FIRST = re.compile(
    r"^(?:check|confirm|verify|look|see|inspect|make sure|ensure|find|compare|watch|monitor|"
    r"review|read|note|is|are|does)\b",
    re.I,
)
# Where a check hands over to an order: "..., then restart it", "Find the pod and delete it".
_THEN = re.compile(r"(?:,|;|\.)?\s+(?:and )?then\b|;\s+|\.\s+(?=[A-Z])|\s+and\s+")
# "not restarting", "without draining": the action named as what is not happening.
_NEGATED = re.compile(r"\b(?:not|no|never|without|nor)\s+(?:\w+ing\s+)?\w+", re.I)


def _action_part(candidate: Candidate) -> str:
    """The part of a step that says what to do: past a leading condition (and past a check it
    opens with), first words only, without actions it names as not happening."""
    text = _CONDITION.sub("", candidate.text.strip(), count=1)
    if _CHECK_FIRST.match(text):
        after = _THEN.split(text, maxsplit=1)
        text = after[1] if len(after) > 1 else ""
    words = _NEGATED.sub(" ", text).split()[:14]
    return " ".join(words) + ("\n" + candidate.command if candidate.command else "")


def _actions(text: str) -> set[str]:
    return {name for name, pattern in _ACTIONS.items() if pattern.search(text)}


def _raised_the_same(action: str, entry: str) -> bool:
    """Both raise a limit, and name a word of it in common (not the verb, not a short word)."""
    if not (_RAISE.search(action) and _RAISE.search(entry)):
        return False
    words = [set(_WORDS.findall(_RAISE.sub(" ", text.lower()))) for text in (action, entry)]
    return any(len(w) >= _LIMIT_WORD_MIN for w in words[0] & words[1])


# An entry that reports a check ("Checked maxmemory-policy is noeviction"), in any tense.
_CHECKED = re.compile(
    r"^(?:check(?:ed|ing|s)?|confirm(?:ed|ing|s)?|verif(?:y|ied|ying|ies)|look(?:ed|ing|s)?|"
    r"inspect(?:ed|ing|s)?|compar(?:e|ed|ing|es)|watch(?:ed|ing|es)?|monitor(?:ed|ing|s)?|"
    r"review(?:ed|ing|s)?|read|see|saw|seen|found|is|are|was|were)\b",
    re.I,
)


def timeline_entry(at: datetime, kind: str, text: str) -> str:
    """A timeline event as `already_done` reads it and names it in `done_by`: "10:42Z
    mitigation: Switched ..." (`_ENTRY_PREFIX` reads the prefix back)."""
    return f"{at:%H:%M}Z {kind}: {text}"


_ENTRY_PREFIX = re.compile(r"^\d{1,2}:\d{2}Z [a-z_]+: ")


def _settings(command: str) -> list[tuple[str, str]] | None:
    """(setting, value) for each line of a command that only sets settings, lower-cased; None
    when a line does something else."""
    out = []
    for line in command.splitlines():
        if not line.strip():
            continue
        found = _SETTING.search(line)
        if found is None:
            return None
        out.append((found.group(1).lower(), found.group(2).lower()))
    return out or None


def _set_the_same(settings: list[tuple[str, str]], entry: str) -> bool:
    """The entry (not a check) names each setting (or the last part of a dotted one) with its
    value: "Switched redis-carts maxmemory-policy to noeviction" did `CONFIG SET
    maxmemory-policy noeviction`."""
    if _CHECKED.match(_ENTRY_PREFIX.sub("", entry.strip())):
        return False
    said = entry.lower()
    words = set(re.findall(r"[\w.:/-]+", said)) | set(_WORDS.findall(said))
    return all(
        value in words and (setting in said or setting.rsplit(".", 1)[-1] in said)
        for setting, value in settings
    )


def already_done(candidate: Candidate, done: list[str]) -> str | None:
    """The timeline entry that records this step as done (its command, most of its words, or
    the same action on the same thing), or None."""
    if not done:
        return None
    if candidate.command:
        command = normalise(candidate.command)
        for entry in done:
            if command in normalise(entry):
                return entry
    words = set(_WORDS.findall(candidate.text.lower())) - {"the", "a", "an", "to", "and", "of"}
    if len(words) >= 3:
        for entry in done:
            entry_words = set(_WORDS.findall(entry.lower()))
            if len(words & entry_words) / len(words) >= 0.7:
                return entry
    settings = _settings(candidate.command) if candidate.command else None
    if settings:
        for entry in done:
            if _set_the_same(settings, entry):
                return entry
    action = _action_part(candidate)
    wanted = _actions(action)
    # A runbook names the thing a step acts on in code: `orders-service`, not "pre-approved".
    step_things = _things(" ".join(inline_code(candidate.text)))
    for entry in done:
        if not (wanted & _actions(entry) or _raised_the_same(action, entry)):
            continue
        done_things = _things(entry)
        # "Roll back a recent orders-service deploy" is not done by "Rolled back checkout-api".
        if step_things and done_things and not step_things & done_things:
            continue
        return entry
    return None
