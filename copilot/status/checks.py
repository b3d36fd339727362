"""The checks every draft goes through, whoever wrote it (template, model, or a person editing).

- leak (public drafts): hostnames, IPs, emails, links to hosts that are not public, people on the
  incident, internal service and system names, ticket ids and channels, vendors, stack jargon,
  commands, root-cause speculation and blame. The sentence that carries one is removed; a service
  label with a public name is replaced by it.
- jargon (executive drafts): commands, error codes, hostnames and IPs are removed; service labels
  are replaced by their public names. System names stay: "fail over orders-db" is a decision.
- secret (every draft): credentials and personal data, as `copilot.guardrails.redact` finds them;
  redacted in place for responders, removed from the others.
- fact (every draft): a number, time, date, amount, percentage or duration that the incident
  record does not hold is removed with its sentence (see `copilot.status.facts`).

Removal works sentence by sentence, so what is left still reads as sentences; each removal is
listed as a `Finding`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from copilot.guardrails.injection import reasons_for
from copilot.guardrails.redact import redact
from copilot.status.config import Catalog, looks_internal
from copilot.status.facts import Allowed, unsupported
from copilot.status.schemas import Check, Finding

# Kinds from `redact` whose value must never be echoed, even in the guardrails list.
_SECRET_KINDS = {
    "private_key",
    "url_password",
    "jwt",
    "bearer_token",
    "aws_access_key",
    "api_token",
    "secret_assignment",
    "card_number",
}
_URL = re.compile(r"\b(?:https?|ftp)://[^\s)<>\]\"'`]+", re.IGNORECASE)
_CODE = re.compile(r"`[^`\n]+`")
_FQDN = re.compile(
    r"(?<![\w@.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9](?![\w-])"
    r"(?::\d{2,5})?"
)
# Pod, node and host names: lowercase words joined by hyphens, one part carrying a digit.
_HOSTLIKE = re.compile(
    r"(?<![\w.-])[a-z][a-z0-9]*(?:-[a-z0-9]+)*-[a-z]*\d[a-z0-9]*(?:-[a-z0-9]+)*(?![\w-])"
)
_TICKET = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]{1,9}-\d+(?![\w-])|(?<![\w&])#\d+\b")
_CHANNEL = re.compile(r"(?<![\w&])#[a-z][a-z0-9_-]*[a-z0-9]")
_HANDLE = re.compile(r"(?<![\w.])@[A-Za-z][\w.-]*[A-Za-z0-9]")
# Error codes, metric and alert names: ORDER_PERSIST_FAILED, cl_waiting, CheckoutErrorRateHigh.
_CODE_NAME = re.compile(
    r"(?<![\w-])(?:\w*[A-Za-z0-9]_\w*[A-Za-z0-9]|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+){2,})(?![\w-])"
)
_SPECULATION = re.compile(
    r"\b(?:root[- ]cause|caused by|causing|because|due to|as a result of|triggered by|"
    r"we (?:believe|think|suspect|assume)|suspect(?:ed)?|hypothes\w+|likely|probably|possibly|"
    r"appears? to (?:be|have)|seems? to (?:be|have)|may have been|might have been|could have been|"
    r"is thought to|we are not sure)\b",
    re.IGNORECASE,
)
_BLAME = re.compile(
    r"\b(?:fault|blame\w*|human error|mistake\w*|negligen\w*|careless\w*|mis-?configur\w*|botched|"
    r"screw(?:ed)? up|(?:engineer|developer|operator|contractor|intern|admin|vendor|supplier|"
    r"provider|partner|team)s?\b[^.]{0,40}\b(?:broke|forgot|failed to|pushed|deployed|ran|"
    r"deleted|misconfigured|caused))\b",
    re.IGNORECASE,
)
_CAUSE_DETAIL = re.compile(
    r"\b(?:deploy\w*|roll(?:ed|ing)?[- ]?back|rollback|revert\w*|hotfix\w*|config(?:uration)? "
    r"change|release[ds]?|failover|failed over|restart\w*|database|server|cluster|cache|queue|"
    r"latency|timeouts?|5\d\d|4\d\d)\b",
    re.IGNORECASE,
)
# Money and business figures are for leadership, never for the status page.
_BUSINESS = re.compile(
    r"\b(?:revenue|profit|loss(?:es)?|costs?|GMV|conversion|SLAs?|penalt\w+|service credits?)\b"
    r"|[£$€]\s?\d[\d,.]*(?:\s?(?:k|m|bn|million|thousand|billion)\b)?"
    r"|\b\d[\d,.]*\s*(?:GBP|EUR|USD)\b",
    re.IGNORECASE,
)
# Any sentence end: a sentence may start with a lowercase service label ("checkout-api is ...").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_PREFIX = re.compile(r"^(\s*(?:#{1,6}\s+|[-*+]\s+|>\s+)?)")
# Name parts that are also everyday words: matched only as part of the full name.
_COMMON_WORDS = frozenset(
    """a an and are as at be been but by can do for from has have he her his i if in is it its me
    my no not of on or our she so that the their them they this to up us was we were what when
    which who will with you your all any new now one out two see use way day get may can
    will may mark bill grace hope joy faith rose june april august summer dawn frank pat art rich
    guy jack ray lane page chase hunter brook dale glen ivy jade ruby pearl iris lily holly amber
    penny sandy sunny wade don jean gene carol max miles long young white black brown green gray
    grey king hall wood stone hill cook baker smith walker price bell ward fox case chance noble
    strong west north south east cash ops team oncall on-call sre admin root bot system support
    service services customer customers checkout payments orders login search cart help status
    update fix issue incident""".split()
)


@dataclass(frozen=True)
class Hit:
    finding: Finding
    start: int
    end: int


Detector = Callable[[str], list[Hit]]


def _hit(check: Check, kind: str, m: re.Match[str]) -> Hit:
    return Hit(Finding(check=check, kind=kind, text=m.group(0).strip()), m.start(), m.end())


def _term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(t) for t in cleaned)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-]|\.[\w])", re.IGNORECASE)


def _find_terms(pattern: re.Pattern[str] | None, text: str, check: Check, kind: str) -> list[Hit]:
    if pattern is None:
        return []
    return [_hit(check, kind, m) for m in pattern.finditer(text)]


def name_parts(people: Iterable[str]) -> list[str]:
    """Full names, and the parts of them that are not everyday words."""
    out: set[str] = set()
    for person in people:
        person = person.strip()
        if not person or person.lower() in _COMMON_WORDS:
            continue  # a username that is also a word ("will") cannot be told apart from it
        out.add(person)
        for part in re.split(r"[\s._@-]+", person):
            if len(part) >= 3 and part.lower() not in _COMMON_WORDS and not part.isdigit():
                out.add(part)
    return sorted(out)


@dataclass
class Policy:
    """What one audience's checks remove, built from the catalog and the incident record."""

    audience: str
    catalog: Catalog
    people: Sequence[str] = ()
    services: Sequence[str] = ()
    allowed: Allowed | None = None
    # The model's output also loses sentences that read as instructions to an AI.
    screen_instructions: bool = False
    _patterns: dict[str, re.Pattern[str] | None] = field(init=False, default_factory=dict)
    _renames: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        cat = self.catalog
        labels = {s.lower() for s in self.services} | set(cat.components)
        renamed: dict[str, str] = {}
        hidden: set[str] = set()
        for label in labels:
            if not looks_internal(label):
                continue  # a plain word (checkout, search) is not a leak
            public = cat.component_of(label)
            if public:
                renamed[label] = public
            else:
                hidden.add(label)
        self._renames = renamed
        self._patterns = {
            "renamed": _term_pattern(renamed),
            "hidden": _term_pattern(hidden | set(cat.internal_names)),
            "vendor": _term_pattern(cat.vendors),
            "technology": _term_pattern(cat.technologies),
            "person": _term_pattern(name_parts(self.people)),
        }

    @property
    def checks(self) -> list[str]:
        names = {"public": ["leak"], "executive": ["jargon"], "internal": []}[self.audience]
        screened = self.screen_instructions or self.audience == "public"
        return [*names, "secret", "fact"] + (["instructions"] if screened else [])

    def rename(self, text: str) -> str:
        """`text` with service labels that have a public name replaced by it, nothing else."""
        pattern = self._patterns["renamed"]
        if pattern is None:
            return text
        return pattern.sub(lambda m: self._renames[m.group(0).lower()], text)

    # -- detectors ----------------------------------------------------------------------------

    def _secrets(self, text: str) -> list[Hit]:
        found = redact(text)
        if not found.total:
            return []
        hits = []
        for kind in found.counts:
            check: Check = "secret" if kind in _SECRET_KINDS else "leak"
            if self.audience == "internal":
                check = "secret"
            hits.append(Hit(Finding(check=check, kind=kind, text=f"[REDACTED:{kind}]"), 0, 0))
        return hits

    def _links(self, text: str, check: Check) -> list[Hit]:
        hosts = set(self.catalog.public_hosts)
        out = []
        for m in _URL.finditer(text):
            url = m.group(0).rstrip(".,;:!?")
            host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split(":")[0]
            if host not in hosts:
                out.append(_hit(check, "link", m))
        return out

    def _hosts(self, text: str, check: Check) -> list[Hit]:
        hosts = set(self.catalog.public_hosts)
        stripped = _URL.sub(lambda m: " " * len(m.group(0)), text)
        out = [
            _hit(check, "hostname", m)
            for m in _FQDN.finditer(stripped)
            if m.group(0).lower().split(":")[0] not in hosts
        ]
        out += [_hit(check, "hostname", m) for m in _HOSTLIKE.finditer(stripped)]
        return out

    def _renamed(self, text: str, check: Check) -> list[Hit]:
        pattern = self._patterns["renamed"]
        if pattern is None:
            return []
        hits = []
        for m in pattern.finditer(text):
            public = self._renames[m.group(0).lower()]
            finding = Finding(
                check=check,
                kind="internal_service",
                text=m.group(0),
                action="replaced",
                replacement=public,
            )
            hits.append(Hit(finding, m.start(), m.end()))
        return hits

    def leak_hits(self, text: str) -> list[Hit]:
        hits = self._secrets(text)
        hits += self._links(text, "leak")
        hits += [_hit("leak", "code", m) for m in _CODE.finditer(text)]
        hits += [_hit("leak", "code", m) for m in _CODE_NAME.finditer(text)]
        hits += self._hosts(text, "leak")
        hits += [_hit("leak", "ticket", m) for m in _TICKET.finditer(text)]
        hits += [_hit("leak", "channel", m) for m in _CHANNEL.finditer(text)]
        hits += [_hit("leak", "person", m) for m in _HANDLE.finditer(text)]
        hits += _find_terms(self._patterns["person"], text, "leak", "person")
        hits += _find_terms(self._patterns["hidden"], text, "leak", "internal_name")
        hits += _find_terms(self._patterns["vendor"], text, "leak", "vendor")
        hits += _find_terms(self._patterns["technology"], text, "leak", "technology")
        hits += [_hit("leak", "speculation", m) for m in _SPECULATION.finditer(text)]
        hits += [_hit("leak", "blame", m) for m in _BLAME.finditer(text)]
        hits += [_hit("leak", "cause_detail", m) for m in _CAUSE_DETAIL.finditer(text)]
        hits += [_hit("leak", "business", m) for m in _BUSINESS.finditer(text)]
        hits += self._renamed(text, "leak")
        return hits

    def jargon_hits(self, text: str) -> list[Hit]:
        hits = self._secrets(text)
        hits += [_hit("jargon", "code", m) for m in _CODE.finditer(text)]
        hits += [_hit("jargon", "code", m) for m in _CODE_NAME.finditer(text)]
        hits += self._hosts(text, "jargon")
        hits += self._renamed(text, "jargon")
        return hits

    def hits(self, text: str) -> list[Hit]:
        if self.audience == "public":
            hits = self.leak_hits(text)
        elif self.audience == "executive":
            hits = self.jargon_hits(text)
        else:
            hits = self._secrets(text)
        if self.screen_instructions or self.audience == "public":
            for reason in reasons_for(text):
                hits.append(Hit(Finding(check="instructions", kind=reason, text=text[:160]), 0, 0))
        if self.allowed is not None:
            for fig in unsupported(_redacted_for_facts(text), self.allowed):
                finding = Finding(check="fact", kind=fig.kind, text=fig.text)
                hits.append(Hit(finding, fig.start, fig.end))
        return hits

    # -- applying -----------------------------------------------------------------------------

    def sentence(self, text: str) -> tuple[str | None, list[Finding]]:
        """The sentence as it may stand (None: removed), and what was taken out of it."""
        hits = self.hits(text)
        if not hits:
            return text, []
        secrets = [h for h in hits if h.finding.kind in redact_kinds()]
        if self.audience == "internal" and secrets and len(secrets) == len(hits):
            redacted = redact(text).text
            return redacted, [h.finding.model_copy(update={"action": "redacted"}) for h in secrets]
        removing = [h for h in hits if h.finding.action == "removed"]
        if removing:
            return None, [h.finding for h in removing]
        # Only replacements left: apply them right to left, outermost first.
        out = text
        findings = []
        taken: list[tuple[int, int]] = []
        for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
            if any(h.start < e and s < h.end for s, e in taken):
                continue
            taken.append((h.start, h.end))
            findings.append(h.finding)
        for (start, end), finding in sorted(
            zip(taken, findings, strict=True), key=lambda p: p[0][0], reverse=True
        ):
            out = out[:start] + (finding.replacement or "") + out[end:]
        return out, findings

    def screen(self, text: str) -> tuple[str, list[Finding]]:
        """Apply the checks to a markdown text, sentence by sentence, keeping its lines."""
        lines_out: list[str] = []
        findings: list[Finding] = []
        for line in text.split("\n"):
            if not line.strip():
                lines_out.append("")
                continue
            prefix = _PREFIX.match(line)
            lead = prefix.group(1) if prefix else ""
            content = line[len(lead) :]
            kept: list[str] = []
            for part in split_sentences(content):
                clean, found = self.sentence(part)
                findings.extend(found)
                if clean is not None and clean.strip():
                    kept.append(clean)
            if kept:
                lines_out.append(lead + " ".join(kept))
        return tidy("\n".join(lines_out)), dedupe(findings)


def redact_kinds() -> set[str]:
    return {
        *_SECRET_KINDS,
        "email",
        "ipv4",
        "ipv6",
        "phone",
    }


def _redacted_for_facts(text: str) -> str:
    # Secrets are someone else's finding; their digits are not figures.
    return re.sub(r"\[REDACTED:[a-z0-9_]+\]", " ", redact(text).text)


def split_sentences(text: str) -> list[str]:
    return [p for p in _SENTENCE_END.split(text) if p.strip()]


def tidy(text: str) -> str:
    """Collapse the blank lines removals leave behind; drop a label left with nothing after it."""
    lines = [ln.rstrip() for ln in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in findings:
        key = (f.check, f.text.lower(), f.action)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
