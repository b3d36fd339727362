"""Whether a text is English, and prose in another language that carries a command or a link.

The detectors read English (the exemplars and MiniLM are English); a paragraph in another
language inside an English document is read by nobody (`injection.judge` cuts it when it carries
something to run or open).
"""

from __future__ import annotations

import re

from copilot.fences import FENCE

# Words that make up a quarter or more of any English prose and are rare in other languages.
_ENGLISH = frozenset(
    "the a an and or of to in on at for with from by is are was were be been it this that these "
    "those if then than when while not no do does did has have had can could should would will "
    "must may you your we our they their its as so but which what who how all any each into "
    "after before over under".split()
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_CODE_OR_LINK = re.compile(r"`[^`]*`|(?:https?|ftp)://\S+")
# A unit is read for its language only with this many words (short lines say too little).
LANGUAGE_MIN_WORDS = 8
FOREIGN = "not_in_document_language"


def _english_share(text: str) -> tuple[int, float]:
    words = [w.lower() for w in _WORD.findall(_CODE_OR_LINK.sub(" ", text))]
    if not words:
        return 0, 0.0
    return len(words), sum(w in _ENGLISH for w in words) / len(words)


# Function words of the languages a planted note is most often written in, none of them an
# English word: a paragraph is read as another language on this positive evidence, never on
# English words missing (terse English, alert names and link lists have few of those).
_OTHER_LANGUAGES = (
    frozenset(
        # Portuguese, Spanish, Italian
        "da do das dos não para com uma um por na no os se é está são pelo pela qualquer antes "
        "depois este esta isso deve execute el la los las y es con una del al lo pero más muy "
        "cualquier antes después debe esto está il di che per non della delle degli è sono questo "
        "questa prima dopo deve "
        # French
        "le les des du et est pour pas sur dans une qui ce cette avant après toute tout doit "
        "vous nous être sont "
        # German, Dutch
        "der die das und ist nicht mit für auf den dem ein eine einen zu sie diese dieser dieses "
        "jeder jede vor nach muss sollen werden wird het een van niet voor zijn op deze moet "
        "worden".split()
    )
    - _ENGLISH
)
# Letters outside the Latin script (Cyrillic, Greek, CJK, Arabic ...): a paragraph written in
# one of those is not English either, whatever its words.
_NON_LATIN = re.compile(r"[^\W\d_a-zA-Z\u00C0-\u024F]")


def other_language(text: str, *, min_words: int = LANGUAGE_MIN_WORDS) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < min_words:
        return False
    letters = sum(len(w) for w in words)
    if sum(len(_NON_LATIN.findall(w)) for w in words) >= letters / 2:
        return True
    english = sum(w in _ENGLISH for w in words)
    other = [w for w in words if w in _OTHER_LANGUAGES]
    return len(set(other)) >= 3 and len(other) >= 2 * max(english, 1)


def in_other_language(unit: str) -> bool:
    """Prose in another language than English that carries a command or a link.

    The detectors read English (the exemplars and MiniLM are English); a paragraph in another
    language inside an English document is read by nobody, so when it carries something to run
    or open it is cut rather than passed on unread. Tables and code blocks are not prose."""
    lines = unit.strip().split("\n")
    if not lines or FENCE.match(lines[0]) or lines[0].lstrip().startswith(("|", "#")):
        return False
    if not _CODE_OR_LINK.search(unit):
        return False
    return other_language(prose(unit))


# A line that reads as a shell command (a pipe, a variable, an option, a line continuation, an
# assignment) rather than a sentence: its words are flags and paths, in no language.
_COMMAND_LINE = re.compile(r"[|$\\=]|(?:^|\s)--?[A-Za-z]")


def prose(unit: str) -> str:
    """The lines of a unit that are not commands (an indented command in a list item is code)."""
    lines = (_CODE_OR_LINK.sub(" ", line) for line in unit.split("\n"))
    return "\n".join(line for line in lines if not _COMMAND_LINE.search(line))


def english_document(text: str) -> bool:
    count, share = _english_share(text)
    return count < 40 or share >= 0.12
