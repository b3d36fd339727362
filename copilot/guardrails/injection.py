"""Find text in retrieved passages that is addressed to an AI instead of a responder.

Such text is data, never instructions: the paragraph or list item that carries it is kept out of
composition, and the rest of the passage (the legitimate steps around it) stays usable.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
import re
import unicodedata
from dataclasses import dataclass, field

from copilot.fences import FENCE
from copilot.guardrails import harm, risk, semantic, trust
from copilot.guardrails.carriers import LINK_DEFINITION, side_channels
from copilot.guardrails.hosts import domain_of, linked_hosts, links_to, named_domains
from copilot.guardrails.language import (
    FOREIGN,
    LANGUAGE_MIN_WORDS,
    english_document,
    in_other_language,
    other_language,
    prose,
)
from copilot.guardrails.references import (
    definitions,
    expand,
    link_references,
    resolve_references,
    uses,
)
from copilot.listitems import LIST_MARKER, MARGIN_LIST_ITEM

log = logging.getLogger(__name__)
# The reason given for a unit only the semantic detector flagged.
SEMANTIC = "semantic"

_AI = r"(?:ai|a\.i\.|llms?|assistants?|copilots?|chat ?bots?|bots?|language models?|models?|agents?|gpt)"
# At the start of a line, "agent:" or "model:" is usually a log field, not an address.
_AI_NAMED = r"(?:ai|a\.i\.|llms?|assistants?|copilots?|chat ?bots?|language models?|gpt)"
_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "override_instructions",
        re.compile(
            r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}?\b(?:all|any|the|previous|"
            r"prior|above|earlier|your|other|these|those|existing)\b[^.\n]{0,30}?\b(?:instructions?|rules|"
            r"guidelines|prompts?|directions|directives|runbook|policies|guardrails|safety)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "addressed_to_ai",
        re.compile(
            rf"\b(?:note|message|instructions?|attention|reminder|directive|important|p\.?s\.?)\s*"
            rf"(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:automated\s+|ai\s+)?{_AI}\b",
            re.IGNORECASE,
        ),
    ),
    (
        "addressed_to_ai",
        re.compile(
            rf"(?:^|\n)(?:\s*>)*\s*(?:[-*+]|\d+[.)])?\s*(?:\*\*|__)?(?:dear\s+|hey\s+)?(?:ai\s+)?"
            rf"{_AI_NAMED}\s*(?:\*\*|__)?\s*[:,]|(?:^|\n)(?:\s*>)*\s*(?:\*\*|__){_AI_NAMED}\s*:",
            re.IGNORECASE,
        ),
    ),
    (
        "addressed_to_ai",
        re.compile(
            rf"\bif you are an? {_AI}\b|\bas an? {_AI}\b,? you\b|\b(?:ai|{_AI})[- _]instructions?\b|"
            rf"\bwhen (?:an? |the |any )?{_AI} (?:summari[sz]es|reads|answers|processes|sees|is asked)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "addressed_to_ai",
        re.compile(
            rf"\b(?:to|for)\s+(?:the|any|an?|every)\s+(?:automated\s+)?{_AI_NAMED}\s+(?:that\s+|who\s+)?"
            rf"(?:is\s+)?(?:reading|reads|processing|processes|parsing|summari[sz]ing|ingesting|"
            rf"answering)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "addressed_to_ai",
        re.compile(
            r"\b(?:any|every|all|automated|ai|llm)\s+tools?\s+(?:that\s+|which\s+)?(?:is\s+|are\s+)?"
            r"(?:answer\w*|summari[sz]\w*|read\w*|process\w*|pars\w*|ingest\w*|quot\w*)\b|"
            r"\b(?:KI|IA)[- ](?:Assistent\w*|asistente\w*|assistant\w*|assistente\w*|Modell\w*|"
            r"modelo\w*|mod[eè]le\w*|Agent\w*|agente\w*)\b|"
            r"\b(?:für|an)\s+(?:alle\s+|die\s+)?KI\b|\b(?:para|pour|per)\s+(?:la\s+|l'|el\s+)?IA\b",
            re.IGNORECASE,
        ),
    ),
    (
        # Text that declares the other steps void and puts its own in their place.
        "supersede_steps",
        re.compile(
            r"\b(?:steps?|instructions?|sections?|procedures?|commands?)\b[^.\n]{0,40}?\b(?:above|below|"
            r"earlier|previous|before)\b[^.\n]{0,40}?\b(?:are|is)\s+(?:now\s+)?(?:deprecated|obsolete|"
            r"outdated|superseded|void|no longer (?:valid|supported|used))\b|"
            r"\b(?:supersedes|replaces|overrides)\s+(?:all\s+)?(?:the\s+)?(?:steps|instructions|"
            r"procedure|commands)\s+(?:above|below|in this (?:runbook|page|document))\b",
            re.IGNORECASE,
        ),
    ),
    (
        # Link text is a few words; a sentence that carries a URL of its own, in the part of a
        # link a reader skims, is hiding something.
        "hidden_in_link_text",
        re.compile(
            r"\[(?=[^\]]{0,400}https?://)(?:[^\]\s]+\s+){6,}[^\]]*\]\s*[\[(]",
            re.IGNORECASE,
        ),
    ),
    (
        # The same override in the languages a runbook is most often written in besides English.
        "override_instructions",
        re.compile(
            r"\b(?:ignorier\w*|vergiss|missachte)\b[^.\n]{0,40}?\b(?:anweisungen|regeln|"
            r"vorgaben|instruktionen)\b|"
            r"\b(?:ignora|ignore|ignorez|olvida|oublie[zr]?|esquece|dimentica|negeer|vergeet)\b"
            r"[^.\n]{0,40}?\b(?:instrucciones|instructions|instruções|instrucoes|istruzioni|"
            r"instructies|reglas|règles|regras|regole|regels|consignes)\b|"
            r"\b(?:du bist (?:jetzt|nun)|ahora eres|vous êtes maintenant|tu es maintenant|"
            r"agora você é|ora sei|je bent nu)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "role_play",
        re.compile(
            r"\byou are now (?:in\s+)?(?:an?\s+|the\s+)?(?:[\w-]+\s+)?(?:mode|assistant|ai|model|bot|dan|"
            r"unrestricted|jailbroken|free)\b|\bfrom now on,? you (?:are|will|must|should)\b|"
            r"\bpretend (?:to be|you are)\b|\bact as (?:an? |the )?(?:unrestricted|system|root|admin|"
            r"developer|dan|ai|assistant)\b|"
            r"\brole-?play\b|\bjailbreak|\bdeveloper mode\b|\bgod mode\b|\bDAN mode\b|"
            r"\bnew persona\b",
            re.IGNORECASE,
        ),
    ),
    (
        "fake_system_prompt",
        re.compile(
            r"<\|im_start\|>|<\|im_end\|>|<\|system\|>|<\|assistant\|>|\[/?INST\]|<<SYS>>|"
            r"</?system>(?![\w-])|(?:^|\n)\s*#{0,4}\s*(?:system|assistant)\s*(?:prompt)?\s*:|"
            r"(?:^|\n)\s*#{1,6}\s*(?:new|updated|override|system)\s+(?:instructions?|prompt|rules)\b|"
            r"\bsystem prompt\b|\bsystem message\b",
            re.IGNORECASE,
        ),
    ),
    (
        "exfiltration",
        re.compile(
            r"\b(?:reveal|print|leak|exfiltrate|dump|disclose|expose)\b[^.\n]{0,40}?\b(?:system prompt|"
            r"your instructions|hidden instructions|secrets?|api keys?|passwords?|credentials|tokens?|"
            r"environment variables|env vars|conversation|chat history)\b|"
            r"\b(?:what(?:'s| is| are)|give me|tell me|send me)\b[^?.\n]{0,40}?\b(?:passwords?|"
            r"secrets?|api keys?|signing keys?|tokens?|credentials|private keys?)\b|"
            r"\b(?:send|post|upload|include|append|output|show|repeat|share)\b[^.\n]{0,20}?\b(?:your|the|"
            r"all|any)\s+(?:system prompt|instructions you|hidden instructions|conversation|chat "
            r"history|api keys|credentials)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "steer_user",
        re.compile(
            r"\b(?:tell|instruct|advise|convince|urge|remind)\s+(?:the\s+)?(?:user|responder|human|"
            r"operator|on-?call(?: engineer)?|reader)s?\s+(?:to|that)\b|"
            r"\bdo not (?:tell|inform|mention|reveal|show)[^.\n]{0,20}?\b(?:user|responder|human|anyone|operator|"
            r"engineer|reader|them)\b|"
            r"\b(?:respond|reply|answer)\s+(?:only|exactly)\s+with\b|"
            r"\b(?:include|put|paste|insert|append|mention|write|say)\b[^.\n]{0,60}?\b(?:in|into|within)\s+"
            r"(?:your\s+(?:answer|response|reply|output|summary)|the\s+(?:answer|reply|output))\b|"
            r"\b(?:reply|respond|say|write|print|output)\s+[\"'`]?(?-i:[A-Z0-9][\w-]{3,})[\"'`]?\s+(?:when|"
            r"once|after|if)\b|"
            r"\b(?:start|begin|end|prefix)\s+your\s+(?:answer|response|reply)\b|"
            # How the page is to be presented, and what to leave out of it: words for whoever
            # turns the page into a summary, not for the engineer reading it.
            r"\b(?:do not|don't|never)\s+(?:mention|reference|cite|quote|reveal|show|include|repeat)\s+"
            r"(?:this|these)\s+(?:note|notes|section|instructions?|paragraph|line|comment|block|"
            r"text)\b|"
            r"\b(?:list|put|present|show|place|rank|order)\s+(?:this|it|these|the following)\b"
            r"[^.\n]{0,40}?\b(?:first|before\s+(?:the\s+|any\s+)?(?:other\s+)?steps|as\s+(?:the\s+)?"
            r"(?:first\s+step|step\s+(?:1|one)))\b",
            re.IGNORECASE,
        ),
    ),
    (
        "image_exfiltration",
        re.compile(r"!\[[^\]]*\]\(\s*<?(?:https?:)?//[^)\s]*[?#][^)\s]*\)", re.IGNORECASE),
    ),
    (
        "encoded_payload",
        re.compile(
            r"\b(?:decode|base64-decode|un-?base64|rot13)\b[^.\n]{0,40}?\b(?:and\s+)?(?:follow|execute|run|"
            r"obey|apply)\b|\b(?:follow|execute|obey)\b[^.\n]{0,30}?\b(?:the\s+)?(?:decoded|encoded)\s+"
            r"(?:text|instructions?|payload|string|message|content)\b",
            re.IGNORECASE,
        ),
    ),
]
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_LIST_ITEM = MARGIN_LIST_ITEM


@dataclass
class Isolation:
    """A passage with instruction-carrying units removed, and why they were."""

    text: str
    removed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def suspected(self) -> bool:
        return bool(self.removed)


def _decoded_payloads(text: str) -> list[str]:
    out = []
    for match in _BASE64.finditer(text):
        blob = match.group(0)
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
        except (binascii.Error, ValueError):
            continue
        decoded = raw.decode("utf-8", errors="ignore")
        printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
        if decoded and printable / len(decoded) > 0.9:
            out.append(decoded)
    return out


# Letters from other scripts that look like Latin ones ("Іgnore" with a Cyrillic І).
_CONFUSABLES = str.maketrans(
    "АВЕКМНОРСТХУЅІЈаеорсхуѕіјԁһӏαβεικνορτυχ",
    "ABEKMHOPCTXYSIJaeopcxysijdhlabeiknoptux",
)
_LEET = str.maketrans("013457@$", "oieastas")
# Words written with a space between letters: "i g n o r e".
_SPACED = re.compile(r"\b(?:[A-Za-z] ){3,}[A-Za-z]\b")


def _variants(text: str) -> list[str]:
    """The text, and the spellings an attack hides behind: look-alike letters, letters spaced
    apart, digits for letters, ROT13. Matched with the same rules."""
    plain = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)
    plain = "".join(
        ch for ch in unicodedata.normalize("NFKD", plain) if not unicodedata.combining(ch)
    )
    joined = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), plain)
    out = [text, plain, joined, joined.translate(_LEET), codecs.encode(text, "rot13")]
    return list(dict.fromkeys(out))


# Words every rule above turns on. A disguised spelling is matched with the rules only when it
# shows one of them that the text as written does not: most text has none, and stays cheap.
_TRIGGERS = (
    "ignor",
    "disregard",
    "forget",
    "overrid",
    "instruc",
    "anweisung",
    "istruz",
    "assistant",
    "assistent",
    "asistente",
    "copilot",
    " ai",
    "ai ",
    " ki",
    " ia",
    "llm",
    "model",
    "system",
    "prompt",
    "pretend",
    "jailbreak",
    "developer mode",
    "reveal",
    "secret",
    "password",
    "you are",
)


def _new_triggers(variant: str, original: str) -> bool:
    return any(word in variant and word not in original for word in _TRIGGERS)


def reasons_for(text: str) -> list[str]:
    """Why a piece of text reads as instructions to an AI; empty when it does not."""
    found = [name for name, pattern in _RULES if pattern.search(text)]
    original = text.lower()
    for variant in _variants(text)[1:]:
        if _new_triggers(variant.lower(), original):
            found += [name for name, pattern in _RULES if pattern.search(variant)]
    for decoded in _decoded_payloads(text):
        if any(pattern.search(decoded) for _, pattern in _RULES):
            found.append("encoded_payload")
    return list(dict.fromkeys(found))


def units(text: str) -> list[str]:
    """Paragraphs, list items and fenced blocks, in order; joining them restores the text."""
    out: list[str] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        if current:
            out.append("\n".join(current))
            current.clear()

    for line in text.split("\n"):
        if FENCE.match(line):
            if not in_fence:
                flush()
                current.append(line)
                in_fence = True
            else:
                current.append(line)
                flush()
                in_fence = False
            continue
        if in_fence:
            current.append(line)
            continue
        if not line.strip():
            flush()
            continue
        if _LIST_ITEM.match(line):
            flush()
        current.append(line)
    flush()
    return out


_SENTENCE = re.compile(r"(?<=[.!?;])\s+")


def screen_question(text: str) -> Isolation:
    """A question, sentence by sentence: the sentences addressed to the assistant are dropped."""
    result = Isolation(text="")
    kept = []
    for sentence in _SENTENCE.split(text.strip()):
        why = reasons_for(sentence)
        if why:
            result.removed.append(sentence)
            result.reasons.extend(r for r in why if r not in result.reasons)
        else:
            kept.append(sentence)
    result.text = " ".join(kept)
    return result


@dataclass
class Judgement:
    reasons: list[str]
    # The sentences the semantic detector flagged, and the spans the risk rules withhold:
    # what tells a flagged unit's attack from its legitimate part.
    sentences: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)

    def carries(self, part: str) -> bool:
        """Whether a sentence or table row of the unit carries what flagged it."""
        if reasons_for(part):
            return True
        if FOREIGN in self.reasons and other_language(
            prose(part), min_words=LANGUAGE_MIN_WORDS // 2
        ):
            return True
        if any(w in part for w in self.withheld):
            return True
        plain = set(semantic.pieces(part))
        return any(s in plain for s in self.sentences)


def judge(
    parts: list[str], *, use_semantic: bool, english: bool, vouch: bool = True
) -> list[Judgement]:
    """Why each unit reads as instructions planted for an AI (no reasons: it does not).

    The patterns look at every unit. A command the risk rules withhold (credentials sent away,
    a script run from a host nobody vouched for) takes its sentence or row with it: the words
    around it are the attack's framing. Prose in another language than the document's that
    carries a command is cut (nothing here reads it). The semantic detector (when a model is
    loaded) scores the sentences of the rest in one batch, with its lower bar for units that
    carry a risky command; a unit it flags gets the reason "semantic"."""
    verdicts = [Judgement(reasons_for(unit)) for unit in parts]
    risky = [False] * len(parts)
    carriers = side_channels(parts)
    vouched = _Vouched(parts if vouch else None)
    defined = definitions(parts)
    references = link_references(parts)
    for i, unit in enumerate(parts):
        risks = risk.scan(unit)
        risky[i] = any(_lowers_the_bar(r) for r in risks)
        withheld = [r for r in risks if r.action == "withhold"]
        # A command that uses a variable another part defines is judged with its value: the
        # step reads `--target $DR_HOST`, the appendix says what that is.
        expanded, used = expand(unit, defined)
        if used:
            known = {r.reason for r in risks}
            for r in risk.scan(expanded):
                if r.action == "withhold" and r.reason not in known:
                    lines = [ln.strip() for ln in unit.split("\n") if uses(ln, used)]
                    verdicts[i].withheld += lines
                    verdicts[i].reasons.append(
                        f"risk:{r.reason} (through {', '.join('$' + v for v in sorted(used))})"
                    )
        if carriers[i]:
            # A footnote, a collapsed block, a quote, a definition, a comment: no procedure puts
            # its severe step there, and a reader skims past it to the command.
            withheld += [r for r in risks if _destroys(r) and r not in withheld]
        elif _is_table(unit):
            # A table is looked up, not read: a severe command in one cell passes for one more
            # row of the runbook's own. The row goes; the table's other rows stay.
            withheld += [r for r in risks if r.severe and r not in withheld]
        reasons = [
            f"risk:{r.reason}"
            + (f" (in a {carriers[i] or 'table'})" if r.action != "withhold" else "")
            for r in withheld
        ]
        for r in risks:
            # A client, a service or a resolver pointed at a host no other part of the document
            # names: the host is the attack's, whatever the step around it says.
            foreign = vouched.foreign(i, r.points_at)
            if foreign and r not in withheld:
                withheld.append(r)
                reasons.append(
                    f"risk:points a client at a host nothing else names ({', '.join(foreign)})"
                )
        # A reference-style link ("into the [checker][ref]") is read with the address its
        # definition gives it, wherever in the document that definition sits.
        linked, cited = resolve_references(unit, references)
        asks = "://" in linked and (
            trust.asks_for_secrets(linked) or bool(_PASTE_INTO.search(linked))
        )
        harvest = vouched.foreign(i, tuple(sorted(linked_hosts(linked)))) if asks else []
        if harvest:
            # A link to a host the document does not otherwise name, and words that hand it a
            # secret: the form harvests keys, whoever's name is on it.
            verdicts[i].withheld += links_to(unit, harvest) + [
                ref for ref, url in cited if links_to(url, harvest)
            ]
            reasons.append(f"risk:asks for secrets on another host ({', '.join(harvest)})")
            for j, definition in enumerate(parts):
                if j != i and any(url in definition for _, url in cited):
                    verdicts[j].reasons.append("risk:defines the link that asks for secrets")
        if withheld:
            verdicts[i].withheld += [r.span for r in withheld]
        verdicts[i].reasons += reasons
        if english and not verdicts[i].reasons and in_other_language(unit):
            verdicts[i].reasons.append(FOREIGN)
    chosen = semantic.detector() if use_semantic else None
    if chosen is None:
        return verdicts
    rest = [i for i, v in enumerate(verdicts) if not v.reasons]
    try:
        hits = chosen.flag([parts[i] for i in rest], risky=[risky[i] for i in rest])
    except Exception:  # a failing model must not stop screening: the patterns stand
        log.warning(
            "semantic injection detector failed; screening with patterns only", exc_info=True
        )
        return verdicts
    for i, sentences in zip(rest, hits, strict=True):
        if sentences:
            verdicts[i].reasons = [SEMANTIC]
            verdicts[i].sentences = sentences
    return verdicts


def _lowers_the_bar(r: risk.Risk) -> bool:
    """Whether a unit with this command is read with the semantic detector's lower bar: the
    severe commands a planted note to a model asks for (no auth, every key, a table gone).
    What an action destroys in-domain (`harm`) is held back from steps already; the detector
    reads notes to models, and a runbook's own risky step ("make the file public to share it")
    is not one."""
    if r.action == "withhold":
        return True
    reasons = {part.split(" (")[0] for part in r.reason.split("; ")}
    return bool((reasons & risk.SEVERE) - harm.SEVERE) or (
        {"acts on everything", "forces the operation"} <= reasons
    )


def _is_table(unit: str) -> bool:
    lines = [line for line in unit.split("\n") if line.strip()]
    return bool(lines) and all(line.lstrip().startswith("|") for line in lines)


# Data typed into a linked page: "paste the feed address into the [checker](...)".
_PASTE_INTO = re.compile(
    r"\b(?:paste|enter|type|submit|upload|drop)\b[^.]{0,160}?\b(?:into|in|to|on)\s+(?:the\s+|our\s+|"
    r"their\s+|this\s+)?[^.\n]{0,30}?\[[^\]]+\]\(",
    re.I,
)


class _Vouched:
    """Which hosts a document vouches for: those another of its parts names too.

    A section of one part has nothing to vouch for its hosts. Without the document (`None`:
    text screened again after its document was, such as a step), nothing is judged here."""

    def __init__(self, parts: list[str] | None) -> None:
        self.parts = parts
        self._named: list[set[str]] | None = None

    def foreign(self, i: int, hosts: tuple[str, ...]) -> list[str]:
        """The hosts of part `i` that no other part names (by registered domain)."""
        if not hosts or self.parts is None:
            return []
        if self._named is None:
            # A link definition is where a link points, not a second mention of its host.
            self._named = [
                set() if LINK_DEFINITION.match(part) else named_domains(part) for part in self.parts
            ]
        others = set().union(*(d for j, d in enumerate(self._named) if j != i))
        return [h for h in hosts if domain_of(h) not in others]


# What a command in a side channel may not do: take something away that cannot be put back.
_DESTROYING = (
    "recursive or forced delete", "delete", "drop or truncate", "data change", "flush",
    "disk write", "firewall flush", "acts on everything", "skips a safety check",
)  # fmt: skip


def _destroys(r: risk.Risk) -> bool:
    return r.severe or any(part.split(" (")[0] in _DESTROYING for part in r.reason.split("; "))


def screen_units(parts: list[str], *, use_semantic: bool = True) -> list[list[str]]:
    """Why each unit reads as instructions to an AI (empty: it does not); see `judge`."""
    english = english_document("\n".join(parts))
    return [v.reasons for v in judge(parts, use_semantic=use_semantic, english=english)]


def isolate(text: str, *, use_semantic: bool = True, vouch: bool = True) -> Isolation:
    """Drop the parts of a passage that carry an attack; keep the rest in order.

    A flagged unit loses the smallest part that carries what flagged it (a table row, the
    sentence and what follows it); see `judge` for what flags a unit. `use_semantic=False`
    screens with the patterns and rules only; `vouch=False` does not judge hosts by what the
    rest of `text` names (text screened again after its document was)."""
    parts = units(text)
    kept: list[str] = []
    result = Isolation(text="")
    verdicts = judge(parts, use_semantic=use_semantic, english=english_document(text), vouch=vouch)
    lead_in: int | None = None  # index in `kept` of a clean unit that ends with a colon
    for unit, verdict in zip(parts, verdicts, strict=True):
        if verdict.reasons:
            salvaged, removed = _salvage(unit, verdict)
            if not salvaged and lead_in is not None and lead_in == len(kept) - 1:
                # "The mirror is the team's drop:" introduces what was cut; it is the attack's
                # framing, and alone it reads as an order with its object missing.
                removed = kept.pop() + "\n\n" + removed
            result.removed.append(removed)
            result.reasons.extend(r for r in verdict.reasons if r not in result.reasons)
            if salvaged:
                kept.append(salvaged)
            lead_in = None
        else:
            kept.append(unit)
            lead_in = len(kept) - 1 if unit.rstrip().endswith(":") else None
    result.text = "\n\n".join(kept)
    return result


# What a kept sentence may not hold: a link (where an attack sends the reader) or a marker.
_UNSAFE_PROSE = re.compile(r"://|canary", re.IGNORECASE)
_UNIT_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _salvage(unit: str, verdict: Judgement) -> tuple[str, str]:
    """Cut the smallest part of a flagged unit that carries the attack: (kept, removed).

    A table keeps its rows that carry nothing; prose keeps the plain sentences before the first
    one that carries the attack (everything from there on may be its payload), and only when
    they hold no link, marker or command the risk rules mark. Otherwise the whole unit goes."""
    lines = [line for line in unit.split("\n") if line.strip()]
    if lines and all(line.lstrip().startswith("|") for line in lines):
        bad = [line for line in lines if verdict.carries(line)]
        if bad:
            kept = [line for line in lines if line not in bad]
            return "\n".join(kept), "\n".join(bad)
        return "", unit
    marker = _LIST_MARKER.match(unit.strip())
    head = marker.group(0) if marker else ""
    sentences = _UNIT_SENTENCE.split(unit.strip()[len(head) :])
    first = next((i for i, x in enumerate(sentences) if verdict.carries(x)), 0)
    before = sentences[:first]
    if before and not any(_UNSAFE_PROSE.search(x) or risk.scan(x) for x in before):
        return head + " ".join(before), " ".join(sentences[first:])
    return "", unit


# A list item's marker ("2. ", "- "): not a sentence of its own when prose is cut into sentences.
_LIST_MARKER = re.compile(LIST_MARKER)
