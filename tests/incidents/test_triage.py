"""Should we declare? The triage rules against the default taxonomy."""

from __future__ import annotations

from typing import Any

import pytest

from copilot.incidents.schemas import TriageRequest, TriageResponse
from copilot.incidents.severity import load_taxonomy
from copilot.incidents.triage import triage

TAXONOMY = load_taxonomy()


def run(**signals: Any) -> TriageResponse:
    return triage(taxonomy=TAXONOMY, request=TriageRequest(**signals))


@pytest.mark.parametrize(
    ("signals", "severity"),
    [
        ({"error_rate": 0.4, "customer_facing": True}, "SEV1"),
        ({"users_affected": 20000}, "SEV1"),  # users affected are customers
        ({"alerts": ["OrdersDataLoss"], "customer_facing": True}, "SEV1"),
        ({"error_rate": 0.06, "customer_facing": True}, "SEV2"),
        ({"latency_p99_ms": 4000, "revenue_per_hour": 50}, "SEV2"),
        ({"revenue_per_hour": 2500}, "SEV2"),
        ({"error_rate": 0.02, "customer_facing": True}, "SEV3"),
        ({"error_rate": 0.4}, "SEV3"),  # customer impact unknown: not rated high on a guess
        ({"error_rate": 0.4, "customer_facing": False}, "SEV3"),
        ({"duration_minutes": 45, "customer_facing": False, "error_rate": 0.001}, "SEV3"),
        ({"alerts": ["DiskFilling"]}, "SEV4"),  # nothing measured: in doubt, declare low
        ({"customer_facing": True, "error_rate": 0.005}, "SEV4"),
        ({"customer_facing": False, "error_rate": 0.001, "duration_minutes": 20}, "SEV4"),
    ],
)
def test_suggested_severity(signals: dict[str, Any], severity: str) -> None:
    result = run(**signals)
    assert result.declare is True
    assert result.severity == severity
    assert result.reasons


def test_a_quiet_internal_alert_is_not_declared() -> None:
    result = run(
        alerts=["BatchJobSlow"], customer_facing=False, error_rate=0.002, latency_p99_ms=300
    )
    assert result.declare is False
    assert result.severity is None
    assert result.reasons[0] == "not customer-facing, no users or revenue affected"


def test_reasons_explain_the_decision() -> None:
    held = run(error_rate=0.4)
    assert held.reasons[0] == "SEV3: error rate 40.0% >= 1.0%"
    assert any(
        "SEV1 thresholds reached" in r and "customer impact is not established" in r
        for r in held.reasons
    )
    doubt = run(alerts=["DiskFilling"])
    assert doubt.reasons == [
        "in doubt, declare low (SEV4): whether customers are affected is unknown",
        "in doubt, declare low (SEV4): no error rate or latency measured",
    ]
    assert doubt.update_cadence_minutes == 1440
    assert doubt.response_targets == {
        "declare_minutes": None,
        "mitigate_minutes": None,
        "resolve_minutes": 10080,
    }


def test_triage_is_deterministic() -> None:
    signals = {"alerts": ["CheckoutErrors"], "error_rate": 0.07, "customer_facing": True}
    assert run(**signals) == run(**signals)


@pytest.mark.parametrize(
    ("signals", "severity"),
    [
        ({"services": ["checkout-api"], "error_rate": 0.2}, "SEV2"),
        ({"services": ["payments-gateway"], "error_rate": 0.3}, "SEV1"),
        ({"alerts": ["CheckoutErrorRateHigh"], "error_rate": 0.2}, "SEV2"),
        ({"alerts": ["LoginFailures"], "latency_p99_ms": 4000}, "SEV2"),
        ({"alerts": ["Customers cannot pay"], "error_rate": 0.1}, "SEV2"),
        ({"services": ["web-storefront", "mobile-bff"], "error_rate": 0.08}, "SEV2"),
        # Names that only look like it, and an explicit "no", stay below the customer levels.
        ({"services": ["search-indexer"], "error_rate": 0.2}, "SEV3"),
        ({"services": ["object-store"], "error_rate": 0.2}, "SEV3"),
        ({"services": ["checkout-api"], "error_rate": 0.2, "customer_facing": False}, "SEV3"),
    ],
)
def test_customer_facing_is_inferred_from_services_and_alerts(
    signals: dict[str, Any], severity: str
) -> None:
    assert run(**signals).severity == severity


def test_an_inferred_customer_impact_is_said_and_can_be_overruled() -> None:
    result = run(services=["checkout-api"], error_rate=0.2)
    assert result.reasons[0] == (
        "customer-facing inferred from service 'checkout-api'; if customers cannot see it, say "
        "so (customer_facing: false, or --internal)"
    )
    assert result.reasons[1] == "SEV2: error rate 20.0% >= 5.0%"
    assert not any("inferred" in r for r in run(error_rate=0.2).reasons)
