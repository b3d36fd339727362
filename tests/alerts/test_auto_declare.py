"""Auto-declare by policy: off by default; a matching candidate declares with its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copilot.alerts import intake, service
from copilot.alerts.rules import RuleSet, load_rules
from copilot.alerts.schemas import AlertmanagerPayload, IntakeResult
from copilot.errors import ConfigError
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from tests.alerts.conftest import alert, payload

POLICY = """
auto_declare:
  - name: critical-in-production
    match: {severity: critical, env: production}
"""


def with_policies(tmp_path: Path, text: str) -> RuleSet:
    """The packaged rules with `text` (YAML) added, loaded as a team's own file would be."""
    packaged = (Path(service.__file__).parent / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    # Without the packaged `urgent` alerts, so that a critical alert waits for its threshold.
    urgent = 'urgent:\n  match_re:\n    severity: "critical|page"\n'
    assert urgent in packaged
    path.write_text(
        packaged.replace("auto_declare: []\n", "").replace(urgent, "") + text, encoding="utf-8"
    )
    return load_rules(path)


def send(store: IncidentStore, rules: RuleSet, body: dict[str, Any]) -> IntakeResult:
    notification = intake.normalise(AlertmanagerPayload.model_validate(body), source="alertmanager")
    return service.apply(store=store, rules=rules, notification=notification)


def storm(env: str) -> dict[str, Any]:
    return payload(
        alert("HighErrorRate", service="checkout-api", severity="critical", env=env, starts=0),
        alert("HighLatency", service="checkout-api", severity="warning", env=env, starts=1),
        alert("PodCrashLooping", service="checkout-api", env=env, pod="c-1", starts=2),
    )


def test_the_packaged_rules_never_declare_by_themselves(store: IncidentStore) -> None:
    rules = load_rules()
    assert rules.auto_declare == []
    result = send(store, rules, storm("production"))
    assert result.candidates and result.declared == []
    assert incidents.list_incidents(store=store) == []
    (group,) = service.list_groups(store=store, rules=rules, status="candidate")
    assert group.policy is None


def test_a_matching_candidate_is_declared_with_its_reason_on_the_timeline(
    store: IncidentStore, tmp_path: Path
) -> None:
    rules = with_policies(tmp_path, POLICY)
    # Two alerts: below the threshold, so no candidate yet and nothing declared.
    body = storm("production")
    first = payload(*body["alerts"][:1])
    assert send(store, rules, first).declared == []
    result = send(store, rules, body)
    (incident_id,) = result.declared
    (group_id,) = result.candidates
    group = service.get_group(store=store, rules=rules, group_id=group_id)
    assert group.status == "declared" and group.incident_id == incident_id
    assert group.policy == "critical-in-production"
    incident = incidents.get_incident(store=store, incident_id=incident_id)
    assert incident.severity == "SEV2"  # the suggested severity: critical maps to SEV2
    assert incident.services == ["checkout-api"]
    timeline = incidents.list_events(store=store, incident_id=incident_id)
    (decision,) = [e for e in timeline if e.kind == "decision"]
    assert decision.author == "policy critical-in-production"
    assert "critical-in-production" in decision.text
    assert "severity=critical and env=production on HighErrorRate" in decision.text
    assert decision.data == {"policy": "critical-in-production", "group_id": group_id}
    assert len([e for e in timeline if e.kind == "alert"]) == 3

    # The same notification again declares nothing more.
    again = send(store, rules, body)
    assert again.duplicate and again.declared == []
    assert len(incidents.list_incidents(store=store)) == 1


def test_a_candidate_the_policy_does_not_match_stays_for_people(
    store: IncidentStore, tmp_path: Path
) -> None:
    rules = with_policies(tmp_path, POLICY)
    result = send(store, rules, storm("staging"))
    assert result.candidates and result.declared == []
    assert incidents.list_incidents(store=store) == []


def test_a_policy_can_set_the_severity_and_match_by_regex(
    store: IncidentStore, tmp_path: Path
) -> None:
    rules = with_policies(
        tmp_path,
        """
auto_declare:
  - name: prod-any-critical
    match_re: {env: "prod.*", severity: "critical|page"}
    severity: SEV1
""",
    )
    (incident_id,) = send(store, rules, storm("prod-eu")).declared
    assert incidents.get_incident(store=store, incident_id=incident_id).severity == "SEV1"


def test_a_policy_with_a_bad_severity_leaves_the_candidate_and_intake_goes_on(
    store: IncidentStore, tmp_path: Path
) -> None:
    rules = with_policies(
        tmp_path,
        """
auto_declare:
  - name: typo
    match: {env: production}
    severity: SEV9
""",
    )
    result = send(store, rules, storm("production"))
    assert result.declared == [] and result.candidates
    (group,) = service.list_groups(store=store, rules=rules, status="candidate")
    assert group.policy is None


def test_a_policy_without_labels_is_refused_when_the_rules_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auto_declare"):
        with_policies(tmp_path, "auto_declare:\n  - name: everything\n")
