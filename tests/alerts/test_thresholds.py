"""What counts toward a candidate under the packaged rules: firing alerts that are actionable."""

from __future__ import annotations

from copilot.alerts.rules import RuleSet, Threshold
from copilot.incidents.db import IncidentStore
from tests.alerts.conftest import Clock, alert, payload
from tests.alerts.test_service import groups, send


def test_info_alerts_are_grouped_but_never_make_a_candidate(
    store: IncidentStore, rules: RuleSet
) -> None:
    body = payload(
        alert("CertificateExpiringSoon", service="search", severity="info"),
        alert("CacheHitRatioLow", service="search", severity="info", starts=1),
        alert("BatchJobSlow", service="search", severity="info", starts=2),
        alert("QueueDepthHigh", service="search", severity="none", starts=3),
    )
    result = send(store, rules, body)
    assert result.candidates == []
    (group,) = groups(store)
    assert group.status == "open"
    # Actionable alerts joining the same group count, and the info ones are shown with them.
    more = payload(
        alert("HighErrorRate", service="search", severity="critical", starts=4),
        alert("HighLatency", service="search", severity="warning", starts=4),
    )
    assert send(store, rules, more).candidates == [group.id]


def test_alerts_that_came_and_went_one_after_another_are_no_candidate(
    store: IncidentStore, rules: RuleSet, clock: Clock
) -> None:
    send(store, rules, payload(alert("BatchJobSlow", service="billing", severity="warning")))
    clock.set(5)
    send(
        store,
        rules,
        payload(
            alert(
                "BatchJobSlow",
                service="billing",
                severity="warning",
                status="resolved",
                starts=0,
                ends=4,
            )
        ),
    )
    clock.set(7)
    result = send(
        store,
        rules,
        payload(alert("QueueDepthHigh", service="billing", severity="warning", starts=6)),
    )
    (group,) = groups(store)  # one group (same service within the window), two names ...
    assert result.candidates == [] and group.status == "open"  # ... never firing together
    clock.set(8)
    overlapping = payload(alert("DiskIOHigh", service="billing", severity="warning", starts=7))
    assert send(store, rules, overlapping).candidates == [group.id]


def test_a_teams_own_rules_count_every_alert_unless_they_say_otherwise(
    store: IncidentStore, rules: RuleSet
) -> None:
    plain = rules.model_copy(
        update={
            "not_actionable": type(rules.not_actionable)(),
            "rules": [
                r.model_copy(update={"threshold": Threshold(alerts=3, names=2)})
                for r in rules.rules
            ],
        }
    )
    body = payload(
        alert("CertificateExpiringSoon", service="search", severity="info"),
        alert("CacheHitRatioLow", service="search", severity="info", starts=1),
    )
    assert len(send(store, plain, body).candidates) == 1


def test_one_firing_critical_alert_is_a_candidate_at_once(
    store: IncidentStore, rules: RuleSet
) -> None:
    """kube-prometheus pages a human on `severity: critical`: one sealed node is not something
    to wait for two more alerts about."""
    warning = payload(alert("KilnLeaseRenewalSlow", service="kiln", severity="warning"))
    assert send(store, rules, warning).candidates == []
    resolved = payload(
        alert("VaultSealed", service="vault", severity="critical", status="resolved", ends=1)
    )
    assert send(store, rules, resolved).candidates == []  # came and went: nothing to act on
    firing = payload(alert("VaultSealed", service="vault", severity="critical", pod="v-2"))
    (candidate,) = send(store, rules, firing).candidates
    assert {g.id: g.status for g in groups(store)}[candidate] == "candidate"
    # A team's own rules without `urgent` wait for the threshold.
    plain = rules.model_copy(update={"urgent": type(rules.urgent)()})
    other = payload(alert("OvenSealed", service="oven", severity="critical"))
    assert send(store, plain, other).candidates == []
