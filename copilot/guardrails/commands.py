"""What a single command or step says it does: the rules that mark a shell, SQL or CLI command
risky (it needs a human's approval), that it sends credentials away, or that a step's wording
orders something disruptive. `risk.py` applies them to every command a reader can see."""

from __future__ import annotations

import re

from copilot.promql import starts_query

_RISKY_COMMAND: list[tuple[str, re.Pattern[str]]] = [
    ("recursive or forced delete", re.compile(r"\brm\s+(?:-\w*[rRf]\w*\b|--recursive|--force)")),
    (
        "delete",
        # Not a CLI's history or status of them: `lark cdn purge history --since 2h`.
        re.compile(
            r"\b(?:delete|del|remove|rm|rmi|destroy|purge|wipe|erase|uninstall)\b"
            r"(?!\s+(?:history|status)\b)",
            re.I,
        ),
    ),
    (
        "drop or truncate",
        re.compile(
            r"\b(?:drop|truncate)\s+(?:table|database|schema|index|keyspace|collection)?", re.I
        ),
    ),
    (
        "data change",
        re.compile(r"\bdelete\s+from\b|\bupdate\s+\S+\s+set\b|\balter\s+table\b", re.I),
    ),
    (
        "force",
        re.compile(r"(?:^|\s)--force(?:\b|=)|\bforce-?push\b|\bpush\s+(?:-f\b|--force)", re.I),
    ),
    (
        "scale to zero",
        re.compile(r"--replicas[= ]0\b|\bscale\b[^\n]*\bto\s+0\b|\bscale\b[^\n]*\bzero\b", re.I),
    ),
    (
        "terminate or kill",
        re.compile(
            r"(?:\b|_)(?:terminate|kill|pkill|killall|shutdown|poweroff|halt)(?:\b|_)", re.I
        ),
    ),
    ("reboot", re.compile(r"\breboot\b|\brestart\s+--all\b|\bsystemctl\s+restart\b", re.I)),
    ("failover", re.compile(r"\bfail-?over\b|\bswitchover\b|\bpromote\b", re.I)),
    (
        "flush",
        re.compile(r"\bflush(?:all|db)?\b|\bcache\s+(?:clear|flush|purge)\b|\binvalidate\b", re.I),
    ),
    ("revoke or rotate", re.compile(r"\brevoke\b|\brotate\b|\bseal\b", re.I)),
    ("drain", re.compile(r"\bdrain\b|\bcordon\b|\bevict\b", re.I)),
    ("disk write", re.compile(r"\bmkfs\b|\bdd\s+if=|\bfdisk\b|\bparted\b")),
    ("firewall flush", re.compile(r"\biptables\s+-F\b|\bufw\s+disable\b")),
    ("reset", re.compile(r"\breset\s+--hard\b|\bresetpassword\b|\breset\b", re.I)),
    (
        "skips a safety check",
        re.compile(
            r"--(?:skip|no|disable|bypass|ignore)-[\w-]*(?:check|checks|validation|validate|verify|"
            r"verification|confirm|confirmation|notify|notification|auth|fraud|hooks?)\b|"
            r"--insecure\b|(?:^|\s)--yes\b|--force-[\w-]+",
            re.I,
        ),
    ),
    ("acts on everything", re.compile(r"(?:^|\s)--all(?![\w-])|--replace-all\b|--drop-[\w-]+")),
    (
        "runs a downloaded script",
        re.compile(
            r"\b(?:curl|wget|fetch)\b[^|\n]*\|\s*(?:sudo\s+)?(?:ba|z|k|da)?sh\b|<\(\s*(?:curl|wget)\b"
        ),
    ),
]

# Commands no runbook needs a copilot to suggest: they send credentials off the machine.
_EXFILTRATION = re.compile(
    r"\b(?:curl|wget|nc|ncat|netcat|scp|rsync|http|https)\b[^\n]*(?:@/var/run/secrets|/etc/shadow|"
    r"\.aws/credentials|\.kube/config|id_rsa|id_ed25519|\$\((?:env|printenv)\)|serviceaccount/token)|"
    r"\b(?:get\s+secrets?|printenv|env)\b[^|\n]*\|[^\n]*\b(?:curl|wget|nc|ncat|netcat)\b",
    re.I,
)


def exfiltrates(command: str) -> bool:
    """A command that sends credentials or the environment to another machine."""
    return bool(_EXFILTRATION.search(command))


# Disruptive orders and the same orders said by what they do ("Deleting an incorrect Endpoint
# should trigger its recreation"): one verb, its imperative and its gerund.
_DISRUPTIVE_VERBS = {
    "promote": "promoting",
    "delete": "deleting",
    "drop": "dropping",
    "truncate": "truncating",
    "flush": "flushing",
    "purge": "purging",
    "wipe": "wiping",
    "reboot": "rebooting",
    "terminate": "terminating",
    "cordon": "cordoning",
    "kill": "killing",
    "revoke": "revoking",
    "rotate": "rotating",
    "drain": "draining",
}


# Step wording that names a disruptive action. The order may stand behind its case: "If it
# hangs, delete the pod", "In extremely rare situations scale the oldest ReplicaSets to 0", "In
# extreme situations recreate cluster", "If issue persists delete the node"; or open with a link:
# "[Cordon and drain node](...)".
def _ordered(orders: str, gerunds: str) -> re.Pattern[str]:
    return re.compile(
        r"(?:^\W*|,\s+|\b(?:cases?|situations?|circumstances|resort)\s+|"
        r"\b(?:persists|continues|remains|recurs|fails)\s+)(?:then\s+)?"
        rf"(?:{orders})|^\W*(?:{gerunds})\b",
        re.IGNORECASE,
    )


_DISRUPTIVE = _ordered(
    rf"{'|'.join(_DISRUPTIVE_VERBS)}|"
    r"scale\b[^.\n]*\bto (?:0|zero)\b|restart (?:all|every)|"
    r"restore from backup|re-?create (?:the |a |your )?cluster\b",
    "|".join(_DISRUPTIVE_VERBS.values()),
)
# A failover is disruptive unless the runbook says it is pre-approved for whoever is on call
# ("Safe, reversible, pre-approved for on-call"): the team decided that in advance, and a
# "Requires approval" badge beside "pre-approved" contradicts the runbook. What deletes, drops
# or drains still needs approval whatever the text says (a runbook is untrusted text), and so
# does any command risky in itself (`command_risks`).
_FAIL_OVER = _ordered("fail over|failover", "fail(?:ing)? over|failover")
_PRE_APPROVED = re.compile(r"(?<!\bnot )\bpre-?approved\b", re.IGNORECASE)
# Wording that says approval is needed; "pre-approved" says it is not.
_ASKS_APPROVAL = re.compile(
    r"\bnot pre-?approved\b|(?<!pre-)\bapprov(?:al|e|ed|ing)\b|\bsign-?off\b", re.IGNORECASE
)


# A PromQL query reads; a label matcher's value names what it counts (`verb=~"PUT|DELETE"` is
# HTTP requests, not a deletion). Only a whole query is read so: it starts with a function or a
# selector and holds nothing a shell would run once its matchers' values are set aside.
_MATCHER_VALUE = re.compile(r'((?:=~|!~|!=|=)\s*)"[^"\n]*"')
_RUNS = re.compile(r"[;`$|&\\]|\b(?:sh|bash|curl|wget|kubectl|oc|rm)\b")


# What grep looks for is text to find, not an order: `logs ... | grep -iE 'unseal|kms|seal'`.
# Only a single-quoted pattern, or a double-quoted one with nothing the shell would run.
_GREP_PATTERN = re.compile(
    r"""(\b[efz]?grep\b(?:\s+-[\w-]+(?:=\S+)?)*\s+(?:-e\s+)?)(?:'[^'\n]*'|"[^"\n$`\\]*")"""
)


def _query_text(command: str) -> str:
    """What a risk rule reads: a PromQL query without its matchers' values, else the command
    without the patterns it greps for."""
    if not starts_query(command):
        return _GREP_PATTERN.sub(r"\1''", command)
    bare = _MATCHER_VALUE.sub(r'\1""', command)
    return command if _RUNS.search(bare) else bare


def command_risks(command: str) -> list[str]:
    """Why a shell, SQL or CLI command is risky; empty when it looks read-only or routine."""
    text = _query_text(command)
    return [name for name, pattern in _RISKY_COMMAND if pattern.search(text)]


def risky_wording(text: str) -> bool:
    """A step's wording names a disruptive action ("If it hangs, delete the pod") or says
    approval is needed ("Needs fraud on-call approval", not "Pre-approved for the owning
    team")."""
    text = text.strip()
    return bool(
        _ASKS_APPROVAL.search(text)
        or _DISRUPTIVE.search(text)
        or (_FAIL_OVER.search(text) and not _PRE_APPROVED.search(text))
    )
