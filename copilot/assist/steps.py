"""Pick concrete steps (list items, checks, commands) out of runbook passages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.guardrails.injection import units
from copilot.guardrails.risk import requires_approval
from copilot.knowledge.passages import PHASE_ORDER, Passage

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?")
_FENCE = re.compile(r"^\s*(```|~~~)[^\n]*\n(.*?)\n\s*(?:```|~~~)\s*$", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_SQL = re.compile(r"^(?:select|show|explain|update|delete|insert|alter|vacuum|analyze)\b", re.I)
_CLI = re.compile(r"^(?:\$\s*)?(?:sudo\s+)?[a-z][a-z0-9_.-]*(?:\s|$)")
_IMPERATIVE = re.compile(
    r"^(?:\*\*)?(?:check|confirm|verify|look|open|run|restart|roll ?back|revert|scale|fail over|"
    r"failover|increase|reduce|raise|lower|disable|enable|pause|resume|drain|cordon|page|escalate|"
    r"notify|inspect|compare|watch|query|find|identify|list|review|switch|route|block|purge|flush|"
    r"delete|remove|add|apply|set|move|stop|start|kill|promote|re-?run|re-?index|rebuild|clear|"
    r"post|tell|ask|wait|monitor|capture|collect|search|grep|tail|describe|get|make sure|ensure)\b",
    re.IGNORECASE,
)
MAX_STEP_CHARS = 400


@dataclass
class Candidate:
    text: str
    command: str | None
    phase: str
    passage: Passage
    position: int

    @property
    def requires_approval(self) -> bool:
        return requires_approval(self.text, self.command)


_KNOWN_CLIS = frozenset(
    """
    kubectl oc helm argocd flux lark psql mysql mongosh redis-cli curl wget vault consul nomad
    terraform aws gcloud az docker crictl ctr nerdctl systemctl journalctl jq yq grep egrep cat
    tail head less ls df du top htop ps kill pkill dig nslookup host openssl git etcdctl kcat
    kafkacat promtool amtool ssh scp rsync sudo ip ss netstat tcpdump iptables nc ping traceroute
    mtr free vmstat iostat lsof find sed awk python python3 pip make ansible watch echo export
    for while rm mv cp chmod chown mkdir touch tar istioctl linkerd velero stern sort uniq wc xargs
    opensearch-cli elasticsearch-cli kafka-topics kafka-consumer-groups rabbitmqctl pg_dump
    pg_restore patronictl pgbouncer mc s3cmd rclone openstack virsh mount umount sysctl dmesg
    """.split()
)
_TOOL_SUFFIX = re.compile(r"^[a-z][a-z0-9-]*(?:ctl|cli|adm)$")


def looks_like_command(code: str) -> bool:
    """Whether inline code is something to run, not a name, a value or a log message."""
    code = code.strip().removeprefix("$ ")
    if len(code) < 4 or ("\n" in code and len(code) > 600):
        return False
    if _SQL.match(code):
        return True
    if " " not in code or not _CLI.match(code):
        return False
    first = code.split()[0]
    if first == "sudo" and len(code.split()) > 1:
        first = code.split()[1]
    return first in _KNOWN_CLIS or bool(_TOOL_SUFFIX.match(first)) or first.startswith(("./", "/"))


def _clean(text: str) -> str:
    text = _LIST_MARKER.sub("", text.strip(), count=1)
    text = " ".join(line.strip() for line in text.split("\n"))
    if len(text) > MAX_STEP_CHARS:
        cut = text[:MAX_STEP_CHARS]
        text = cut[: cut.rfind(" ")] + " …" if " " in cut else cut
    return text


def _fenced(unit: str) -> str | None:
    match = _FENCE.match(unit.strip())
    return match.group(2).strip() if match else None


def extract(passage: Passage) -> list[Candidate]:
    """Concrete steps of one action section, in document order."""
    phase = passage.phase
    if phase is None or passage.chunk.kind != "runbook":
        return []
    parts = units(passage.text)
    out: list[Candidate] = []
    for i, unit in enumerate(parts):
        block = _fenced(unit)
        if block is not None:
            if not block:
                continue
            # A code block belongs to the step that introduces it, if that step has no command.
            if out and out[-1].command is None and out[-1].position == i - 1:
                out[-1].command = block
            else:
                intro = _clean(parts[i - 1]) if i and _fenced(parts[i - 1]) is None else ""
                text = intro if intro and not intro.startswith("|") else "Run:"
                out.append(Candidate(text, block, phase, passage, i))
            continue
        is_item = bool(_LIST_MARKER.match(unit))
        text = _clean(unit)
        if not text or text.startswith("|"):
            continue
        codes = [c for c in _INLINE_CODE.findall(unit) if looks_like_command(c)]
        if not is_item and not codes and not _IMPERATIVE.match(text):
            continue
        out.append(Candidate(text, codes[0] if codes else None, phase, passage, i))
    return out


def order(candidates: list[Candidate]) -> list[Candidate]:
    """Diagnose before mitigate, then verify and escalate; safe before disruptive in each."""
    return sorted(
        candidates,
        key=lambda c: (
            PHASE_ORDER.get(c.phase, 9),
            c.requires_approval,
            c.passage.score * -1,
            c.passage.chunk.ordinal,
            c.position,
        ),
    )


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


_WORDS = re.compile(r"[a-z0-9]+")


def already_done(candidate: Candidate, done: list[str]) -> bool:
    """Whether the timeline records this step (its command, or most of its words)."""
    if not done:
        return False
    if candidate.command:
        command = normalise(candidate.command)
        if any(command in normalise(d) for d in done):
            return True
    words = set(_WORDS.findall(candidate.text.lower())) - {"the", "a", "an", "to", "and", "of"}
    if len(words) < 3:
        return False
    for entry in done:
        entry_words = set(_WORDS.findall(entry.lower()))
        if len(words & entry_words) / len(words) >= 0.7:
            return True
    return False
