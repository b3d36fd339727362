"""Alert state and correlation, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from copilot.alerts import intake, service
from copilot.alerts import models as am
from copilot.alerts.rules import RuleSet
from copilot.alerts.schemas import AlertmanagerPayload, IntakeResult
from copilot.incidents.db import IncidentStore
from tests.alerts.conftest import Clock, alert, payload


def send(store: IncidentStore, rules: RuleSet, body: dict[str, Any]) -> IntakeResult:
    notification = intake.normalise(AlertmanagerPayload.model_validate(body), source="alertmanager")
    return service.apply(store=store, rules=rules, notification=notification)


def rows(store: IncidentStore) -> list[am.Alert]:
    with store.read() as session:
        return list(session.scalars(select(am.Alert).order_by(am.Alert.id)))


def groups(store: IncidentStore) -> list[am.AlertGroup]:
    with store.read() as session:
        return list(session.scalars(select(am.AlertGroup).order_by(am.AlertGroup.id)))


def test_a_repeated_notification_changes_nothing(store: IncidentStore, rules: RuleSet) -> None:
    body = payload(
        alert("HighErrorRate", service="checkout-api", severity="critical"),
        alert("HighLatency", service="checkout-api"),
    )
    first = send(store, rules, body)
    assert (first.duplicate, first.new) == (False, 2)
    before = [
        (r.fingerprint, r.status, r.notifications, r.last_seen, r.group_id) for r in rows(store)
    ]
    again = send(store, rules, body)
    assert again.duplicate and again.new == 0 and again.changed == 0
    assert again.groups == first.groups
    after = [
        (r.fingerprint, r.status, r.notifications, r.last_seen, r.group_id) for r in rows(store)
    ]
    assert after == before


def test_one_row_per_fingerprint_and_a_flap_within_the_window(
    store: IncidentStore, rules: RuleSet, clock: Clock
) -> None:
    send(store, rules, payload(alert("DiskFull", service="orders-db", starts=0)))
    clock.set(6)
    send(
        store,
        rules,
        payload(alert("DiskFull", service="orders-db", status="resolved", starts=0, ends=5)),
    )
    (row,) = rows(store)
    assert (row.status, row.flaps) == ("resolved", 0)
    assert row.ends_at is not None and row.ends_at.minute == 5
    clock.set(11)
    result = send(store, rules, payload(alert("DiskFull", service="orders-db", starts=10)))
    assert result.flaps == 1 and result.new == 0
    (row,) = rows(store)
    assert (row.status, row.flaps, row.ends_at) == ("firing", 1, None)
    assert len(groups(store)) == 1


def test_a_refire_after_the_flap_window_is_a_new_episode_in_a_new_group(
    store: IncidentStore, rules: RuleSet, clock: Clock
) -> None:
    send(store, rules, payload(alert("DiskFull", service="orders-db", starts=0)))
    send(
        store,
        rules,
        payload(alert("DiskFull", service="orders-db", status="resolved", starts=0, ends=5)),
    )
    clock.set(120)
    result = send(store, rules, payload(alert("DiskFull", service="orders-db", starts=119)))
    assert (result.new, result.changed, result.flaps) == (0, 1, 0)
    (row,) = rows(store)
    assert row.flaps == 0 and row.status == "firing"
    assert len(groups(store)) == 2
    assert row.group_id == groups(store)[1].id


def test_a_late_older_firing_notification_does_not_reopen_a_resolved_alert(
    store: IncidentStore, rules: RuleSet
) -> None:
    send(
        store,
        rules,
        payload(alert("DiskFull", service="orders-db", status="resolved", starts=0, ends=5)),
    )
    stale = payload(alert("DiskFull", service="orders-db", starts=0), group_key="other")
    assert send(store, rules, stale).changed == 0
    assert rows(store)[0].status == "resolved"


def test_alerts_of_one_service_within_the_window_group_with_a_reason(
    store: IncidentStore, rules: RuleSet, clock: Clock
) -> None:
    send(store, rules, payload(alert("HighErrorRate", service="checkout-api", starts=0)))
    (group,) = groups(store)
    assert group.status == "open"  # one alert is not yet a situation
    clock.set(4)
    send(store, rules, payload(alert("HighLatency", service="checkout-api", starts=3)))
    send(store, rules, payload(alert("CartsRedisDown", service="carts", starts=3)))
    clock.set(40)
    send(
        store,
        rules,
        payload(alert("HighErrorRate", service="checkout-api", instance="b", starts=39)),
    )
    by_name = {(r.alertname, r.labels.get("instance")): r for r in rows(store)}
    checkout = by_name[("HighErrorRate", None)].group_id
    assert by_name[("HighLatency", None)].group_id == checkout
    assert by_name[("HighLatency", None)].group_reason == "same service checkout-api within 10 min"
    assert by_name[("HighErrorRate", None)].group_reason == "first alert of service checkout-api"
    assert by_name[("CartsRedisDown", None)].group_id != checkout
    late = by_name[("HighErrorRate", "b")]
    assert late.group_id not in (checkout, by_name[("CartsRedisDown", None)].group_id)
    statuses: dict[int | None, str] = {g.id: g.status for g in groups(store)}
    assert statuses[checkout] == "candidate"  # two distinct alert names
    assert statuses[late.group_id] == "open"


def test_without_the_rule_labels_the_notification_group_is_the_key(
    store: IncidentStore, rules: RuleSet
) -> None:
    send(
        store,
        rules,
        payload(alert("NodeDown", instance="a"), alert("NodeDown", instance="b"), group_key="g1"),
    )
    send(store, rules, payload(alert("NodeDown", instance="c"), group_key="g2"))
    found = {r.labels["instance"]: r for r in rows(store)}
    assert found["a"].group_id == found["b"].group_id != found["c"].group_id
    assert found["b"].group_reason == "same Alertmanager group within 10 min"


def test_a_heartbeat_is_tracked_never_grouped(
    store: IncidentStore, rules: RuleSet, clock: Clock
) -> None:
    for minute in (0, 5, 10):
        clock.set(minute)
        send(
            store,
            rules,
            payload(alert("Watchdog", severity="none", starts=0), group_key=f"w{minute}"),
        )
    (row,) = rows(store)
    assert row.heartbeat and row.group_id is None and row.notifications == 3
    assert groups(store) == []
    ages = service.heartbeat_ages(clock.now)
    assert ages["Watchdog"] == 0.0


def test_candidates_need_the_threshold(store: IncidentStore, rules: RuleSet) -> None:
    send(
        store,
        rules,
        payload(*[alert("PodRestarting", service="search", pod=f"p{i}") for i in range(2)]),
    )
    assert [g.status for g in groups(store)] == ["open"]
    send(
        store,
        rules,
        payload(*[alert("PodRestarting", service="search", pod=f"p{i}") for i in range(3)]),
    )
    assert [g.status for g in groups(store)] == ["candidate"]
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(am.Alert)) == 3


def test_a_list_screens_within_its_budget(store: IncidentStore, rules: RuleSet) -> None:
    send(store, rules, payload(alert("HighErrorRate", service="checkout-api", team="payments")))
    (row,) = rows(store)
    whole = service.alert_view(row)
    assert whole.labels["team"] == "payments"
    # The name, then the labels alertname and service fit; the rest does not.
    tight = service.alert_view(row, service.Budget(2 * len("HighErrorRate") + len("checkout-api")))
    shown = [*tight.labels.values(), *tight.annotations.values()]
    assert "HighErrorRate" in shown and "checkout-api" in shown
    assert tight.labels["team"] == service.WITHHELD
    assert tight.annotations["summary"] == service.WITHHELD
