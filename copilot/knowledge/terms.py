"""The words of a text as the retriever compares them: content words, CamelCase names split into
their parts, and a light stem.

Below the store and everything that matches a question's words to a document's (coverage, near
twins, what a question rules out, the cap's relevance, the chunker's alert names): text alone,
no store.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z0-9]+(?:['_.][A-Za-z0-9]+)*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_STOPWORDS = frozenset(
    """
    a an and are as at be been but by can could do does for from has have how i if in into is it
    its me my no not of on or our so some that the their them then there these they this to was
    we were what when where which while who why will with you your after again all also am any
    because before being both did doing down during each few further had having he her here him
    his just more most nor now only other out over own same she should than too under until up
    very us keeps keep getting get got seems can't cant cannot
    """.split()
)
_SUFFIXES = ("ions", "ion", "ures", "ure", "ing", "es", "ed", "er", "s")


def split_camel(word: str) -> str:
    """ "KubePodCrashLooping" -> "Kube Pod Crash Looping"."""
    return _CAMEL.sub(" ", word)


def parts(word: str) -> list[str]:
    """A word, and its CamelCase parts when it has them."""
    return [word] + (split_camel(word).split() if _CAMEL.search(word) else [])


def keyword_terms(text: str) -> list[str]:
    """Lower-cased content words of a query, CamelCase names split into their parts too."""
    terms: list[str] = []
    for word in WORD.findall(text):
        for part in parts(word):
            low = part.lower()
            if low not in _STOPWORDS and (len(low) > 1 or low.isdigit()) and low not in terms:
                terms.append(low)
    return terms


def stem(word: str) -> str:
    """A light stem for matching query words to document words: "failing" and "failed" meet.

    Deliberately crude (one suffix off, at most six letters kept): it only has to make the same
    word family collide, and a collision between unrelated words costs little in a coverage score.
    """
    low = word.lower()
    for suffix in _SUFFIXES:
        if low.endswith(suffix) and len(low) - len(suffix) >= 4:
            return low[: -len(suffix)][:6]
    return low[:6]
