"""Benchmark one revision against another with the same interpreter, corpus and limit.

    python -m evals.bench_compare [--base REV] [--head REV] [--limit N] [--rounds N] [--json]

Both revisions are checked out into temporary git worktrees (removed afterwards) and
`python -m evals.bench --json` runs in each with this interpreter, importing that worktree's own
packages (checked before the first run) and none of the caller's `COPILOT_*` settings, so both
measure the embedded default. Runs alternate base, head, base, head...: load from other work on
the machine lands on both alike. Each round gives head/base ratios; the median over rounds is the
figure. Peak RSS is each run's maximum resident set (wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora"
# The parent of "One relational database (issue 17, part 1)": the embedded default before the
# scale-out work.
DEFAULT_BASE = "5983d6e^"

# (label, path in the bench's JSON, True when higher is better)
FIGURES: list[tuple[str, tuple[str, ...], bool]] = [
    ("ingest chunks/s", ("ingest", "chunks_per_s"), True),
    ("ingest / raw embedding", ("ingest", "ratio"), True),
    ("re-ingest unchanged s", ("ingest", "reingest_unchanged_s"), False),
    ("search p50 ms", ("search", "p50_ms"), False),
    ("search p99 ms", ("search", "p99_ms"), False),
    ("search p50 / floor p50", ("search", "ratio"), False),
    ("ask p50 ms", ("search", "ask_p50_ms"), False),
    ("ask p99 ms", ("search", "ask_p99_ms"), False),
    ("peak RSS MB", ("peak_rss_mb",), False),
]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@contextmanager
def worktree(rev: str, parent: Path) -> Iterator[Path]:
    """Check `rev` out, detached, under `parent`; removed on exit."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    path = parent / sha[:12]
    _git("worktree", "add", "--detach", "--quiet", str(path), sha)
    try:
        yield path
    finally:
        _git("worktree", "remove", "--force", str(path))


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


def check_imports(tree: Path) -> str:
    """Fail unless a process started like the bench imports copilot from `tree`."""
    out = subprocess.run(
        [sys.executable, "-c", "import copilot, ingest; print(copilot.__file__, ingest.__file__)"],
        cwd=tree,
        env=_env(tree),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not all(Path(f).resolve().is_relative_to(tree.resolve()) for f in out):
        raise SystemExit(f"{tree}: imports {out}, not its own packages")
    return out[0]


def run_bench(tree: Path, bench_args: list[str]) -> dict[str, Any]:
    """One `python -m evals.bench --json` in `tree`, with its peak RSS."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evals.bench", "--json", *bench_args],
            cwd=tree,
            env=_env(tree),
            stdout=subprocess.PIPE,
            stderr=err,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        # wait4 rather than proc.wait(): it also gives the child's resource usage.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace")[-4000:])
            raise SystemExit(f"bench failed in {tree} (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    return result


def _get(result: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = result
    for key in path:
        value = value[key]
    return float(value)


def _summary(run: dict[str, Any]) -> str:
    i, s = run["ingest"], run["search"]
    return (
        f"{i['chunks']} chunks, {i['chunks_per_s']} chunks/s, "
        f"re-ingest {i['reingest_unchanged_s']} s, search p50 {s['p50_ms']} ms "
        f"p99 {s['p99_ms']} ms, peak RSS {run['peak_rss_mb']} MB"
    )


def compare(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for label, path, higher_better in FIGURES:
        pairs = [(_get(b, path), _get(h, path)) for b, h in zip(base, head, strict=True)]
        ratios = [h / b if b else float("nan") for b, h in pairs]
        figures[label] = {
            "base": [b for b, _ in pairs],
            "head": [h for _, h in pairs],
            "ratios": [round(r, 3) for r in ratios],
            "ratio": round(statistics.median(ratios), 3),
            "higher_is_better": higher_better,
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_compare", description=__doc__)
    parser.add_argument("--base", default=DEFAULT_BASE, help=f"default {DEFAULT_BASE}")
    parser.add_argument("--head", default="HEAD", help="default HEAD (committed, not the tree)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, help="only the first N files (a quick run)")
    parser.add_argument("--repeats", type=int, default=1, help="passes over the query set")
    parser.add_argument("--rounds", type=int, default=2, help="base+head pairs, interleaved")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus} is not a directory")
    bench_args = ["--corpus", str(args.corpus.resolve()), "--repeats", str(args.repeats)]
    if args.limit:
        bench_args += ["--limit", str(args.limit)]

    runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
    revs = {
        "base": _git("rev-parse", "--short", f"{args.base}^{{commit}}"),
        "head": _git("rev-parse", "--short", f"{args.head}^{{commit}}"),
    }
    parent = Path(tempfile.mkdtemp(prefix="copilot-bench-compare-"))
    try:
        with worktree(args.base, parent) as base_tree, worktree(args.head, parent) as head_tree:
            trees = {"base": base_tree, "head": head_tree}
            for name, tree in trees.items():
                imported = check_imports(tree)
                if not args.json:
                    print(f"{name} {revs[name]}: copilot from {imported}", flush=True)
            for round_ in range(1, args.rounds + 1):
                for name, tree in trees.items():
                    runs[name].append(run_bench(tree, bench_args))
                    if not args.json:
                        print(f"round {round_} {name}: {_summary(runs[name][-1])}", flush=True)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
        _git("worktree", "prune")

    chunks = {n: {r["ingest"]["chunks"] for r in rs} for n, rs in runs.items()}
    figures = compare(runs["base"], runs["head"])
    if args.json:
        print(json.dumps({"revs": revs, "bench_args": bench_args, "runs": runs, "ratios": figures}))
        return 0
    if chunks["base"] != chunks["head"]:
        print(f"note: the revisions chunk the corpus differently: {chunks}")
    print(f"\nhead {revs['head']} / base {revs['base']}, median of {args.rounds} rounds:")
    for label, fig in figures.items():
        better = "higher" if fig["higher_is_better"] else "lower"
        print(f"  {label:<24} {fig['ratio']:>6}  ({better} is better; rounds {fig['ratios']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
