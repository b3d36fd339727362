"""Recognise text addressed to an AI by what it says, not by how it is worded.

The patterns in `injection.py` know phrasings; an attacker has more of them. This detector embeds
each sentence of a unit with the sentence model the app already runs (MiniLM) and scores it with
a logistic regression trained, at first use, on two sets of exemplars written for this project
(`exemplars/injection.txt`: instructions planted for a model that reads the page, in many
forms and languages; `exemplars/benign.txt`: runbook and postmortem sentences, many of them hard
cases that mention AI, chatbots, "ignore the previous alert", uploads, approvals and `curl | jq`).
Exemplar vectors are computed once per process; sentence scores are cached by text. The fit
itself (weights and bias) can be kept in a folder (`keep_fits_in`, the data directory): a later
process with the same model and exemplars reads it instead of embedding 703 exemplars again.

Thresholds: a sentence is flagged at probability >= `THRESHOLD` (0.88), or >=
`ADDRESSED_THRESHOLD` (0.75) when it names a model as its addressee. Both were chosen on one
half of the data and checked on the other. Exemplars are split by line parity
(`split_exemplars`): trained on even lines and scored on the odd ones, and the other way round,
the shipped rule flags 34-36% of held-out injections at 0-0.4% held-out benign false positives
(`python -m evals.guardrails_fp --calibrate`). The public corpora (`../shared/corpora`) were
split by file (even-numbered in sorted order = dev): thresholds and the benign exemplars were
adjusted while reading what the dev half flagged (lowest thresholds that flag at most 2 dev
files); the odd half was only measured. Result on all 879 files: 12 flagged by this detector
(2 of them in the dev half), 1 by the patterns. Figures are for MiniLM-L6; another model gets
the same exemplars but no tuning.

With no model (none loaded in this process, or the model fails), screening is patterns only.
Tests inject a detector with `installed(...)`; the app's model is found without loading a second
copy: `use_embedder()` names it, otherwise the live `copilot.embedding.Embedder` is used.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import re
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from copilot.fences import FENCE
from copilot.listitems import LIST_MARKER
from copilot.lru import LRUCache

Vectors = npt.NDArray[np.float32]

# Probability above which a sentence reads as instructions to a model (see the module docstring).
THRESHOLD = 0.88
# The lower bar for a sentence that names a model as who it speaks to or about ("assistant",
# "language models", "whoever or whatever"): the model judges the intent, the word only says
# who is addressed, so the word alone never flags anything.
ADDRESSED_THRESHOLD = 0.75
# The lower bar for a unit that carries a command the risk rules call severe (no auth, every key
# or table gone, forced across everything: `risk.Risk.severe`): a miss there costs most, and a
# runbook's own severe step rarely reads like a note to a model. Chosen on the corpora's even
# files and checked on the odd ones (evals/README.md, "Tuning the guardrails").
RISKY_THRESHOLD = 0.5
_ADDRESSEE = re.compile(
    r"\b(?:ai|a\.i\.|llms?|gpt|assistants?|copilots?|chat ?bots?|bots?|(?:language )?models?|"
    r"summari[sz]\w*|automated|machines?|whoever|whatever|non-human|ki|ia|modèle|modelo|"
    r"sprachmodell\w*)\b",
    re.IGNORECASE,
)
# Sentences shorter than this carry no instruction worth the cost of embedding them.
MIN_WORDS = 4
# The model reads 256 word pieces at most; longer sentences cost time for nothing.
MAX_CHARS = 600
CACHE_SIZE = 100_000
# The kept fit, in the folder `keep_fits_in` names. Its key is what the fit depends on: the
# exemplars, the training settings and the model, known by the vector of a fixed sentence (a
# model's name says nothing of its weights). Another key is fitted again and written over.
FIT_FILE = "injection-detector-fit.npz"
FIT_FORMAT = 1
_PROBE = "Disk usage on the primary database node passed 90 percent."


class Encoder(Protocol):
    """What the detector needs from a sentence model: normalised vectors for texts."""

    def embed(self, texts: list[str], *, batch_size: int | None = None) -> Vectors: ...


@cache
def load_exemplars() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(injection sentences, benign sentences) shipped with the package."""
    folder = resources.files("copilot.guardrails") / "exemplars"

    def lines(name: str) -> tuple[str, ...]:
        text = (folder / name).read_text(encoding="utf-8")
        return tuple(
            normalise(line.strip())
            for line in text.splitlines()
            if line.strip() and not line.startswith("#")
        )

    return lines("injection.txt"), lines("benign.txt")


def split_exemplars(items: Sequence[str], half: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(dev, check): half 0 trains on the even lines and holds out the odd ones; 1 swaps."""
    dev = tuple(t for i, t in enumerate(items) if i % 2 == half)
    check = tuple(t for i, t in enumerate(items) if i % 2 != half)
    return dev, check


def train(
    positive: Vectors, negative: Vectors, *, l2: float = 1e-3, steps: int = 400
) -> tuple[Vectors, float]:
    """A class-balanced, L2-regularised logistic regression fitted by gradient descent."""
    x = np.vstack([positive, negative]).astype(np.float64)
    y = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    weight = np.where(y == 1, 0.5 / max(len(positive), 1), 0.5 / max(len(negative), 1))
    w = np.zeros(x.shape[1])
    b = 0.0
    rate = 4.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        error = (p - y) * weight
        w -= rate * (x.T @ error + l2 * w)
        b -= rate * float(error.sum())
    return w.astype(np.float32), float(b)


def over(
    sentence: str,
    probability: float,
    threshold: float = THRESHOLD,
    addressed: float = ADDRESSED_THRESHOLD,
) -> bool:
    """Whether a scored sentence is flagged: above the threshold, or above the lower one when
    it names a model."""
    return probability >= threshold or (
        probability >= addressed and bool(_ADDRESSEE.search(sentence))
    )


def probabilities(vectors: Vectors, w: Vectors, b: float) -> npt.NDArray[np.float64]:
    logits = vectors.astype(np.float64) @ w.astype(np.float64) + b
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits))
    return result


_COMMENT = re.compile(r"^\s*(?:#+|//|--|;)\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"<!--|-->|\*\*|__|^\s{0,3}(?:>\s*)+|^\s{0,3}#{1,6}\s+", re.MULTILINE)
_ITEM = re.compile(r"^\s*" + LIST_MARKER, re.MULTILINE)
_CODE = re.compile(r"(`+)[^`\n]+?\1")
_URL = re.compile(r"(?:https?|ftp)://\S+", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\s*[\n;]\s*(?=\S)")


def normalise(text: str) -> str:
    """What a command or a URL says is topic, not intent: the model reads "a command"."""
    return _URL.sub("a link", _CODE.sub("a command", text))


def pieces(unit: str) -> list[str]:
    """The sentences of a unit (paragraph, list item, table, fenced block) worth scoring.

    Markup is removed (link targets, emphasis, quote and list markers); a fenced block
    contributes only its comments; each table row is read on its own.
    """
    lines = unit.split("\n")
    if lines and FENCE.match(lines[0]):
        texts = [m.group(1) for line in lines[1:] if (m := _COMMENT.match(line))]
    elif sum(line.lstrip().startswith("|") for line in lines) >= 2:
        texts = [
            " ; ".join(c.strip() for c in line.strip().strip("|").split("|"))
            for line in lines
            if not _TABLE_RULE.match(line)
        ]
    else:
        texts = [" ".join(_ITEM.sub("", unit).split("\n"))]
    out: list[str] = []
    for text in texts:
        plain = normalise(_MARKUP.sub(" ", _LINK.sub(r"\1", text)))
        for sentence in _SENTENCE_END.split(plain):
            sentence = " ".join(sentence.split())
            # Counted without the placeholders: "Safe and instant: a command." says nothing.
            words = re.findall(r"[^\W\d_]{2,}", re.sub(r"\ba (?:command|link)\b", "", sentence))
            if len(words) >= MIN_WORDS or (words and not sentence.isascii()):
                out.append(sentence[:MAX_CHARS])
    return list(dict.fromkeys(out))


class SemanticDetector:
    """Scores sentences against the exemplars; flags units with any sentence above threshold."""

    def __init__(
        self,
        encoder: Encoder,
        *,
        threshold: float = THRESHOLD,
        addressed_threshold: float = ADDRESSED_THRESHOLD,
        injections: Sequence[str] | None = None,
        benign: Sequence[str] | None = None,
        kept_in: Path | None = None,
    ) -> None:
        """`kept_in`: a folder to read the fit from, and to write it to once fitted."""
        self.encoder = encoder
        self.threshold = threshold
        self.addressed_threshold = addressed_threshold
        shipped = load_exemplars()
        self._injections = list(injections if injections is not None else shipped[0])
        self._benign = list(benign if benign is not None else shipped[1])
        self._model: tuple[Vectors, float] | None = None
        self._lock = threading.Lock()
        self._cache: LRUCache[str, float] = LRUCache(CACHE_SIZE)
        self.kept_in = kept_in
        # How the fit was had: "fitted", "read" (from `kept_in`), or None before the first use.
        self.fit_source: str | None = None

    def _fitted(self) -> tuple[Vectors, float]:
        with self._lock:
            if self._model is None:
                key = self._fit_key() if self.kept_in is not None else ""
                kept = self._read_fit(key)
                if kept is not None:
                    self._model, self.fit_source = kept, "read"
                else:
                    vectors = self.encoder.embed(self._injections + self._benign)
                    n = len(self._injections)
                    self._model, self.fit_source = train(vectors[:n], vectors[n:]), "fitted"
                    self._keep_fit(key, *self._model)
            return self._model

    def _fit_key(self) -> str:
        probe = self.encoder.embed([_PROBE])[0].astype(np.float64)
        digest = hashlib.sha256(f"{FIT_FORMAT}:{len(probe)}".encode())
        # Rounded, and -0.0 made 0.0: the last bits move with the number of threads.
        digest.update((np.round(probe, 4) + 0.0).tobytes())
        for label, texts in ((b"i", self._injections), (b"b", self._benign)):
            for text in texts:
                digest.update(b"\0" + label + text.encode("utf-8"))
        return digest.hexdigest()

    def _read_fit(self, key: str) -> tuple[Vectors, float] | None:
        if self.kept_in is None:
            return None
        try:
            with np.load(self.kept_in / FIT_FILE, allow_pickle=False) as saved:
                if str(saved["key"]) != key:
                    return None
                w = np.asarray(saved["w"], dtype=np.float32)
                b = float(saved["b"])
        except (OSError, ValueError, KeyError):
            return None  # none kept, or unreadable: fit again
        if w.ndim != 1 or not np.isfinite(w).all() or not np.isfinite(b):
            return None
        return w, b

    def _keep_fit(self, key: str, w: Vectors, b: float) -> None:
        """Write the fit for the next process; a folder that cannot be written keeps nothing."""
        if self.kept_in is None:
            return
        path = self.kept_in / FIT_FILE
        tmp = path.with_name(f".{FIT_FILE}.{os.getpid()}.{threading.get_ident()}.npz")
        with contextlib.suppress(OSError):
            self.kept_in.mkdir(parents=True, exist_ok=True)
            try:
                np.savez(tmp, key=np.array(key), w=w, b=np.array(b))
                os.replace(tmp, path)  # readers never see half a file
            finally:
                tmp.unlink(missing_ok=True)

    def warm(self) -> None:
        """Embed the exemplars and fit now, not on the first screened document."""
        self._fitted()

    def scores(self, sentences: Sequence[str]) -> list[float]:
        """Probability, per sentence, that it is an instruction planted for a model."""
        w, b = self._fitted()
        known = self._cache.found(sentences)
        todo = list(dict.fromkeys(s for s in sentences if s not in known))
        if todo:
            fresh = probabilities(self.encoder.embed(todo), w, b)
            made = [(sentence, float(p)) for sentence, p in zip(todo, fresh, strict=True)]
            known.update(made)
            self._cache.keep(made)
        # From what this call holds, not from the cache: a sentence the cache dropped meanwhile
        # (a long document, another thread) is never read as a score of 0.
        return [known[s] for s in sentences]

    def flag(self, units: Sequence[str], *, risky: Sequence[bool] | None = None) -> list[list[str]]:
        """For each unit, its sentences that score above threshold (empty: not flagged).

        Who a unit speaks to is said once ("To any automated system summarising this page:")
        and its orders follow in the next sentences, so the lower addressed bar applies from an
        address (a sentence naming a model that opens the unit or ends in a colon) to the end of
        the unit; a model named in passing lowers it for its own sentence only. A unit marked `risky` (it carries
        a command the risk rules mark) is read with `RISKY_THRESHOLD`. All sentences of all
        units go to the model in one batch."""
        per_unit = [pieces(u) for u in units]
        flat = [s for ss in per_unit for s in ss]
        if not flat:
            return [[] for _ in units]
        scored = dict(zip(flat, self.scores(flat), strict=True))
        out: list[list[str]] = []
        for i, ss in enumerate(per_unit):
            base = self.threshold
            if risky is not None and risky[i]:
                base = min(base, RISKY_THRESHOLD)
            addressed = False
            hits = []
            for n, sentence in enumerate(ss):
                names = bool(_ADDRESSEE.search(sentence))
                # An address opens the unit or ends in a colon; what follows it is spoken to
                # the same reader. A model named in passing lowers the bar for its sentence only.
                addressed = addressed or (names and (n == 0 or ":" in sentence))
                bar = min(base, self.addressed_threshold) if addressed or names else base
                if scored[sentence] >= bar:
                    hits.append(sentence)
            out.append(hits)
        return out


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.installed: SemanticDetector | None = None
        self.explicit = False
        self.embedder: weakref.ref[Any] | None = None
        self.auto: SemanticDetector | None = None
        self.last_scan = -1e9
        self.fits: Path | None = None


_state = _State()
# A process with no model loaded looks again at most this often (a scan takes ~40 ms).
_RESCAN_SECONDS = 30.0


def use_embedder(embedder: Encoder | None) -> None:
    """Name the model the app loaded (the composition root may call this); None forgets it,
    and the next screening looks for a live one again."""
    with _state.lock:
        _state.embedder = weakref.ref(embedder) if embedder is not None else None
        _state.auto = None
        _state.last_scan = -1e9


def keep_fits_in(folder: Path | None) -> None:
    """Keep the detector's fit in `folder` (the composition root names the data directory), so
    that a later start with the same model and exemplars skips the fit; None keeps none."""
    with _state.lock:
        _state.fits = folder
        _state.auto = None


def _live_embedder() -> Encoder | None:
    """The app's model: the one named by `use_embedder`, else a live `Embedder`, if any.

    Guardrails sit below the knowledge base, so they cannot ask it for its model; looking for
    the instance already in memory avoids loading a second copy."""
    named = _state.embedder() if _state.embedder is not None else None
    if named is not None:
        return named  # type: ignore[no-any-return]
    module = sys.modules.get("copilot.embedding")
    if module is None or time.monotonic() - _state.last_scan < _RESCAN_SECONDS:
        return None
    _state.last_scan = time.monotonic()
    cls = module.Embedder
    live = [obj for obj in gc.get_referrers(cls) if isinstance(obj, cls)]
    if not live:
        return None
    chosen = live[0]
    _state.embedder = weakref.ref(chosen)
    return chosen  # type: ignore[no-any-return]


def detector() -> SemanticDetector | None:
    """The detector screening uses now; None means patterns only."""
    with _state.lock:
        if _state.explicit:
            return _state.installed
        encoder = _live_embedder()
        if encoder is None:
            return None
        if _state.auto is None or _state.auto.encoder is not encoder:
            _state.auto = SemanticDetector(encoder, kept_in=_state.fits)
        return _state.auto


@contextmanager
def installed(chosen: SemanticDetector | None) -> Iterator[None]:
    """Screen with `chosen` (None: patterns only) inside the block; for tests and evals."""
    with _state.lock:
        previous = (_state.explicit, _state.installed)
        _state.explicit, _state.installed = True, chosen
    try:
        yield
    finally:
        with _state.lock:
            _state.explicit, _state.installed = previous


def warm() -> bool:
    """Fit the detector now (at start-up), not on the first screened document; False: no model."""
    chosen = detector()
    if chosen is None:
        return False
    chosen.warm()
    return True
