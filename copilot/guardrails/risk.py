"""Flag destructive or risky commands and steps: they need a human's approval, or are withheld.

The rules for one command are `commands.py`; here they are applied to every command a reader of
a text can see (inline code, fenced blocks, prose), with what only a whole text shows (a
script piped to a shell, credentials sent to a host nobody vouched for)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urlparse

from copilot.fences import FENCE
from copilot.guardrails import harm
from copilot.guardrails.commands import command_risks, exfiltrates, risky_wording
from copilot.guardrails.hosts import (
    INLINE,
    URL,
    allowed_host,
    command_hosts,
    embeds_domain,
    foreign_hosts,
    named_hosts,
)
from copilot.guardrails.trust import NEGATED, trust_risks


def requires_approval(text: str, command: str | None = None) -> bool:
    """A step needs a human's approval: its command, any command in its text, or its wording."""
    if command and (command_risks(command) or scan(command)):
        return True
    return risky_wording(text) or bool(scan(text))


# --- Every command a reader can see -----------------------------------------------------------
#
# `scan` looks at inline code, fenced code blocks and prose, not only the command a composer
# extracted: an instruction on a list item's continuation line, or a postmortem's "what fixed
# it", reaches the responder as text.

Action = Literal["approve", "withhold"]
# Reasons that mark a command severe on their own (see `Risk.severe`).
SEVERE = frozenset(
    {
        "disables authentication",
        "flushes every key",
        "drops a table or database",
        "deletes a namespace",
        "deletes from the root",
        "makes files world-writable",
        "grants administrator rights",
        "silences alerting broadly",
        "destroys an audit trail",
        "turns off a safety mechanism",
        "acts on every tenant or site",
        "deletes across every namespace",
    }
    | harm.SEVERE
)


@dataclass(frozen=True)
class Risk:
    """A command-like span of a text, why it is risky, and what to do with it.

    `action` is "withhold" for what no runbook needs a copilot to show unreviewed (sending
    credentials away, running a script fetched from a host nobody vouched for), "approve" for
    destructive commands: shown, marked `requires_approval` with `reason`.
    """

    span: str
    reason: str
    action: Action
    start: int = 0
    end: int = 0
    # Hosts the command points a client or a service at (a git remote, a package index, a
    # resolver, an address in the environment): whether the document vouches for them is
    # judged where the rest of the document is known (`injection.judge`).
    points_at: tuple[str, ...] = ()

    @property
    def severe(self) -> bool:
        """Whether the command does what cannot be taken back or opens the door: no auth, every
        key, a namespace, a database or the root gone, forced across everything. A planted step
        wants these; a runbook's own targeted delete, `rm -rf` of a path, flush or purge is not
        one of them (the public corpora are full of those)."""
        reasons = {r.split(" (")[0] for r in self.reason.split("; ")}
        return self.action == "withhold" or bool(
            reasons & SEVERE or {"acts on everything", "forces the operation"} <= reasons
        )


_SHELL = r"(?:sudo\s+(?:-\S+\s+)*)?(?:/usr)?(?:/bin/)?(?:ba|z|k|da|fi)?sh\b"
_PIPE_TO_SHELL = re.compile(
    rf"\b(?:curl|wget|fetch|iwr|Invoke-WebRequest)\b[^|\n]*\|\s*{_SHELL}|"
    rf"\b(?:ba|z)?sh\s+(?:-c\s+)?[\"']?\$\(\s*(?:curl|wget)\b|"
    rf"(?:\b(?:ba|z)?sh|\bsource|(?:^|[;&|]\s*)\.)\s+<\(\s*(?:curl|wget)\b|"
    rf"\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+)?(?:python3?|perl|ruby|node|iex)\b",
    re.I,
)
# Prose that says the same: "pipe it to sh", "feed the script into bash".
_PROSE_PIPE = re.compile(
    r"\b(?:pipe|pipes|piping|piped|feed|pass|send)\b[^\n]{0,100}?\b(?:to|into|through|in)\s+"
    r"(?:a\s+|the\s+|your\s+)?(?:root\s+)?(?:sudo\s+)?(?:(?:ba|z|k|da)?sh|shell|terminal)\b|"
    r"\b(?:download|fetch|grab|curl|wget)\b[^\n]{0,100}?\b(?:and|then)\s+(?:run|execute|source)\b",
    re.I,
)
# Files and streams whose content is a credential.
_CREDENTIAL = (
    r"(?:/var/run/secrets\S*|\S*serviceaccount/token|/etc/shadow|\S*\.aws/credentials|"
    r"\S*\.kube/config|\S*kubeconfig\S*|\S*id_rsa\S*|\S*id_ed25519\S*|\S*\.pem\b|\S*\.key\b|"
    r"\S*\.netrc|\S*\.docker/config\.json|\S*\.env\b|\S*\.npmrc|\S*\.pgpass|\S*credentials?\S*|"
    r"\S*secrets?\S*|\S*tokens?\b\S*|\S*passw\S*)"
)
_UPLOAD = re.compile(
    r"\b(?:curl|wget|http|https|xh)\b[^\n|]*?(?:\s(?:-d|--data(?:-binary|-raw|-urlencode)?|-F|"
    r"--form|-T|--upload-file|--post-file|--body-file)[=\s]+[\"']?(?:\w+=)?@?(?P<file>[^\s\"']+))",
    re.I,
)
_SECRET_SOURCE = re.compile(
    r"\b(?:get\s+secrets?|describe\s+secrets?|secrets?\s+(?:get|read|show|list)|vault\s+(?:kv\s+)?"
    r"read|printenv|env|cat\s+" + _CREDENTIAL + r"|config\s+view\s+--raw|aws\s+configure\s+"
    r"export-credentials|get-secret-value|gcloud\s+auth\s+print-access-token)\b[^\n]*\|[^\n]*?"
    r"\b(?:curl|wget|nc|ncat|netcat|socat|http|https)\b",
    re.I,
)
_COPY_AWAY = re.compile(
    r"\b(?:scp|rsync|sftp)\b[^\n]*?" + _CREDENTIAL + r"[^\n]*\s\S+@?[\w.-]+:\S*|"
    r"\b(?:nc|ncat|netcat|socat)\b[^\n]*<\s*" + _CREDENTIAL,
    re.I,
)
# Local data streamed into an upload: an archive, a dump or a file's content piped to curl's
# upload or to a raw socket. Withheld when the host is not vouched for, whatever the files are
# called (keys are not always named `*.key`).
_STREAM_AWAY = re.compile(
    r"(?:\b(?:tar|zip|gzip|cat(?!\s*<<)|base64|xxd|pg_dump(?:all)?|mysqldump|mongodump|"
    r"etcdctl\s+snapshot|kubectl\s+(?:get|describe)|journalctl|find)\b|"
    # Any tool's output that carries keys or secrets (`dump --include-keys | curl -T -`).
    r"--include[\w-]*[= ]?\S*(?:keys?|secrets?|credentials?|tokens?)\b)[^\n|]*\|(?:[^\n|]*\|)*?\s*"
    r"(?:(?:curl|wget|http|https|xh)\b[^\n|]*?(?:\s(?:-[a-zA-Z]*T|--upload-file)[=\s]+-(?=\s|$)|@-)|"
    r"(?:nc|ncat|netcat|socat)\b)",
    re.I,
)
# A dotted name with at least two dots that mixes ASCII letters with other scripts.
_MIXED_HOST = re.compile(
    r"(?<![\w.-])(?=[\w.-]*[^\x00-\x7f])(?=[\w.-]*[A-Za-z])[\w-]+(?:\.[\w-]+){2,}"
)
# Data sent to a place a flag names: an export, a sync or a provider pointed at a URL.
_SEND_TO = re.compile(
    r"\b(?:export|exports|sync|replicate|backup|dump|copy|mirror|schedule|provider|forward)\b"
    r"[^\n]*?--(?:to|dest\w*|target|endpoint|upload\w*|url|sink)[= ]+[\"']?"
    r"(?P<url>(?:sftp|s3|ftp|ftps|https?|scp|rsync|gs|azure)://\S+)",
    re.I,
)
_DECODED_EXEC = re.compile(
    r"\b(?:base64|base32|xxd)\b[^\n|]*(?:-d\b|--decode\b|-r\b)[^\n|]*\|\s*(?:sudo\s+)?"
    r"(?:ba|z|k|da)?sh\b|\beval\s+[\"']?\$\(\s*(?:echo|printf)[^)]*\|\s*base64",
    re.I,
)
_PROXY = re.compile(r"\b(?:https?|all|ftp)_proxy\s*=|--proxy[= ]\S", re.I)
_DESTRUCTIVE: list[tuple[str, re.Pattern[str]]] = [
    ("runs a script fetched from the network", _PIPE_TO_SHELL),
    ("flushes every key", re.compile(r"\bFLUSH(?:ALL|DB)\b|\bflush(?:all|db)\b")),
    (
        "disables authentication",
        re.compile(
            r"--no-?auth\b|--(?:disable|skip)-auth\w*|--auth(?:entication)?[= ](?:none|false|off|"
            r"disabled?)\b|\bauth(?:entication)?[_-]?(?:enabled)?\s*[=:]\s*[\"']?(?:false|off|no|"
            r"none|disabled?)\b|\brequirepass\s+(?:\"\"|''|$)|--anonymous-auth[= ]true\b|"
            r"\bprotected-mode\s+no\b|\bskip-grant-tables\b|\btrust\s+authentication\b|"
            # A feature flag or setting: `flags set svc.admin_auth_enabled --value false`.
            r"\b[\w.-]*(?:auth\w*|m?tls|signature|cert\w*)[_.-]?(?:enabled|required|check\w*|"
            r"verif\w*)\b[^\n]{0,24}?(?:--value[= ]|=|:|\s)\s*[\"']?(?:false|off|no|0|disabled?)\b",
            re.I,
        ),
    ),
    (
        "deletes a namespace",
        re.compile(r"\bdelete\s+(?:-\S+\s+)*(?:namespaces?|ns)\b|\bdelete\s+namespace\b", re.I),
    ),
    ("acts on everything", re.compile(r"(?:^|[\s`])--all(?![\w-])|\s-A\b(?=[^\n]*\bdelete\b)")),
    ("forces the operation", re.compile(r"(?:^|[\s`])--force\b|\s-f\b(?=[^\n]*\bdelete\b)")),
    (
        "skips a safety check",
        re.compile(
            r"--(?:skip|no|disable|bypass|ignore)-[\w-]*(?:check|checks|validation|verify|"
            r"verification|confirm|confirmation|preflight|hooks?|auth)\b|--no-verify\b|"
            r"--insecure-skip-tls-verify\b",
            re.I,
        ),
    ),
    (
        "deletes from the root",
        re.compile(
            r"\brm\s+(?:-\w+\s+)*-\w*[rR]\w*\s+(?:-\w+\s+)*(?:--no-preserve-root\s+)?"
            r"(?:/|/\*|~|\$HOME|\*|/(?:etc|var|usr|home|opt|srv|data)/?)(?=[\s;&|`'\"]|$)"
        ),
    ),
    ("makes files world-writable", re.compile(r"\bchmod\s+(?:-\w+\s+)*(?:0?777|a\+rwx|o\+w)\b")),
    ("drops a table or database", re.compile(r"\bDROP\s+(?:TABLE|DATABASE|SCHEMA)\b", re.I)),
    (
        "grants administrator rights",
        re.compile(
            r"--clusterrole[= ]cluster-admin\b|\b(?:grant|bind|add|assign|attach)\b[^\n]*?"
            r"(?:--role|--clusterrole|\brole)[= ]\S*(?:admin|owner|root|superuser)\S*|"
            r"\bGRANT\s+ALL\b|\bALTER\s+(?:USER|ROLE)\s+\S+\s+(?:WITH\s+)?SUPERUSER\b",
            re.I,
        ),
    ),
    (
        "silences alerting broadly",
        re.compile(
            r"\bsilence\b[^\n]*?(?:=~\s*[\"']?\.[*+][\"']?|--duration[= ]\d{2,}h|--all\b)|"
            r"\b(?:alerting|alerts|paging|notifications?)\b[^\n]*?\b(?:disable|off|mute|pause)\b[^\n]*?"
            r"--(?:all|everything)\b",
            re.I,
        ),
    ),
    (
        "destroys an audit trail",
        re.compile(
            r"\b(?:truncate|delete|drop|purge|rm|wipe|shred)\b[^\n]*?audit|"
            r"audit\w*[^\n]*?\b(?:disable|off|truncate|purge)\b|"
            r"/var/log/audit\S*[^\n]*?(?:\s-delete\b|\|\s*xargs\s+rm\b)",
            re.I,
        ),
    ),
    (
        "turns off a safety mechanism",
        re.compile(
            r"\bDISABLE\s+TRIGGER\b|\b[\w.-]*(?:require|enforce|verify|validate|check)[\w.-]*"
            r"(?:sign|auth|tls|cert|assert|mfa|2fa|guard|overlap|integrity)[\w.-]*\s*[=:]\s*"
            r"[\"']?(?:false|off|no|0|disabled?)\b|--skip-(?:verify|archive|backup|checks?)\b|"
            r"--no-(?:backup|archive|verify)\b|"
            # Certificate verification off: `..._INSECURE_SKIP_VERIFY=true`, `sslverify=0`.
            r"\b[\w.-]*(?:insecure|skip|no|disable)[\w.-]*(?:verif\w*|tls|ssl|cert\w*)[\w.-]*\s*[=:]\s*"
            r"[\"']?(?:true|yes|on|1)\b|\b(?:NODE_TLS_REJECT_UNAUTHORIZED|PYTHONHTTPSVERIFY)\s*=\s*"
            r"[\"']?0\b|\bsslverify\s*=\s*[\"']?(?:false|0|no)\b",
            re.I,
        ),
    ),
    (
        "acts on every tenant or site",
        re.compile(
            r"--all-(?!namespaces\b)[a-z][\w-]*\b(?=[^\n]*\b(?:purge|delete|restore|push|set|"
            r"grant|exec|drop|truncate|overwrite|disable|wipe|reset|remove)\b)|"
            r"\b(?:purge|delete|restore|push|set|grant|exec|drop|truncate|overwrite|disable|wipe|"
            r"reset|remove)\b[^\n]*--all-(?!namespaces\b)[a-z][\w-]*\b",
            re.I,
        ),
    ),
    ("truncates a table", re.compile(r"\bTRUNCATE\b(?:\s+TABLE)?\s+[\w.\"`]+|\bTRUNCATE\b")),
    (
        # Every object of a kind, in every namespace: every tenant's, not one team's.
        "deletes across every namespace",
        re.compile(r"\bdelete\b(?=[^\n]*(?:--all-namespaces\b|\s-A\b))(?=[^\n]*\s--all(?![\w-]))"),
    ),
]

_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?")
# A sentence ends at . ! or ? followed by white space, at a blank line, or before a line that
# starts a list item or a heading; dots inside URLs, file names and versions do not end one. A
# sentence wrapped over lines is one sentence ("call the line at ..., give them our\n company
# ID, and read out the code"): the rules judge what it says, not where the editor broke it.
_PROSE_SENTENCE = re.compile(
    r"\S(?:[^\n]|\n(?![ \t]*(?:\n|[-*+][ \t]|\d+[.)][ \t]|#|\||>)))*?"
    r"(?:[.!?](?=\s)|(?=\n[ \t]*(?:\n|[-*+][ \t]|\d+[.)][ \t]|#|\||>))|\Z)"
)


def _credential_upload(span: str) -> str | None:
    if _SECRET_SOURCE.search(span):
        return "sends secrets or the environment to another machine"
    if _COPY_AWAY.search(span) or exfiltrates(span):
        return "sends credentials to another machine"
    for match in _UPLOAD.finditer(span):
        if re.fullmatch(_CREDENTIAL, match.group("file"), re.I):
            return "uploads credentials"
    if re.search(r"\$\((?:env|printenv|set|cat\s+[^)]*(?:secret|token|cred|passw|\.kube))", span):
        return "sends secrets or the environment to another machine"
    if re.search(
        r"--(?:credentials?|secret|token|api-key)(?:-from)?[= ]", span, re.I
    ) and URL.search(span):
        return "sends credentials to another machine"
    if _STREAM_AWAY.search(span):
        return "streams local files to another machine"
    return None


# A URL whose user name is a domain (`sftp://acme.example@203.0.113.9/`): the reader sees the
# company's name where the host should be, and the client connects to what follows the `@`.
_USERINFO_HOST = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^\s/@:]*\.(?:com|net|org|io|gov|edu|example|internal|local|corp|dev|"
    r"app|cloud|[a-z]{2})(?::[^\s/@]*)?@(\[REDACTED:\w+\]|[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])",
    re.I,
)


# Broad command rules that a specific reason already says better.
_COVERS = {
    "runs a script fetched from the network": ("runs a downloaded script",),
    "flushes every key": ("flush",),
    "deletes a namespace": ("delete",),
    "forces the operation": ("force",),
    "deletes from the root": ("recursive or forced delete", "delete"),
    "drops a table or database": ("drop or truncate",),
    "truncates a table": ("drop or truncate",),
}

# Prose holds a risky command only if it holds one of these; most sentences hold none, and
# skipping them keeps a scan of a whole document to a few milliseconds.
_PROSE_GATE = (
    "|", "<(", "$(", "flush", "auth", "requirepass", "protected-mode", "grant-tables", "delete",
    "--", "rm ", "chmod", "drop", "truncate", "pip", "feed", "pass", "send", "download", "fetch",
    "grab", "curl", "wget", "scp", "rsync", "nc ", "socat", "secret", "token", "kube", "tar ",
    "proxy", "admin", "grant", "silence", "audit", "trigger", "require", "--all-", "xn--",
    "base64", "://", *harm.PROSE_GATE,
)  # fmt: skip


def _span_risk(span: str, start: int, allowed: Collection[str], *, prose: bool) -> Risk | None:
    if prose:
        lowered = span.lower()
        if not any(word in lowered for word in _PROSE_GATE):
            return None
    reasons: list[str] = []
    action: Action = "approve"
    upload = _credential_upload(span)
    if upload:
        foreign = foreign_hosts(span, allowed)
        if foreign:
            action = "withhold"
            reasons.append(f"{upload} ({', '.join(foreign)})")
        else:
            reasons.append(upload)
    hosts = command_hosts(span)
    lookalike = {h for h in hosts if h and (not h.isascii() or "xn--" in h)}
    lookalike |= {h.lower() for h in _MIXED_HOST.findall(span)}
    lookalike |= {h for h in hosts | named_hosts(span) if embeds_domain(h)}
    if lookalike:
        # A host name in two scripts (a Cyrillic "е" in the company's registry) or punycode:
        # no runbook needs one, and it looks like the host it imitates.
        action = "withhold"
        reasons.append(f"names a look-alike host ({', '.join(sorted(lookalike))})")
    masked = _USERINFO_HOST.findall(span)
    if masked:
        action = "withhold"
        reasons.append(
            f"hides its host behind a user name that reads as a domain ({', '.join(masked)})"
        )
    if _DECODED_EXEC.search(span):
        action = "withhold"
        reasons.append("runs a command it decodes first (hidden from the reader)")
    sent = _SEND_TO.search(span)
    if sent:
        host = (urlparse(sent.group("url")).hostname or "").lower()
        if host and not allowed_host(host, allowed):
            action = "withhold"
            reasons.append(f"sends data to another machine ({host})")
    if _PROXY.search(span):
        foreign = [h for h in foreign_hosts(span, allowed) if h != "an unnamed host"]
        if foreign:
            action = "withhold"
            reasons.append(
                f"routes traffic through a proxy nobody vouched for ({', '.join(foreign)})"
            )
    for reason, pattern in _DESTRUCTIVE:
        if not pattern.search(span):
            continue
        if pattern is _PIPE_TO_SHELL:
            foreign = foreign_hosts(span, allowed)
            if foreign:
                action = "withhold"
                reason = f"{reason} ({', '.join(foreign)})"
        reasons.append(reason)
    reasons += harm.harms(span)
    if not prose and harm.sends_keys_away(span):
        action = "withhold"
        reasons.append("reads key material and sends it over the network")
    address = None if prose else harm.public_destination(span)
    if address:
        action = "withhold"
        reasons.append(f"sends data to a bare public address ({address})")
    if prose and harm.tells_a_secret(span):
        action = "withhold"
        reasons.append("tells a code or secret to someone on a call or a message")
    points_at: tuple[str, ...] = ()
    if not prose:
        withhold, approve, points_at = trust_risks(span, allowed)
        if withhold:
            action = "withhold"
        reasons += withhold + approve
    if "skips a safety check" in reasons and action != "withhold":
        # Something fetched from a host nobody vouched for, with its check turned off: the
        # unsigned image, firmware or package that a planted step asks for.
        fetched = [
            h for h in foreign_hosts(span, allowed) if URL.search(span) and h != "an unnamed host"
        ]
        if fetched:
            action = "withhold"
            reasons.append(f"installs what it fetches from {', '.join(fetched)} unverified")
    if prose:
        match = _PROSE_PIPE.search(span)
        if match and not reasons and not NEGATED.search(span[: match.start()]):
            # Said in words: withheld when it names a host nobody vouched for; a bare "pipe it
            # to sh" is shown, with the reason, for a human to judge.
            named = command_hosts(span)
            foreign = [h for h in foreign_hosts(span, allowed) if named]
            if foreign:
                action = "withhold"
                reasons.append(f"says to run a script fetched from {', '.join(foreign)}")
            elif match.group(0).lower().startswith(("pipe", "feed", "pass", "send")):
                reasons.append("says to pipe something into a shell")
    else:
        # A code span also gets the broad command rules (any delete, kill, restart ...).
        covered = {c for r in reasons for c in _COVERS.get(r.split(" (")[0], ())}
        reasons += [r for r in command_risks(span) if r not in covered and r not in reasons]
    if not reasons:
        return None
    reasons = list(dict.fromkeys(reasons))
    return Risk(
        span=span.strip(),
        reason="; ".join(reasons),
        action=action,
        start=start,
        end=start + len(span),
        points_at=points_at,
    )


def _code_spans(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(code spans, prose spans) with their offsets: fenced lines (continuations joined),
    inline code, and the sentences of everything else."""
    code: list[tuple[int, str]] = []
    prose_mask = list(text)
    offset = 0
    in_fence = False
    pending: tuple[int, str] | None = None
    heredoc: tuple[int, str] | None = None  # (start, terminator) of a heredoc being read
    for line in text.split("\n"):
        end = offset + len(line)
        if heredoc is not None:
            # A heredoc's body is one span with the command that writes it: a config file's
            # content is what the command does.
            prose_mask[offset:end] = " " * len(line)
            if line.strip() == heredoc[1] or (FENCE.match(line) and in_fence):
                code.append((heredoc[0], text[heredoc[0] : end]))
                heredoc = None
                if FENCE.match(line):
                    in_fence = False
        elif FENCE.match(line):
            in_fence = not in_fence
            prose_mask[offset:end] = " " * len(line)
        elif in_fence:
            prose_mask[offset:end] = " " * len(line)
            stripped = line.rstrip()
            opens = _HEREDOC.search(stripped)
            if pending is None and opens:
                heredoc = (offset + len(line) - len(line.lstrip()), opens.group(1))
            else:
                if pending is not None:
                    pending = (pending[0], pending[1] + " " + stripped.strip())
                elif stripped.strip():
                    pending = (offset, stripped)
                if pending is not None and not stripped.endswith("\\"):
                    code.append(pending)
                    pending = None
        offset = end + 1
    if heredoc is not None:
        code.append((heredoc[0], text[heredoc[0] :]))
    if pending is not None:
        code.append(pending)
    masked = "".join(prose_mask)
    for match in INLINE.finditer(masked):
        code.append((match.start(2), match.group(2)))
    masked = INLINE.sub(lambda m: " " * len(m.group(0)), masked)
    prose: list[tuple[int, str]] = []
    for match in _PROSE_SENTENCE.finditer(masked):
        prose.append((match.start(), match.group(0)))
    return code, prose


def scan(text: str, *, allowed_hosts: Collection[str] = ()) -> list[Risk]:
    """Every risky command a reader of `text` can see: in inline code, fenced blocks or prose.

    `allowed_hosts` are hosts a script may be fetched from, or credentials sent to (with their
    subdomains); loopback and in-cluster service names always are. Risks come in text order.
    """
    if not text:
        return []
    return list(_scan(text, frozenset(h.lower() for h in allowed_hosts)))


# One ask reads the same steps several times (ranking them, composing, checking the answer), and
# the questions of one incident share their runbooks' steps: the verdicts of a text are kept.
@lru_cache(maxsize=8192)
def _scan(text: str, allowed_hosts: frozenset[str]) -> tuple[Risk, ...]:
    code, prose = _code_spans(text)
    out = [r for start, span in code if (r := _span_risk(span, start, allowed_hosts, prose=False))]
    out += [r for start, span in prose if (r := _span_risk(span, start, allowed_hosts, prose=True))]
    return tuple(sorted(out, key=lambda r: r.start))


def withheld(text: str, *, allowed_hosts: Collection[str] = ()) -> list[Risk]:
    """The risks of `text` that must not be shown."""
    return [r for r in scan(text, allowed_hosts=allowed_hosts) if r.action == "withhold"]
