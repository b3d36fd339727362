"""What an action destroys or disables, whatever host it talks to and wherever it sits.

The rules in `risk.py` know commands that are dangerous anywhere (no auth, every key, a table
gone) and commands that reach outside (credentials sent away, scripts fetched, clients repointed).
A planted step needs neither: the company's own tool, pointed at the company's own system, can
delete every backup "to free space", revoke the key everyone signs in with "with no overlap",
fail over "skipping the sync check" or purge a queue of messages nobody has sent yet. What these
share is what they take away, and that it cannot be given back in the middle of an incident:

- the copies a recovery needs (every backup, the off-site ones, a standby's replication slot);
- the credentials everyone is using, with no overlap for clients to move to the new ones;
- the data a forced failover past its lag check leaves behind;
- messages queued for delivery, discarded wholesale.

Each is `severe` (`risk.Risk.severe`): the copilot does not repeat the command or the case made
for it, and a unit that argues for one is read with the semantic detector's lower bar.

Words that only tell a secret to someone (a code read out over the phone, a recovery code sent
by mail) are judged here too: no command, but the same kind of damage.

Like every rule here, these are about what an action does, not about how a document words it;
the public corpora (`evals.guardrails_fp`) are the check that runbooks' own steps pass.
"""

from __future__ import annotations

import re

# A verb that removes what it names.
_REMOVE = r"(?:delete|prune|purge|remove|rm|expire|wipe|destroy|erase|clear|drop|nuke|gc)"
# Copies a recovery starts from.
_COPIES = (
    r"(?:backups?|base-?backups?|snapshots?|archives?|wal-?archive|pitr|recovery[-_ ]points?|"
    r"off-?site|vaults?)"
)
# Nothing kept: every copy, copies of any age, or the off-site ones too.
_NONE_KEPT = (
    r"(?:(?:^|\s)--all(?![\w-])|--older-than[= ]['\"]?0+[a-z]*\b|--(?:keep|retain|retention)"
    r"[\w-]*[= ]['\"]?0+[a-z]*\b|--include-off-?site\b|--off-?site\b|--recursive\b|"
    r"--everything\b|--(?:all|every)-[\w-]+)"
)
_DESTROYS_COPIES = re.compile(
    rf"(?=[^\n]*\b{_REMOVE}\b)(?=[^\n]*{_COPIES})(?=[^\n]*{_NONE_KEPT})", re.I
)
# A replication slot dropped: its standby stops receiving changes and must be rebuilt.
_DROPS_SLOT = re.compile(
    r"\bpg_drop_replication_slot\s*\(|\bdrop[-_ ](?:physical[-_ ]|logical[-_ ])?"
    r"(?:replication[-_ ])?slot\b|\bslots?\s+(?:drop|delete|remove)\b",
    re.I,
)
# A key or certificate replaced with no overlap: everything signed with the old one stops
# working at once (every session, token and integration).
_NO_OVERLAP = re.compile(
    r"(?=[^\n]*\b(?:rotate|rotation|revoke|roll|rekey|re-key|renew|replace)[\w-]*\b)"
    r"(?=[^\n]*(?:--no-overlap\b|--revoke-(?:previous|old|current|existing|all)\b|"
    r"--(?:overlap|grace)[\w-]*[= ]['\"]?0+[a-z]*\b|--immediate(?:ly)?\b|--invalidate-all\b))",
    re.I,
)
# A failover or promotion forced past what keeps it from losing writes.
_FORCED_FAILOVER = re.compile(
    r"(?=[^\n]*\b(?:fail-?over|promote|switch-?over|takeover)\b)"
    r"(?=[^\n]*(?:(?:^|\s)--force\b|--skip-[\w-]+|--no-(?:sync|wait|check|catch-?up)[\w-]*|"
    r"--ignore-(?:lag|sync)[\w-]*|--allow-data-loss\b|--unsafe\b))",
    re.I,
)
# Messages waiting for delivery thrown away wholesale.
_DISCARDS_QUEUE = re.compile(
    rf"(?=[^\n]*\b(?:{_REMOVE}|purge_queue|truncate|reset)\b)"
    r"(?=[^\n]*\b(?:queues?|topics?|outbox|streams?|dlq|dead-?letter\w*|mailbox|backlog|"
    r"spool)\b)(?=[^\n]*(?:(?:^|\s)--force\b|(?:^|\s)--all(?![\w-])|(?:^|\s)--yes\b|"
    r"\s-f\b))",
    re.I,
)

HARMS: list[tuple[str, re.Pattern[str]]] = [
    ("destroys the backups a recovery needs", _DESTROYS_COPIES),
    ("drops a standby's replication slot", _DROPS_SLOT),
    ("revokes credentials in use with no overlap", _NO_OVERLAP),
    ("forces a failover past its data-loss check", _FORCED_FAILOVER),
    ("discards queued messages", _DISCARDS_QUEUE),
]
# Every reason above is severe (`risk.SEVERE`).
SEVERE = frozenset(reason for reason, _ in HARMS)

# Words that gate the rules in prose: most sentences hold none of them.
PROSE_GATE = (
    "prune", "backup", "snapshot", "slot", "overlap", "revoke", "fail", "promote", "queue",
    "purge", "code", "passcode", "otp", "pin",
)  # fmt: skip


def harms(span: str) -> list[str]:
    """What `span` destroys or disables that a recovery cannot give back (empty: nothing)."""
    return [reason for reason, pattern in HARMS if pattern.search(span)]


# --- A secret told to someone -----------------------------------------------------------------

# An order to say, send or hand over a one-time code, recovery code, PIN, password or token.
# "The caller asked us to read out the code" is a report of one, not an order: the verb has to
# start a clause ("and read out", "then give them", "Read the code").
_TELL = re.compile(
    r"(?:^|[.:;!?]\s+|,\s*|\band\s+|\bthen\s+|\bnow\s+|\bjust\s+|\bplease\s+)"
    r"(?:read(?:\s+(?:out|back|aloud))?|dictate|tell|give|share|provide|send|forward|confirm|"
    r"spell\s+out|(?:e-?mail|text)(?=\s+(?:it|them|the|your|our|this|that|a|an)\b))\s"
    r"[^.\n]{0,90}?"
    r"\b(?:(?:one-time|otp|mfa|2fa|sms|token|verification|recovery|backup|security|auth\w*|"
    r"six-digit|6-digit|\w+-digit)\s+(?:codes?|pins?)|passcodes?|otps?|pins?|recovery\s+keys?|"
    r"seed\s+phrases?|passwords?|passphrases?|private\s+keys?)\b",
    re.I,
)
# ... to someone on the other end of a call, a message or a mail.
_TO_SOMEONE = re.compile(
    r"\b(?:call|calls|calling|phone|caller|line|hotline|dial|voicemail|sms|text\s+message|"
    r"whatsapp|signal|telegram|mailbox|inbox|reply|desk|agent|representative|"
    r"support)\b|\[REDACTED:phone\]|\+?\d[\d ().-]{6,}\d",
    re.I,
)
_NEGATION = re.compile(
    r"\b(?:never|not|don't|do not|must not|refus\w*|decline\w*|nobody|no one|hung up)\b", re.I
)


def tells_a_secret(sentence: str) -> bool:
    """Whether a sentence orders the reader to tell a code, PIN, password or key to someone (a
    caller, a support line, a mail address): what no runbook asks and every vishing call does."""
    match = _TELL.search(sentence)
    if not match or not _TO_SOMEONE.search(sentence):
        return False
    before = sentence[max(0, match.start() - 60) : match.end()]
    return not _NEGATION.search(before)
