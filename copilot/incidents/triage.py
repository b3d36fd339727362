"""Should we declare? Deterministic rules read from the severity taxonomy.

The most severe level whose thresholds a signal reaches wins. Levels marked customer-facing-only
need evidence that customers are affected (customer_facing, users or revenue affected, or a service
or alert that names a customer-facing surface such as checkout, payments or login, or customers
themselves); without it the alert falls to a lower level rather than being rated high on a guess.
An explicit `customer_facing: false` always wins over what the names suggest. No incident is
declared only when the alert is known not to face customers and every measured signal is quiet.
Anything in between is declared at the lowest level: in doubt, declare low (and lower or close it
later).
"""

from __future__ import annotations

import re

from copilot.incidents.schemas import TriageRequest, TriageResponse
from copilot.incidents.severity import SeverityLevel, Taxonomy, TriageThresholds

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# CheckoutErrorRate -> Checkout Error Rate; HTTPErrors -> HTTP Errors.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# Words in a service or alert name that mean customers use it directly. Whole words only, so
# `search-indexer` or `object-store` do not count; a name that is not here is not evidence either
# way (the request's customer_facing says so).
_CUSTOMER_SURFACES = frozenset(
    {
        "checkout",
        "cart",
        "basket",
        "payment",
        "payments",
        "billing",
        "login",
        "signin",
        "signup",
        "storefront",
        "frontend",
        "website",
        "web",
        "mobile",
        "bff",
        "cdn",
    }
)
_CUSTOMER_PHRASES = ("api gateway", "user facing", "customer facing", "public api")
_CUSTOMER_WORDS = frozenset({"customer", "customers", "shopper", "shoppers"})


def _norm(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def _words(text: str) -> list[str]:
    return [w for w in _NON_ALNUM.split(_CAMEL.sub(" ", text).lower()) if w]


def _customer_facing_evidence(r: TriageRequest) -> str | None:
    """The first service or alert whose name says customers use it, as a reason; else None."""
    for kind, names in (("service", r.services), ("alert", r.alerts)):
        for name in names:
            words = _words(name)
            joined = " ".join(words)
            if (
                _CUSTOMER_SURFACES.intersection(words)
                or _CUSTOMER_WORDS.intersection(words)
                or any(phrase in joined for phrase in _CUSTOMER_PHRASES)
            ):
                return f"{kind} {name[:80]!r}"
    return None


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:g}"


def _matches(rule: TriageThresholds, r: TriageRequest) -> list[str]:
    hits: list[str] = []
    if rule.error_rate is not None and r.error_rate is not None and r.error_rate >= rule.error_rate:
        hits.append(f"error rate {r.error_rate:.1%} >= {rule.error_rate:.1%}")
    if (
        rule.latency_p99_ms is not None
        and r.latency_p99_ms is not None
        and r.latency_p99_ms >= rule.latency_p99_ms
    ):
        hits.append(f"p99 latency {_num(r.latency_p99_ms)} ms >= {_num(rule.latency_p99_ms)} ms")
    if (
        rule.users_affected is not None
        and r.users_affected is not None
        and r.users_affected >= rule.users_affected
    ):
        hits.append(f"{r.users_affected:,} users affected >= {rule.users_affected:,}")
    if (
        rule.revenue_per_hour is not None
        and r.revenue_per_hour is not None
        and r.revenue_per_hour >= rule.revenue_per_hour
    ):
        hits.append(
            f"revenue at risk {_num(r.revenue_per_hour)}/h >= {_num(rule.revenue_per_hour)}/h"
        )
    if (
        rule.duration_minutes is not None
        and r.duration_minutes is not None
        and r.duration_minutes >= rule.duration_minutes
    ):
        hits.append(f"lasting {_num(r.duration_minutes)} min >= {_num(rule.duration_minutes)} min")
    for alert in r.alerts:
        for pattern in rule.alert_patterns:
            if _norm(pattern) and _norm(pattern) in _norm(alert):
                hits.append(f"alert {alert!r} matches {pattern!r}")
                break
    return hits


def _respond(level: SeverityLevel, reasons: list[str]) -> TriageResponse:
    return TriageResponse(
        declare=True,
        severity=level.id,
        severity_name=level.name,
        definition=level.definition,
        update_cadence_minutes=level.update_cadence_minutes,
        response_targets=level.response_targets.model_dump(),
        reasons=reasons,
    )


def triage(*, taxonomy: Taxonomy, request: TriageRequest) -> TriageResponse:
    """Suggest whether to declare and at which severity, with the reasons."""
    r = request
    affected = bool(r.users_affected) or bool(r.revenue_per_hour)
    evidence = None
    if r.customer_facing is None and not affected:
        evidence = _customer_facing_evidence(r)
    customers = r.customer_facing is True or affected or evidence is not None
    # Said first, so whoever reads the suggestion can overrule the guess.
    inferred = (
        [
            f"customer-facing inferred from {evidence}; if customers cannot see it, say so "
            "(customer_facing: false, or --internal)"
        ]
        if evidence
        else []
    )
    held_back: list[str] = []
    for level in taxonomy.levels:
        if level.triage is None:
            continue
        hits = _matches(level.triage, r)
        if not hits:
            continue
        if level.triage.customer_facing_only and not customers:
            held_back.append(
                f"{level.id} thresholds reached ({'; '.join(hits)}) but customer impact is not "
                f"established; raise to {level.id} if customers are affected"
            )
            continue
        return _respond(level, inferred + [f"{level.id}: {h}" for h in hits] + held_back)

    quiet = taxonomy.triage.quiet
    measured = r.error_rate is not None or r.latency_p99_ms is not None
    loud: list[str] = []
    if r.error_rate is not None and r.error_rate >= quiet.error_rate:
        loud.append(f"error rate {r.error_rate:.1%} is not below {quiet.error_rate:.1%}")
    if r.latency_p99_ms is not None and r.latency_p99_ms >= quiet.latency_p99_ms:
        loud.append(
            f"p99 latency {_num(r.latency_p99_ms)} ms is not below {_num(quiet.latency_p99_ms)} ms"
        )
    if r.duration_minutes is not None and r.duration_minutes >= quiet.duration_minutes:
        loud.append(
            f"lasting {_num(r.duration_minutes)} min, not below {_num(quiet.duration_minutes)} min"
        )

    if r.customer_facing is False and not affected and measured and not loud:
        reasons = ["not customer-facing, no users or revenue affected"]
        if r.error_rate is not None:
            reasons.append(f"error rate {r.error_rate:.1%} below {quiet.error_rate:.1%}")
        if r.latency_p99_ms is not None:
            reasons.append(
                f"p99 latency {_num(r.latency_p99_ms)} ms below {_num(quiet.latency_p99_ms)} ms"
            )
        if r.duration_minutes is not None:
            reasons.append(
                f"lasting {_num(r.duration_minutes)} min, below {_num(quiet.duration_minutes)} min"
            )
        reasons.append("handle it as an alert; declare if it grows or customers notice")
        return TriageResponse(
            declare=False,
            severity=None,
            severity_name=None,
            definition=None,
            update_cadence_minutes=None,
            response_targets=None,
            reasons=reasons,
        )

    doubts: list[str] = []
    if r.customer_facing is None and not affected:
        doubts.append("whether customers are affected is unknown")
    elif customers:
        doubts.append("customers are affected, below every higher level's thresholds")
    if not measured:
        doubts.append("no error rate or latency measured")
    doubts += loud
    lowest = taxonomy.lowest
    return _respond(
        lowest,
        inferred + [f"in doubt, declare low ({lowest.id}): {d}" for d in doubts] + held_back,
    )
