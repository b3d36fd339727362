"""Fixed-by agreement: the product's "what fixed it" on the labelled dfds postmortems.

Whether it finds the fix a postmortem states (or says "not stated" when it states none), and
whether what it shows reads as whole sentences: no line cut where its source runs on, no
sentence twice.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.knowledge.store import KnowledgeBase
from evals.common import share
from evals.fragments import norm

_TERMINAL = tuple(".!?:;)]\"'`»”’")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|;\s+")
_NEW_BLOCK = re.compile(r"^\s*(?:#|\||[-*+]\s|\d{1,3}[.)]\s|```|>)")


@dataclass(frozen=True)
class FixedByReader:
    """The product's "what fixed it" reader, and the passages it reads."""

    what_fixed_it: Callable[[list[Any]], str]
    document_passages: Callable[..., list[Any]]
    not_stated: str
    module: str


def fixed_by_reader() -> FixedByReader:
    """Find `what_fixed_it` where it lives today (it moved from postmortem/ to knowledge/)."""
    for name in ("copilot.knowledge.past", "copilot.postmortem.past"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        fn = getattr(module, "what_fixed_it", None)
        passages = getattr(module, "document_passages", None)
        if callable(fn) and callable(passages):
            not_stated = str(getattr(module, "NOT_STATED", "not stated"))
            return FixedByReader(fn, passages, not_stated, name)
    raise SystemExit("no what_fixed_it in copilot.knowledge.past or copilot.postmortem.past")


def says_not_stated(output: str, not_stated: str = "not stated") -> bool:
    return norm(not_stated) in norm(output) or "not stated" in norm(output)


def cut_mid_sentence(output: str, source_text: str) -> bool:
    """A part of `output` ends without punctuation where its source line runs on to the next."""
    lines = source_text.splitlines()
    flat = [norm(line.strip(" |-*>")) for line in lines]
    for part in re.split(r";\s+", output):
        part = part.strip().removesuffix("…").strip()
        if not part or part.endswith(_TERMINAL):
            continue
        tail = norm(part)[-40:]
        for i, line in enumerate(flat[:-1]):
            nxt = lines[i + 1]
            if line.endswith(tail) and nxt.strip() and not _NEW_BLOCK.match(nxt):
                return True
    return False


def duplicated_sentences(output: str) -> bool:
    """The same sentence (or "; "-joined part) twice in one output."""
    parts = [norm(p).strip(" .…") for p in _SENTENCE_SPLIT.split(output)]
    parts = [p for p in parts if len(p) >= 12]
    return len(parts) != len(set(parts))


def evaluate_fixed_by(
    kb: KnowledgeBase,
    cases: Sequence[dict[str, Any]],
    root: Path,
    reader: FixedByReader | None = None,
) -> dict[str, Any]:
    """Score the product's "what fixed it" of each labelled postmortem under `root`."""
    reader = reader or fixed_by_reader()
    stated_ok: list[bool] = []
    unstated_ok: list[bool] = []
    missing = cut = duplicated = truncated = 0
    for case in cases:
        chunks = kb.document_chunks(case["source"])
        if not chunks:
            missing += 1
        passages = reader.document_passages(chunks, score=1.0)
        output = reader.what_fixed_it(passages) if chunks else ""
        said_not = says_not_stated(output, reader.not_stated)
        if case["stated"]:
            phrases = [norm(p) for p in case.get("fixed_by", []) if norm(p)]
            stated_ok.append(not said_not and any(p in norm(output) for p in phrases))
        else:
            unstated_ok.append(said_not)
        path = root / case["source"]
        source_text = path.read_text(encoding="utf-8") if path.is_file() else ""
        cut += bool(output) and cut_mid_sentence(output, source_text)
        duplicated += duplicated_sentences(output)
        truncated += output.rstrip().endswith("…")
    return {
        "questions": len(cases),
        "fixed_by_agreement": share(stated_ok + unstated_ok),
        "stated": len(stated_ok),
        "stated_found": share(stated_ok),
        "unstated": len(unstated_ok),
        "unstated_said_not_stated": share(unstated_ok),
        "cut_mid_sentence": cut,
        "duplicated_sentences": duplicated,
        "truncated": truncated,
        "missing_documents": missing,
        "extractor": f"{reader.module}.what_fixed_it",
    }
