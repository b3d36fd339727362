"""Typing slips in a question, read as the knowledge base's words: "pagment failures" is searched
as "pagment (payment) failures", and the response says so.

A tired responder types fast. The embedding model reads a slip as an unknown word and the keyword
index cannot match it at all, so "pagment failures" led with the DNS runbook (its only known word
is "failures"). A word is a slip only when neither the knowledge base nor the embedding model's
own vocabulary knows it (with or without a plain ending: "evictions" is "eviction" plus s), and
one word of the knowledge base with the same first letter lies within one edit of it (two from
ten letters). Words under five letters, contractions typed without their apostrophe ("cant") and
names (`cart-service`, `KubePodCrashLooping`) are left alone. A real word the runbooks never use
("coffee") is in the model's vocabulary and stays as typed, so an off-topic question is still
off-topic. The nearest word wins; of equally near ones, the one the knowledge base uses most.
Edit distance is rapidfuzz's optimal string alignment (a swap of two neighbouring letters,
"kafak", is one edit).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from copilot.knowledge.store import KnowledgeBase

# Shorter words are left alone: one edit turns "pod" into "pid", and "auth" into "auto".
MIN_LENGTH = 5
# Words this long or longer may be two edits away ("certifficte").
LONG_WORD = 10
# A word standing alone: not part of a name such as `cart-service`, `api_gw`, `v2` or a path.
_WORD = re.compile(r"(?<![\w./-])[A-Za-z]+(?:['’][A-Za-z]+)?(?![\w/-])(?!\.\w)")
# A capital inside a word marks a name (`KubePodCrashLooping`), typed as its owner spells it.
_INNER_CAPITAL = re.compile(r".[A-Z]")
# Words of the knowledge base: letters only, as they are split for search.
_KB_WORD = re.compile(r"[a-z]+")
# Contractions typed without their apostrophe are words, not slips ("cant" is not "can").
_CONTRACTIONS = frozenset(
    """
    arent cant couldnt didnt doesnt dont hadnt hasnt havent isnt mightnt mustnt neednt shant
    shouldnt wasnt werent wont wouldnt youre theyre weve ive thats whats theres
    """.split()
)


def _bases(word: str) -> list[str]:
    """The forms a word may be an inflection of: "evictions" -> "eviction", "paged" -> "page",
    "hogging" -> "hog"; and the forms it may be the base of are checked by `Vocabulary.knows`."""
    bases = []
    for ending in ("s", "es", "ed", "ing", "ly", "er"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            bases.append(word[: -len(ending)])
    if word.endswith("ed"):
        bases.append(word[:-1])  # "paged" -> "page", but "seald" is not "seal"
    if word.endswith("ing") and len(word) >= 6 and word[-4] == word[-5]:
        bases.append(word[:-4])
    if word.endswith("ed") and len(word) >= 5 and word[-3] == word[-4]:
        bases.append(word[:-3])
    return bases


@dataclass(frozen=True)
class Vocabulary:
    """The words a question's words are checked against."""

    # Words of the knowledge base (lower case) and how often each occurs.
    corpus: Counter[str]
    # Whole words of the embedding model's vocabulary (lower case).
    model: frozenset[str]
    _choices: tuple[str, ...] = field(default=(), compare=False)

    def knows(self, word: str) -> bool:
        """Whether `word` is a word: either vocabulary has it, an inflection of it ("configure"
        beside "configured"), or its base ("evictions" beside "eviction")."""
        if word in _CONTRACTIONS:
            return True
        forms = [word, *_bases(word)] + [word + e for e in ("s", "es", "d", "ed", "ing")]
        return any(f in self.corpus or f in self.model for f in forms)

    def nearest(self, word: str) -> str | None:
        """The knowledge-base word nearest `word` within its edit budget, or None."""
        budget = 2 if len(word) >= LONG_WORD else 1
        found = process.extract(
            word, self._choices, scorer=OSA.distance, score_cutoff=budget, limit=None
        )
        if not found:
            return None
        # A slip rarely hits the first letter, and a real word that is not a slip often differs
        # there ("vlan" and "plan", "inode" and "node").
        found = [item for item in found if item[0][:1] == word[:1]]
        if not found:
            return None
        best = min(found, key=lambda item: (item[1], -self.corpus[item[0]], item[0]))
        return str(best[0])


@dataclass(frozen=True)
class Correction:
    """The question as searched, and each slip read as a knowledge-base word (typed -> read)."""

    text: str
    fixes: dict[str, str] = field(default_factory=dict)


def vocabulary(kb: KnowledgeBase) -> Vocabulary:
    """The knowledge base's words and the model's, kept until the knowledge base changes."""
    return kb.derived("spelling", _build)


def _build(kb: KnowledgeBase) -> Vocabulary:
    corpus: Counter[str] = Counter()
    for chunk in kb.all_chunks():
        corpus.update(_KB_WORD.findall(f"{chunk.title} {chunk.section} {chunk.text}".lower()))
    choices = tuple(w for w in corpus if len(w) >= MIN_LENGTH - 1)
    return Vocabulary(corpus=corpus, model=kb.embedder.words(), _choices=choices)


def correct(query: str, words: Vocabulary) -> Correction:
    """`query` with the knowledge base's word beside every slip: "pagment (payment) failures"."""
    if not words.model or not words.corpus:
        # Without both vocabularies every unknown word would look like a slip.
        return Correction(query)
    fixes: dict[str, str] = {}

    def read(match: re.Match[str]) -> str:
        typed = match.group(0)
        low = typed.lower()
        if (
            len(low) < MIN_LENGTH
            or "'" in low
            or "’" in low
            or _INNER_CAPITAL.search(typed)
            or words.knows(low)
        ):
            return typed
        meant = fixes.get(low) or words.nearest(low)
        if meant is None:
            return typed
        fixes[low] = meant
        # Beside the word as typed, as short names are spelled out (vocabulary.py): a real word
        # the knowledge base never uses that happens to lie one edit from one it does is still
        # searched as typed.
        return f"{typed} ({meant})"

    text = _WORD.sub(read, query)
    return Correction(text, fixes)
