"""Which hosts a text names, links to or points at, and which of them the company vouches for.

The guardrails read host names in three places: a command that fetches or uploads (risk.py), a
command that points a client at a host (trust.py) and a document that links a reader to a form
(injection.py). What counts as a host, a registered domain, an internal name or a link lives
here, below all three.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlparse

from copilot.fences import FENCE

# Inline code (`...`, ``...``).
INLINE = re.compile(r"(`+)(.+?)\1", re.S)
URL = re.compile(r"(?:https?|ftp)://[^\s)<>\]\"'`|]+", re.I)
_SCP_HOST = re.compile(r"(?:^|\s)(?:[\w.-]+@)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\S")
_BARE_HOST = re.compile(
    r"\b(?:curl|wget|http|https|nc|ncat|netcat|socat)\b(?:\s+-{1,2}[\w-]+(?:[= ](?!https?:)\S+)?)*"
    r"\s+[\"']?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?=[:/\s\"']|$)",
    re.I,
)

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def command_hosts(span: str) -> set[str]:
    """Hosts a command talks to: URLs, scp targets and the bare host of curl, nc and the like."""
    # A malformed URL counts as a host ("") so that `foreign_hosts` reports it.
    hosts = {host_of(url) for url in URL.findall(span)}
    hosts |= {h.lower() for h in _SCP_HOST.findall(span)}
    hosts |= {h.lower() for h in _BARE_HOST.findall(span) if not h.lower().endswith(".sh")}
    return hosts


def allowed_host(host: str, allowed: Collection[str]) -> bool:
    host = host.lower().rstrip(".")
    if host in _LOOPBACK or host.endswith(".svc") or ".svc.cluster.local" in host:
        return True
    return any(host == a.lower() or host.endswith("." + a.lower().lstrip(".")) for a in allowed)


def foreign_hosts(span: str, allowed: Collection[str]) -> list[str]:
    """Hosts of `span` not vouched for; a span that names no host at all counts as foreign."""
    hosts = command_hosts(span)
    if not hosts:
        return ["an unnamed host"]
    return sorted(h or "a malformed URL" for h in hosts if not h or not allowed_host(h, allowed))


_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
# A host name: dotted labels ending in letters. File names end in an extension instead.
_NAME = re.compile(
    rf"(?<![\w./$-])(?:{_IPV4}|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*"
    rf"[A-Za-z])(?![\w-]|\.[A-Za-z0-9])"
)
_FILE_SUFFIXES = frozenset(
    "md txt yaml yml json toml conf cfg ini log sh bash py rb go js ts sql git tar gz tgz zip pem "
    "key crt csr der service socket timer rules list repo env lock html xml csv out tmp bak old "
    "rpm deb whl jar war so dll exe d local".split()
)
_SECOND_LEVEL = frozenset("co com org net ac gov edu ne or".split())


def domain_of(host: str) -> str:
    """The part of a host name its owner registered (`git.acme.example` -> `acme.example`)."""
    host = host.lower().rstrip(".")
    if re.fullmatch(_IPV4, host):
        return host
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def internal(host: str) -> bool:
    """Loopback, private addresses and cluster-internal names: inside the company by design."""
    host = host.lower()
    if re.fullmatch(_IPV4, host):
        a, b = (int(x) for x in host.split(".")[:2])
        return a in (10, 127) or (a, b) == (192, 168) or (a == 172 and 16 <= b <= 31)
    return allowed_host(host, ()) or host.endswith((".internal", ".local", ".lan", ".localdomain"))


def named_hosts(text: str) -> set[str]:
    """Host names and IPv4 addresses a text names anywhere (links, commands, prose)."""
    out = {h.lower() for h in command_hosts(text) if h}
    for name in _NAME.findall(text):
        if "." in name and name.rsplit(".", 1)[-1].lower() not in _FILE_SUFFIXES:
            out.add(name.lower())
    return out


def named_domains(text: str) -> set[str]:
    """The registered domains of every host `text` names: what a document vouches for."""
    return {domain_of(h) for h in named_hosts(text)}


# A host that spells out a whole domain and then goes on (`pki.acme.example.invalid`,
# `login.acme.com.attacker.net`): it reads as the company's and is someone else's. A country's
# second level (`acme.com.au`) and the reserved `example.com` are what they look like.
_GENERIC_TLDS = frozenset({"com", "net", "org", "io", "gov", "edu", "example"})
_RESERVED = {("example", "com"), ("example", "net"), ("example", "org")}


def embeds_domain(host: str) -> bool:
    labels = host.lower().rstrip(".").split(".")
    for i in range(1, len(labels) - 1):
        if labels[i] not in _GENERIC_TLDS:
            continue
        last = i == len(labels) - 2
        if last and (len(labels[-1]) == 2 or (labels[i], labels[-1]) in _RESERVED):
            continue
        return True
    return False


def host_of(url: str) -> str:
    """The lower-cased host of a URL; empty when there is none or the URL is malformed."""
    try:
        return (urlparse(url).hostname or "").lower()
    except ValueError:  # "http://[" and other broken URLs, from any document
        return ""


_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


def linked_hosts(text: str) -> set[str]:
    """Hosts of the links in the prose of `text` (a fenced block's URLs are commands' own)."""
    prose = "\n".join(line for line in unfenced(text))
    return {h for h in map(host_of, URL.findall(prose)) if h and _HOST_NAME.fullmatch(h)}


def unfenced(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def links_to(text: str, hosts: Collection[str]) -> list[str]:
    """The links of `text` to one of `hosts`."""
    return [url for url in URL.findall(text) if host_of(url) in hosts]
