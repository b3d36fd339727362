"""The runbook for an alert, found in the knowledge base, with the way it was found.

In order: a document that lists the alert name in its front matter `alerts` (`alert_name`); a
document whose file is named after the alert (`file_name`: KubePodCrashLooping.md); a document
whose file name is the last part of the alert's `runbook_url` annotation (`runbook_url`); else
the best runbook section for a search on the alert's name, summary and description (`search`),
when anything passes the knowledge base's similarity floor.

The same finder looks up a candidate's similar past incidents: the knowledge base's postmortems
closest to its alert names, summaries and services.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from copilot.errors import InvalidInput, RetrievalUnavailable
from copilot.knowledge import past, retrieval
from copilot.knowledge.models import Chunk
from copilot.knowledge.store import KnowledgeBase
from copilot.knowledge.terms import split_camel

MAX_QUERY = 1500
MAX_SIMILAR = 3
# A similar incident's postmortem matches at least this well in meaning (`Hit.match`, never below
# the abstain floor) and scores at least this share of the best one. Decided on the even lines
# of a blind set of alerts (`python -m evals.similar --source alerts`; evals/README.md, "Similar
# incidents"): at 0.30 and 0.6 every alert no postmortem is about listed one, and 2 of 3 listed
# were not the one. An alert's summary says more than a question, so its floor is above ask's.
SIMILAR_FLOOR = 0.5
SIMILAR_RATIO = 0.8


@dataclass(frozen=True)
class Found:
    chunk: Chunk
    score: float
    found_by: str


def _stem(path: str) -> str:
    return PurePosixPath(path).stem.lower()


def _url_stem(url: str) -> str:
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return ""
    name = PurePosixPath(path.rstrip("/")).name.lower()
    return name.rsplit(".", 1)[0] if name.endswith((".md", ".html", ".htm")) else name


class RunbookFinder:
    """Runbook look-ups over one knowledge base; the name index is rebuilt when it changes."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._by_alert: dict[str, Chunk] = {}
        self._by_file: dict[str, Chunk] = {}
        self._searched: dict[str, Found | None] = {}
        self._similar: dict[tuple[str, tuple[str, ...]], list[Found]] = {}

    def _index(self) -> None:
        counts = self.kb.counts()
        stamp = (counts["files"], counts["chunks"])
        if stamp == self._stamp:
            return
        by_alert: dict[str, Chunk] = {}
        by_file: dict[str, Chunk] = {}
        for chunk in self.kb.all_chunks():
            if chunk.kind != "runbook":
                continue
            for name in chunk.alerts:
                _keep_first(by_alert, name.lower(), chunk)
            _keep_first(by_file, _stem(chunk.source), chunk)
        self._by_alert, self._by_file, self._searched = by_alert, by_file, {}
        self._similar = {}
        self._stamp = stamp

    def find(self, alertname: str, annotations: Mapping[str, str]) -> Found | None:
        with self._lock:
            self._index()
            key = alertname.lower()
            if key in self._by_alert:
                return Found(self._by_alert[key], 1.0, "alert_name")
            if key in self._by_file:
                return Found(self._by_file[key], 1.0, "file_name")
            url = annotations.get("runbook_url", "")
            stem = _url_stem(url) if url else ""
            if stem and stem in self._by_file:
                return Found(self._by_file[stem], 1.0, "runbook_url")
            query = " ".join(
                part
                for part in (
                    split_camel(alertname),
                    annotations.get("summary", ""),
                    annotations.get("description", ""),
                )
                if part
            )[:MAX_QUERY].strip()
            if not query:
                return None
            if query in self._searched:
                return self._searched[query]
        hits = retrieval.search(kb=self.kb, query=query, top_k=3, kind="runbook")
        verdict = retrieval.match_strength(hits, floor=self.kb.settings.abstain_below)
        found = None
        if hits and not verdict.no_match:
            best = hits[0]
            found = Found(best.chunk, retrieval.display_score(best.score) * verdict.scale, "search")
        with self._lock:
            if len(self._searched) > 4096:
                self._searched.clear()
            self._searched[query] = found
        return found

    def similar(self, query: str, services: Sequence[str] = ()) -> list[Found]:
        """Up to MAX_SIMILAR past postmortems closest to `query` (one section each, the best),
        postmortems naming one of `services` a little ahead; none that miss the similarity floor."""
        query = query[:MAX_QUERY].strip()
        if not query:
            return []
        key = (query, tuple(services))
        with self._lock:
            self._index()
            if key in self._similar:
                return self._similar[key]
        try:
            hits = retrieval.search(
                kb=self.kb,
                query=query,
                top_k=MAX_SIMILAR * 4,
                kind="postmortem",
                prefer=list(services),
            )
        except (InvalidInput, RetrievalUnavailable):
            # An aid on the candidate: without it the view still shows everything else.
            return []
        verdict = retrieval.match_strength(hits, floor=self.kb.settings.abstain_below)
        found: list[Found] = []
        if hits and not verdict.no_match:
            floor = max(self.kb.settings.abstain_below, SIMILAR_FLOOR)
            for hit in hits:
                if len(found) >= MAX_SIMILAR:
                    break
                if any(f.chunk.source == hit.chunk.source for f in found):
                    continue
                if not past.close_enough(hit, floor=floor, ratio=SIMILAR_RATIO, best=hits[0].score):
                    continue
                score = retrieval.display_score(hit.score) * verdict.scale
                found.append(Found(hit.chunk, score, "search"))
        with self._lock:
            if len(self._similar) > 1024:
                self._similar.clear()
            self._similar[key] = found
        return found


def _keep_first(index: dict[str, Chunk], key: str, chunk: Chunk) -> None:
    """The document's first section (its overview or meaning) stands for it."""
    held = index.get(key)
    if held is None or (held.source == chunk.source and chunk.ordinal < held.ordinal):
        index[key] = chunk
