"""Benchmark: ingest throughput against raw embedding, re-ingest, search latency against a floor.

    python -m evals.bench [--corpus DIR] [--limit N] [--json]

Every figure is measured in the same run as its baseline, so the ratios hold on any machine:
- ingest chunks/s beside the raw throughput of the same model on the same chunk texts;
- re-ingest of the unchanged corpus;
- search p50/p99 in-process beside the floor: query embedding plus exact numpy top-k over the
  same vectors;
- the injection detector at start-up: reading the fit a data directory keeps, beside fitting
  it (embedding its exemplars), with the same model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from copilot.assist import service as assist
from copilot.embedding import Embedder, set_threads
from copilot.guardrails.semantic import SemanticDetector
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from evals.common import cpu_count, load_jsonl, temporary_kb
from ingest.chunking import chunk_document
from ingest.markdown import ParseError, parse_markdown
from ingest.pipeline import _decode, _read_bytes, default_kind, discover, ingest_paths

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora"
QUERY_FILES = sorted((REPO / "evals" / "datasets").glob("*.jsonl"))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def chunk_texts(roots: list[Path], kb: KnowledgeBase) -> list[str]:
    texts: list[str] = []
    for root in roots:
        base = root.parent if root.is_file() else root
        for path in discover(root):
            rel = path.relative_to(base)
            try:
                doc = parse_markdown(
                    _decode(_read_bytes(path)),
                    fallback_title=path.stem,
                    default_kind=default_kind(rel),
                )
            except (OSError, ParseError):
                continue
            texts += [
                c.embed_text
                for c in chunk_document(
                    doc,
                    source=rel.as_posix(),
                    max_words=kb.settings.chunk_max_words,
                    overlap_words=kb.settings.chunk_overlap_words,
                )
            ]
    return texts


def limited_corpus(corpus: Path, limit: int | None, tmp: Path) -> list[Path]:
    if not limit:
        return [corpus]
    files = discover(corpus)[:limit]
    out = tmp / "corpus"
    for f in files:
        target = out / f.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
    return [out]


def bench_ingest(kb: KnowledgeBase, roots: list[Path]) -> dict[str, float]:
    texts = chunk_texts(roots, kb)
    kb.embedder.embed(texts[:64])  # warm-up: first calls allocate
    started = time.perf_counter()
    kb.embedder.embed(texts)
    raw_s = time.perf_counter() - started

    report = ingest_paths(kb, roots, progress=False)
    pipeline_s = report.seconds
    again = ingest_paths(kb, roots, progress=False)
    assert not again.added and not again.updated, "re-ingest should find nothing to do"
    chunks = report.chunks
    return {
        "files": len(report.added),
        "chunks": chunks,
        "chunks_per_s": round(chunks / pipeline_s, 2),
        "raw_embed_chunks_per_s": round(len(texts) / raw_s, 2),
        "ratio": round((chunks / pipeline_s) / (len(texts) / raw_s), 3),
        "reingest_unchanged_s": round(again.seconds, 3),
    }


def bench_search(kb: KnowledgeBase, queries: list[str], repeats: int) -> dict[str, float]:
    set_threads(kb.settings.serve_threads)
    chunks = kb.all_chunks()
    ids = [c.id for c in chunks]
    vectors = kb.vectors_for(ids)
    matrix = np.stack([vectors[i] for i in ids])
    top_k = kb.settings.top_k

    def floor(query: str) -> None:
        v = kb.embedder.embed_query(query)
        scores = matrix @ v
        best = np.argpartition(-scores, top_k)[:top_k]
        best[np.argsort(-scores[best])]

    def ours(query: str) -> None:
        retrieval.search(kb=kb, query=query, top_k=top_k)

    def answer(query: str) -> None:
        assist.ask(kb=kb, question=query)

    timings: dict[str, list[float]] = {"floor": [], "ours": [], "ask": []}
    for q in queries[:5]:  # warm-up
        floor(q)
        ours(q)
        answer(q)
    for _ in range(repeats):
        for q in queries:
            # Interleaved, so that noise from the machine lands on all alike. Each call starts
            # with an empty query cache: every one of them pays for its embedding.
            for name, fn in (("floor", floor), ("ours", ours), ("ask", answer)):
                kb.embedder.clear_cache()
                started = time.perf_counter()
                fn(q)
                timings[name].append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(timings["ours"])
    floor_p50 = statistics.median(timings["floor"])
    ask_p50 = statistics.median(timings["ask"])
    return {
        "queries": len(timings["ours"]),
        "p50_ms": round(p50, 2),
        "p99_ms": round(percentile(timings["ours"], 99), 2),
        "floor_p50_ms": round(floor_p50, 2),
        "floor_p99_ms": round(percentile(timings["floor"], 99), 2),
        "ratio": round(p50 / floor_p50, 3),
        "ask_p50_ms": round(ask_p50, 2),
        "ask_p99_ms": round(percentile(timings["ask"], 99), 2),
        "ask_to_search_ratio": round(ask_p50 / p50, 3),
    }


def bench_detector(embedder: Embedder, folder: Path) -> dict[str, float]:
    """Seconds to fit the detector (the first start) and to read the kept fit (every later one)."""
    started = time.perf_counter()
    SemanticDetector(embedder, kept_in=folder).warm()  # fits, and keeps the fit
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    read = SemanticDetector(embedder, kept_in=folder)
    read.warm()
    read_s = time.perf_counter() - started
    if read.fit_source != "read":
        raise RuntimeError("the kept fit was not read back")
    return {"fit_s": round(fit_s, 3), "read_s": round(read_s, 3), "ratio": round(read_s / fit_s, 4)}


def run(corpus: Path, *, limit: int | None, repeats: int) -> dict[str, Any]:
    import tempfile

    queries = [q.get("query") or q["question"] for f in QUERY_FILES for q in load_jsonl(f)]
    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
        roots = limited_corpus(corpus, limit, Path(tmp))
        set_threads(cpu_count())
        embedder = Embedder()
        with temporary_kb(embedder=embedder) as kb:
            ingest = bench_ingest(kb, roots)
            search = bench_search(kb, queries, repeats)
        set_threads(cpu_count())  # as the server's start-up work
        detector = bench_detector(embedder, Path(tmp) / "fits")
    return {"corpus": str(corpus), "ingest": ingest, "search": search, "detector": detector}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, help="only the first N files (a quick run)")
    parser.add_argument("--repeats", type=int, default=1, help="passes over the query set")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus} is not a directory")
    result = run(args.corpus, limit=args.limit, repeats=args.repeats)
    if args.json:
        print(json.dumps(result))
        return 0
    i, s = result["ingest"], result["search"]
    print(f"corpus: {result['corpus']} ({i['files']} files, {i['chunks']} chunks)")
    print(
        f"ingest: {i['chunks_per_s']} chunks/s vs raw embedding {i['raw_embed_chunks_per_s']} "
        f"chunks/s -> ratio {i['ratio']}; unchanged re-ingest {i['reingest_unchanged_s']} s"
    )
    print(
        f"search: p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms vs floor p50 {s['floor_p50_ms']} ms "
        f"-> ratio {s['ratio']} ({s['queries']} searches)"
    )
    print(
        f"ask (extractive): p50 {s['ask_p50_ms']} ms, p99 {s['ask_p99_ms']} ms "
        f"-> {s['ask_to_search_ratio']}x search p50"
    )
    d = result["detector"]
    print(
        f"injection detector at start: read the kept fit {d['read_s']} s vs fit {d['fit_s']} s "
        f"-> ratio {d['ratio']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
