"""Prometheus metrics of the copilot's work, defined once and observed where the work happens.

`/metrics` serves them (with the per-route request histogram of `copilot.api.app`). Label values
are small fixed sets: never a query, a path from a request or a key name.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram

P = ParamSpec("P")
R = TypeVar("R")

RETRIEVAL_SECONDS = Histogram(
    "copilot_retrieval_seconds",
    "Latency of one hybrid retrieval (embed the query, dense + keyword search, fuse)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RETRIEVAL_DEGRADED = Counter(
    "copilot_retrieval_degraded_total",
    "Hybrid searches answered from keywords only because the vector store did not answer",
)
MODEL_CALLS = Counter(
    "copilot_model_calls_total",
    "Chat model calls by outcome (ok, timeout, error)",
    ["outcome"],
)
MODEL_SECONDS = Histogram(
    "copilot_model_call_seconds",
    "Latency of chat model calls, failed ones included",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
GUARDRAIL_TRIGGERS = Counter(
    "copilot_guardrail_triggers_total",
    "Guardrail interventions by kind (redaction, injection_passage, injection_question, "
    "blocked, requires_approval, abstained, fallback)",
    ["kind"],
)
INGEST_RUNS = Counter("copilot_ingest_runs_total", "Ingest runs completed")
INGEST_FILES = Counter(
    "copilot_ingest_files_total",
    "Files seen by ingest, by outcome (added, updated, unchanged, removed, failed)",
    ["outcome"],
)
INGEST_CHUNKS = Counter(
    "copilot_ingest_chunks_total", "Chunks written by ingest, and how many were embedded", ["stage"]
)
HTTP_REJECTED = Counter(
    "copilot_http_rejected_total",
    "Requests refused before reaching a route, by reason "
    "(unauthenticated, forbidden, rate_limited, too_large)",
    ["reason"],
)
AUDIT_RECORDS = Counter(
    "copilot_audit_records_total",
    "Copilot outputs recorded in the audit log, by outcome",
    ["outcome"],
)


def timed(histogram: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Observe the duration of every call of the decorated function in `histogram`."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return wrapper

    return decorate


def model_called(outcome: str, seconds: float) -> None:
    """Count one chat model call (outcome: ok, timeout or error) and its latency."""
    MODEL_CALLS.labels(outcome).inc()
    MODEL_SECONDS.observe(seconds)


def guardrail_triggered(kind: str, count: int = 1) -> None:
    if count > 0:
        GUARDRAIL_TRIGGERS.labels(kind).inc(count)


def observe_ingest(summary: dict[str, Any]) -> None:
    """Count one finished ingest from its `IngestReport.summary()`."""
    INGEST_RUNS.inc()
    for outcome in ("added", "updated", "unchanged", "removed", "failed"):
        value = summary.get(outcome, 0)
        if isinstance(value, int) and value:
            INGEST_FILES.labels(outcome).inc(value)
    for stage, key in (("written", "chunks"), ("embedded", "embedded")):
        value = summary.get(key, 0)
        if isinstance(value, int) and value:
            INGEST_CHUNKS.labels(stage).inc(value)


def observe_answer(response: Any) -> None:
    """Count the guardrail interventions in an answer (ask's response, or a draft like it)."""
    guard = getattr(response, "guardrails", None)
    if guard is not None:
        guardrail_triggered("redaction", int(getattr(guard, "redactions", 0) or 0))
        guardrail_triggered("injection_passage", len(getattr(guard, "injection_suspected", ())))
        for item in getattr(guard, "blocked", ()):
            screened = str(item).startswith("instructions in the question")
            guardrail_triggered("injection_question" if screened else "blocked")
    steps = getattr(response, "steps", ())
    flagged = sum(bool(getattr(step, "requires_approval", False)) for step in steps)
    guardrail_triggered("requires_approval", flagged)
    if getattr(response, "abstained", False):
        guardrail_triggered("abstained")
    if getattr(response, "fallback", None):
        guardrail_triggered("fallback")
