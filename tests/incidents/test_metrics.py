"""Metric arithmetic on incident snapshots (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from copilot.errors import InvalidInput
from copilot.incidents.metrics import (
    TARGETS,
    Snapshot,
    cadence,
    due_after,
    incident_metrics,
    parse_since,
    stat,
)
from copilot.incidents.severity import load_taxonomy
from tests.incidents.conftest import T0

TAXONOMY = load_taxonomy()


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def snap(**fields: object) -> Snapshot:
    base: dict[str, object] = {
        "id": "INC-1",
        "severity": "SEV2",
        "status": "mitigating",
        "declared_at": t(0),
        "initial_severity": "SEV2",
    }
    return Snapshot(**{**base, **fields})  # type: ignore[arg-type]


def test_due_after_uses_the_severity_in_force() -> None:
    s = snap(severity="SEV1", severity_changes=((t(100), "SEV1"),))
    assert due_after(s, t(0), TAXONOMY) == t(60)  # SEV2 until 100: 60 minutes
    assert due_after(s, t(100), TAXONOMY) == t(130)  # SEV1 from 100: 30 minutes


def test_raising_severity_brings_the_deadline_forward_and_lowering_never_delays_it() -> None:
    raised = snap(severity="SEV1", severity_changes=((t(10), "SEV1"),))
    assert due_after(raised, t(0), TAXONOMY) == t(40)
    lowered = snap(severity="SEV4", severity_changes=((t(10), "SEV4"),))
    assert due_after(lowered, t(0), TAXONOMY) == t(60)


def test_cadence_counts_late_gaps_until_resolution() -> None:
    s = snap(status="resolved", resolved_at=t(300), status_updates=(t(50), t(170), t(200)))
    c = cadence(s, TAXONOMY, now=t(1000))
    # 0->50 ok, 50->170 late, 170->200 ok, 200->300 late (resolution 100 min after an update).
    assert (c.intervals, c.breaches, c.compliance) == (4, 2, 0.5)
    assert c.longest_gap_s == 120 * 60
    assert c.next_update_due is None and c.overdue is False
    assert c.last_update_at == t(200)


def test_updates_after_resolution_do_not_count_as_gaps() -> None:
    s = snap(status="resolved", resolved_at=t(30), status_updates=(t(20), t(500)))
    c = cadence(s, TAXONOMY, now=t(1000))
    assert (c.intervals, c.breaches, c.updates_published) == (2, 0, 2)


def test_an_open_incident_is_overdue_once_the_cadence_passes() -> None:
    s = snap(status_updates=(t(30),))
    on_time = cadence(s, TAXONOMY, now=t(89))
    assert (on_time.next_update_due, on_time.overdue, on_time.breaches) == (t(90), False, 0)
    late = cadence(s, TAXONOMY, now=t(91))
    assert (late.overdue, late.intervals, late.breaches) == (True, 2, 1)


def test_response_times_fall_back_to_the_declaration_when_detection_is_unknown() -> None:
    s = snap(status="resolved", mitigated_at=t(25), resolved_at=t(90))
    m = incident_metrics(s, TAXONOMY, now=t(1000))
    assert m.measured_from == "declared"
    assert (m.time_to_mitigate_s, m.time_to_resolve_s) == (25 * 60, 90 * 60)
    assert (m.impact.start, m.impact.start_from, m.impact.duration_s) == (t(0), "declared", 1500)
    assert set(m.targets) == {"mitigate", "resolve"}

    known = incident_metrics(
        snap(status="resolved", detected_at=t(-5), mitigated_at=t(25), resolved_at=t(90)),
        TAXONOMY,
        now=t(1000),
    )
    assert known.measured_from == "detected" and known.time_to_mitigate_s == 30 * 60
    assert known.impact.start_from == "detected" and set(known.targets) == set(TARGETS)


def test_an_open_incident_with_no_detection_time_misses_targets_counted_from_declaration() -> None:
    m = incident_metrics(snap(severity="SEV1", initial_severity="SEV1"), TAXONOMY, now=t(61))
    assert m.time_to_mitigate_s is None and m.impact.ongoing is True
    assert m.targets["mitigate"].met is False  # SEV1: mitigate within 60 minutes


def test_stat() -> None:
    assert stat([None, 3.0, 1.0, 2.0, 10.0]).model_dump() == {"count": 4, "mean": 4.0, "p50": 2.5}
    assert stat([None]).model_dump() == {"count": 0, "mean": None, "p50": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", T0 - timedelta(days=30)),
        ("12h", T0 - timedelta(hours=12)),
        (" 90m ", T0 - timedelta(minutes=90)),
        ("2W", T0 - timedelta(weeks=2)),
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),
        ("2026-02-01T10:00:00+02:00", datetime(2026, 2, 1, 8, tzinfo=UTC)),
        ("2026-02-01T10:00:00Z", datetime(2026, 2, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, now=T0) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "30 days", "-5d", "2026-13-01"])
def test_parse_since_rejects_nonsense(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^since: "):
        parse_since(text, now=T0)
