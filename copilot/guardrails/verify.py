"""Check every proposed step against the passages it cites, whoever proposed it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from copilot.guardrails.commands import exfiltrates
from copilot.guardrails.hosts import host_of
from copilot.guardrails.injection import reasons_for
from copilot.guardrails.risk import requires_approval

_URL = re.compile(r"(?:https?|ftp)://[^\s)<>\]\"'`]+", re.IGNORECASE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
# An image target with a scheme (https:, data:, file:) or a host (//host/...) is fetched from
# somewhere else when shown: a tracking pixel or a way out for data. One beside the document
# (img/x.png) fetches nothing from anyone.
_FOREIGN_TARGET = re.compile(r"^\s*<?\s*(?:[a-z][a-z0-9+.-]*:|[/\\]{2})", re.IGNORECASE)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@dataclass
class Proposed:
    text: str
    command: str | None
    citations: list[str]


@dataclass
class Verified:
    text: str
    command: str | None
    requires_approval: bool
    citations: list[str]


@dataclass
class Verdict:
    steps: list[Verified] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _quoted(command: str, cited_text: str) -> bool:
    """Whether a command is quoted from the cited text: whole, or (a step that folds several
    code blocks of one list item) every one of its lines."""
    if _norm(command) in cited_text:
        return True
    lines = [_norm(line) for line in command.splitlines() if line.strip()]
    return len(lines) > 1 and all(line in cited_text for line in lines)


# Identifier-like tokens: names with digits, paths, dotted or snake_case names, CODE-123 ids.
_DETAIL = re.compile(r"(?<![\w./-])/?[A-Za-z0-9][\w./:-]{4,}[A-Za-z0-9]")


def unsupported_details(text: str, allowed: str) -> list[str]:
    """Specific names, ids, paths and numbers in `text` that `allowed` never mentions.

    A model may reword a step, but it may not introduce a host, a path, an id or a canary.
    """
    haystack = allowed.lower()
    out = []
    for token in _DETAIL.findall(_URL.sub(" ", text)):
        specific = (
            any(ch.isdigit() for ch in token)
            or any(ch in "._/:" for ch in token)
            or ("-" in token and any(ch.isupper() for ch in token))
        )
        if specific and token.lower() not in haystack:
            out.append(token)
    return out


def strip_hosts(text: str, hosts: set[str]) -> str:
    """Replace every URL on one of `hosts` with a marker."""

    def _link(match: re.Match[str]) -> str:
        host = host_of(match.group(0))
        return "[link removed]" if host in hosts else match.group(0)

    return _URL.sub(_link, text)


def hosts_in(text: str) -> set[str]:
    return {host_of(u) for u in _URL.findall(text)} - {""}


def strip_links(
    text: str, known_hosts: set[str], blocked: list[str], *, allowed: str | None = None
) -> str:
    """Remove images, links to hosts the knowledge base never mentions and, given the text the
    composer was allowed to use, links that text does not hold verbatim."""
    grounded = _norm(allowed).lower() if allowed is not None else None

    def _image(match: re.Match[str]) -> str:
        alt, target = match.group(1).strip(), match.group(2)
        if not _FOREIGN_TARGET.match(target):
            # A screenshot beside the runbook: its caption is what an answer can carry; the
            # picture is on the document's page. Nothing was withheld for safety.
            return f"(screenshot: {alt})" if alt else ""
        blocked.append(f"image removed: {match.group(0)[:120]}")
        return ""

    def _link(match: re.Match[str]) -> str:
        url = match.group(0)
        host = host_of(url)
        if grounded is not None and url.rstrip(".,;:").lower() not in grounded:
            blocked.append(f"link not in the sources removed: {host or url[:60]}")
            return "[link removed]"
        if host in known_hosts:
            return url
        blocked.append(f"link to unknown host removed: {host or url[:60]}")
        return "[link removed]"

    return _URL.sub(_link, _IMAGE.sub(_image, text)).strip()


def verify(
    proposals: list[Proposed],
    passages: dict[str, str],
    known_hosts: set[str],
    *,
    context: str = "",
) -> Verdict:
    """Keep steps that cite real passages and whose commands those passages hold verbatim.

    `passages` maps passage id to the text the composer was allowed to use (instruction text
    already removed), so a command that only an injected paragraph contained cannot pass.
    `context` is the rest of what the composer saw (the question, the incident record).
    """
    verdict = Verdict()
    seen: set[tuple[str, str | None]] = set()
    for step in proposals:
        text = (step.text or "").strip()
        cited = [c for c in dict.fromkeys(step.citations) if c in passages]
        if not text and not step.command:
            continue
        if not cited:
            verdict.blocked.append(f"step without a valid citation dropped: {text[:120]}")
            continue
        if reasons_for(text) or (step.command and reasons_for(step.command)):
            verdict.blocked.append(f"step carrying instructions dropped: {text[:120]}")
            continue
        cited_text = _norm("\n".join(passages[c] for c in cited))
        commands = [step.command] if step.command else []
        commands += [c for c in _INLINE_CODE.findall(text) if len(c.split()) > 1]
        unverified = [c for c in commands if not _quoted(c, cited_text)]
        if unverified:
            for command in unverified:
                verdict.blocked.append(
                    f"command not found verbatim in cited passages: {command[:160]}"
                )
            continue
        exfil = [c for c in commands if exfiltrates(c)]
        if exfil:
            verdict.blocked.append(f"command sending credentials off the machine: {exfil[0][:160]}")
            continue
        invented = unsupported_details(text, cited_text + "\n" + context)
        if invented:
            verdict.blocked.append(
                f"step with details not in its sources dropped: {', '.join(invented)[:160]}"
            )
            continue
        # A link survives only if its passage holds it verbatim (a path or query can carry what
        # an attacker wants out) and its host is one the knowledge base names.
        text = strip_links(text, known_hosts, verdict.blocked, allowed=cited_text + "\n" + context)
        key = (_norm(text).lower(), _norm(step.command) if step.command else None)
        if key in seen:
            continue
        seen.add(key)
        verdict.steps.append(
            Verified(
                text=text,
                command=step.command,
                requires_approval=requires_approval(text, step.command),
                citations=cited,
            )
        )
    return verdict
