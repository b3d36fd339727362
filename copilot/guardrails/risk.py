"""Flag destructive or risky commands and steps: they need a human's approval."""

from __future__ import annotations

import re

_RISKY_COMMAND: list[tuple[str, re.Pattern[str]]] = [
    ("recursive or forced delete", re.compile(r"\brm\s+(?:-\w*[rRf]\w*\b|--recursive|--force)")),
    (
        "delete",
        re.compile(r"\b(?:delete|del|remove|rm|rmi|destroy|purge|wipe|erase|uninstall)\b", re.I),
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


# Step wording that names a disruptive action, or says approval is needed.
_RISKY_TEXT = re.compile(
    r"\bapprov(?:al|e|ed|ing)\b|\bsign-?off\b|"
    r"^\W*(?:fail over|failover|promote|delete|drop|truncate|flush|purge|wipe|reboot|terminate|"
    r"kill|revoke|rotate|scale\b[^.\n]*\bto (?:0|zero)\b|restart (?:all|every)|drain|restore from backup)",
    re.IGNORECASE,
)


def command_risks(command: str) -> list[str]:
    """Why a shell, SQL or CLI command is risky; empty when it looks read-only or routine."""
    return [name for name, pattern in _RISKY_COMMAND if pattern.search(command)]


def requires_approval(text: str, command: str | None = None) -> bool:
    if command and command_risks(command):
        return True
    return bool(_RISKY_TEXT.search(text.strip()))
