"""What a command does to the machine's trust, and prose that asks for a secret.

Rules about the host a client talks to, who can reach it, who can log in, what signs its tokens,
whether anything is recorded. No runbook needs a copilot to show a signing key set to a value the
document prints, a public key planted in `authorized_keys`, a database port opened to the whole
internet or auditing turned off (`risk.scan` applies them to every code span).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from copilot.guardrails.hosts import INLINE, allowed_host, internal, named_hosts, unfenced

# Words that turn what follows into a warning ("never paste your token anywhere").
NEGATED = re.compile(r"\b(?:never|not|don't|do not|avoid|no longer|instead of)\b", re.I)

# A client or a service pointed at a host: a git remote, a package index or registry, an apt or
# yum source, an address in the environment of a service, a config file written by a heredoc.
_ADDRESS_VAR = (
    r"(?-i:[A-Z][A-Z0-9_]*(?:URL|URI|ADDR|ADDRESS|HOST|HOSTS|ENDPOINT|ENDPOINTS|REPO|REPOSITORY|"
    r"REGISTRY|INDEX|MIRROR|SERVER|SERVERS|SENTINEL|SENTINELS|BROKERS|UPSTREAM|PROXY|DNS)"
    r"(?:_[A-Z0-9_]*)?)"
)
_POINTS_AT = re.compile(
    r"\bgit\s+(?:-C\s+\S+\s+)?remote\s+(?:set-url|add)\b|"
    r"\b(?:pip3?|uv\s+pip|poetry|pipenv)\b[^\n]*?(?:index-url|--index\b|\bsource\s+add\b)|"
    r"\b(?:npm|yarn|pnpm)\b[^\n]*?\bregistry\b|\bgem\s+sources\s+(?:-a|--add)\b|"
    r"\bhelm\s+repo\s+add\b|\badd-apt-repository\b|\bdeb\s+(?:\[[^\]]*\]\s+)?https?://|"
    r"\bbaseurl\s*=|\bgo\s+env\s+-w\s+GOPROXY\b|"
    # Data copied to an object store at an endpoint of its own: `s3 sync ... --endpoint-url`.
    r"\b(?:sync|cp|copy|mirror|backup|restore)\b[^\n]*?--endpoint(?:-url)?[= ]|"
    # A running service's environment (an operator's own shell `export` is not a service's).
    rf"\b(?:set\s+env|set-env|setenv|config:set|set-environment)\b[^\n]*?\b{_ADDRESS_VAR}"
    r"\s*=|"
    # A heredoc that writes a resolver, proxy, repository or client config.
    r"<<-?\s*['\"]?\w+['\"]?.*?(?:^|\s)(?:DNS|FallbackDNS|nameserver|server|servers|proxy|"
    r"https?_proxy|url|baseurl|mirrorlist|registry|index-url|extra-index-url|endpoint|host|"
    rf"mirror|{_ADDRESS_VAR})\s*[=:\s]\s*\S",
    re.I | re.S,
)
# A signing key (what mints sessions or tokens) set to a literal value: whoever reads the
# document can sign as the service.
_FIXED_KEY = re.compile(
    r"\b(?:vault\s+(?:kv\s+)?(?:put|write|patch)|create\s+secret|secrets?\s+(?:set|put|create|"
    r"update)|set\s+env|config:set|put-secret-value|--from-literal)\b[^\n]*?"
    r"\b[\w.-]*(?:sign(?:ing)?[_-]?(?:key|secret)|jwt[_-]?(?:key|secret)|private[_-]?key|"
    r"hmac[_-]?(?:key|secret)|master[_-]?key|encryption[_-]?key|secret[_-]?key|token[_-]?secret)"
    r"[\w.-]*\s*=\s*(?![\"']?(?:<|\$|@|-(?:\s|$)|\{|\.\.\.))[\"']?[\w.+/:-]{6,}",
    re.I,
)
# A public key written into `authorized_keys` as a literal, or fetched from a host.
_PLANTED_KEY = re.compile(
    r"(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+AAAA"
    r"[0-9A-Za-z+/]{16,}[^\n]*?authorized_keys|"
    r"\b(?:curl|wget)\b[^\n]*?(?:>>\s*|\btee\s+(?:-a|--append)\s+)\S*authorized_keys",
    re.I,
)
_WORLD = re.compile(r"(?<![\d.])0\.0\.0\.0/0\b|(?<![\w:])::/0(?![\w/])")
_FIREWALL = re.compile(
    r"\b(?:firewall|firewall-rules|security-group\w*|authorize-security-group-ingress|ingress|"
    r"source-ranges?|cidr\w*|ufw|iptables|nft|nsg|allow\w*|inbound)\b",
    re.I,
)
_PORTS = re.compile(
    r"\b(?:tcp|udp)[:/=](\d{1,5})|--(?:port|ports|destination-port|dport|from-port|to-port|"
    r"port-range|destination-port-ranges?)[= ](\d{1,5})|\bport\s+(\d{1,5})|FromPort=(\d{1,5})",
    re.I,
)
_WEB_PORTS = frozenset({80, 443, 8080, 8443})
_AUDIT_OFF = re.compile(
    r"\bauditctl\b[^\n]*?(?:\s-e\s*0\b|\s-D\b(?![^\n]*(?:\s-R\b|augenrules)))|"
    r"\b(?:systemctl|service)\s+(?:stop|disable|mask)\s+(?:--now\s+)?auditd\b|"
    r"\bservice\s+auditd\s+stop\b",
    re.I,
)


def _opens_to_world(span: str) -> str | None:
    """`opens ... to the whole internet` when a firewall rule admits 0.0.0.0/0 on anything but
    the web ports (a database, SSH, every port)."""
    if not (_WORLD.search(span) and _FIREWALL.search(span)):
        return None
    ports = {int(p) for groups in _PORTS.findall(span) for p in groups if p}
    if ports and ports <= _WEB_PORTS:
        return None
    shown = ", ".join(str(p) for p in sorted(ports)) if ports else "every port"
    return f"opens {shown} to the whole internet"


def _points_at(span: str, allowed: Collection[str]) -> tuple[str, ...]:
    """Hosts outside the company's own networks that `span` points a client or service at."""
    if not _POINTS_AT.search(span):
        return ()
    return tuple(
        sorted(h for h in named_hosts(span) if not internal(h) and not allowed_host(h, allowed))
    )


def trust_risks(
    span: str, allowed: Collection[str]
) -> tuple[list[str], list[str], tuple[str, ...]]:
    """(withheld reasons, approval reasons, hosts pointed at) of the rules above."""
    withhold: list[str] = []
    approve: list[str] = []
    opened = _opens_to_world(span)
    if opened:
        withhold.append(opened)
    if _FIXED_KEY.search(span):
        withhold.append("sets a signing key to a value written in the document")
    if _PLANTED_KEY.search(span):
        withhold.append("plants an SSH key for a standing login")
    if _AUDIT_OFF.search(span):
        withhold.append("turns auditing off")
    hosts = _points_at(span, allowed)
    if hosts:
        approve.append(f"points a client at another host ({', '.join(hosts)})")
    return withhold, approve, hosts


# Words that hand a secret over: "paste the API key into the form", "the form asks for the
# signing secret". With a link to a host the document does not otherwise name, that is a
# harvest (`injection.judge`); "never paste your token anywhere" is a warning.
_HANDOVER = re.compile(
    r"\b(?:paste|enter|submit|type|provide|share|send|give|upload|e-?mail|post|fill\s+in)\b"
    r"[^.\n]{0,80}?\b(?:secrets?|api[ -]?keys?|private keys?|signing keys?|tokens?|passwords?|"
    r"credentials?|passphrases?)\b|"
    r"\b(?:asks?|requires?|needs?|requests?)\s+(?:for\s+)?[^.\n]{0,40}?\b(?:secrets?|"
    r"api[ -]?keys?|private keys?|signing keys?|passwords?|credentials?)\b",
    re.I,
)


def asks_for_secrets(text: str) -> bool:
    """Whether the prose of `text` asks the reader to hand a secret, key, token or password to
    someone (code is not asking)."""
    text = INLINE.sub(" ", "\n".join(unfenced(text)))
    for match in _HANDOVER.finditer(text):
        sentence = re.split(r"[.!?]\s", text[max(0, match.start() - 120) : match.start()])[-1]
        if not NEGATED.search(sentence):
            return True
    return False
