"""The incident API over HTTP against a real SQLite file."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.settings import Settings
from tests.incidents.conftest import Clock, at


def patch(client: TestClient, incident_id: str, **body: Any) -> Any:
    return client.patch(f"/v1/incidents/{incident_id}", json=body)


def events(client: TestClient, incident_id: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/incidents/{incident_id}/events", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["events"]
    return result


def detail_text(response: Any) -> str:
    return str(response.json()["detail"])


# -- declaration ------------------------------------------------------------------------------


def test_declare_returns_the_incident_with_a_human_id(client: TestClient, declare: Any) -> None:
    first = declare(severity="P2", services=["Checkout", "payments", "checkout"], tags=["Deploy"])
    second = declare(title="Search is slow", severity="sev3")

    assert first["id"] == "INC-1"
    assert second["id"] == "INC-2"
    assert first["severity"] == "SEV2"  # the alias is stored as the canonical level
    assert first["severity_name"] == "Major"
    assert first["status"] == "triage"
    assert first["services"] == ["checkout", "payments"]
    assert first["tags"] == ["deploy"]
    assert first["started_at"] == "2026-03-02T09:00:00Z"
    assert first["declared_at"] == "2026-03-02T09:10:00Z"
    assert first["allowed_transitions"] == ["mobilized", "mitigating", "monitoring", "resolved"]
    assert client.get("/v1/incidents/INC-1").json() == first
    assert client.get("/v1/incidents/inc-2").json()["title"] == "Search is slow"

    timeline = events(client, "INC-1")
    assert [e["kind"] for e in timeline] == ["declared"]
    assert timeline[0]["data"] == {"severity": "SEV2", "status": "triage"}
    assert timeline[0]["at"] == "2026-03-02T09:10:00Z"


def test_declared_at_defaults_to_now(client: TestClient, clock: Clock) -> None:
    response = client.post("/v1/incidents", json={"title": "Login fails", "severity": "SEV1"})
    assert response.status_code == 201
    assert response.json()["declared_at"] == "2026-03-02T10:00:00Z"
    assert response.json()["started_at"] is None


def test_declare_with_initial_roles(client: TestClient, declare: Any) -> None:
    incident = declare(roles={"incident_commander": "alice", "add_responders": ["bob", "carol"]})
    assert incident["roles"] == {
        "incident_commander": "alice",
        "escalation_lead": None,
        "scribe": None,
        "customer_liaison": None,
        "responders": ["bob", "carol"],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "SEV9"}, "severity"),
        ({"title": "   "}, "title"),
        ({"severity": None}, "severity"),
        ({"services": ["x"] * 21}, "services"),
        ({"started_at": "yesterday-ish"}, "started_at"),
        ({"sevrity": "SEV1"}, "sevrity"),
    ],
)
def test_declare_rejects_bad_input_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    payload = {"title": "t", "severity": "SEV2", **body}
    response = client.post("/v1/incidents", json=payload)
    assert response.status_code == 422
    assert field in detail_text(response)


def test_unknown_severity_lists_the_known_ones(client: TestClient) -> None:
    response = client.post("/v1/incidents", json={"title": "t", "severity": "SEV9"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("severity: unknown severity 'SEV9'")
    assert "SEV1, SEV2, SEV3, SEV4" in response.json()["detail"]


@pytest.mark.parametrize(
    ("times", "field"),
    [
        ({"started_at": at(10), "detected_at": at(5)}, "detected_at"),
        ({"detected_at": at(20), "declared_at": at(10)}, "declared_at"),
        ({"started_at": at(30), "declared_at": at(10)}, "declared_at"),
        ({"started_at": at(600)}, "started_at"),  # in the future of the clock
    ],
)
def test_declare_rejects_timestamps_out_of_order(
    client: TestClient, times: dict[str, str], field: str
) -> None:
    body = {"title": "t", "severity": "SEV2", "declared_at": at(10), **times}
    response = client.post("/v1/incidents", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:")
    assert client.get("/v1/incidents").json()["incidents"] == []


def test_malformed_json_is_422_not_500(client: TestClient) -> None:
    response = client.post(
        "/v1/incidents", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


# -- lookup -----------------------------------------------------------------------------------


@pytest.mark.parametrize("incident_id", ["INC-99", "nonsense", "INC-", "INC-1-2"])
def test_unknown_ids_are_404_everywhere(client: TestClient, declare: Any, incident_id: str) -> None:
    declare()
    for response in (
        client.get(f"/v1/incidents/{incident_id}"),
        patch(client, incident_id, status="mobilized"),
        client.post(f"/v1/incidents/{incident_id}/events", json={"text": "hi"}),
        client.get(f"/v1/incidents/{incident_id}/events"),
        client.get(f"/v1/incidents/{incident_id}/metrics"),
    ):
        assert response.status_code == 404, response.text
        # Useful, and never an echo of what the client sent.
        assert detail_text(response).startswith("incident not found")
        assert incident_id not in detail_text(response).replace("INC-42", "")


def test_list_filters(client: TestClient, declare: Any) -> None:
    declare(title="a", severity="SEV1", services=["checkout"])
    declare(title="b", severity="SEV3", services=["search"])
    declare(title="c", severity="SEV3", services=["checkout", "search"])
    patch(client, "INC-3", status="mobilized", at=at(20))

    def titles(**params: Any) -> list[str]:
        response = client.get("/v1/incidents", params=params)
        assert response.status_code == 200, response.text
        return [i["title"] for i in response.json()["incidents"]]

    assert titles() == ["c", "b", "a"]  # newest first
    assert titles(severity="P3") == ["c", "b"]
    assert titles(service="Checkout") == ["c", "a"]
    assert titles(status="mobilized") == ["c"]
    assert titles(status="triage", service="search") == ["b"]
    assert titles(limit=1) == ["c"]
    assert client.get("/v1/incidents", params={"status": "open"}).status_code == 422
    bad = client.get("/v1/incidents", params={"severity": "SEV7"})
    assert bad.status_code == 422
    assert "severity" in detail_text(bad)


# -- lifecycle --------------------------------------------------------------------------------


def test_full_lifecycle_sets_timestamps_and_logs_each_change(
    client: TestClient, declare: Any
) -> None:
    declare()
    steps = [("mobilized", 12), ("mitigating", 15), ("monitoring", 40), ("resolved", 55)]
    for status, minute in steps:
        response = patch(client, "INC-1", status=status, at=at(minute), author="alice")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    incident = patch(client, "INC-1", status="closed", at=at(58), reason="customers confirmed")
    body = incident.json()
    assert body["mitigated_at"] == "2026-03-02T09:40:00Z"
    assert body["resolved_at"] == "2026-03-02T09:55:00Z"
    assert body["closed_at"] == "2026-03-02T09:58:00Z"
    assert body["allowed_transitions"] == ["mobilized", "mitigating"]  # reopen only
    assert body["next_update_due"] is None
    assert body["update_overdue"] is False

    changes = events(client, "INC-1", kind="status_change")
    assert [(e["data"]["from"], e["data"]["to"]) for e in changes] == [
        ("triage", "mobilized"),
        ("mobilized", "mitigating"),
        ("mitigating", "monitoring"),
        ("monitoring", "resolved"),
        ("resolved", "closed"),
    ]
    assert [e["at"][11:16] for e in changes] == ["09:12", "09:15", "09:40", "09:55", "09:58"]
    assert changes[0]["author"] == "alice"
    assert changes[-1]["text"] == "Status: resolved -> closed: customers confirmed"


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ([], "closed", "mobilized, mitigating, monitoring, resolved"),
        (["mitigating"], "mobilized", "monitoring, resolved"),
        (["resolved", "closed"], "monitoring", "mobilized, mitigating"),
        (["resolved"], "triage", "closed, mobilized, mitigating"),
    ],
)
def test_invalid_transition_is_409_naming_the_allowed_ones(
    client: TestClient, declare: Any, path: list[str], target: str, allowed: str
) -> None:
    declare()
    for minute, status in enumerate(path, start=20):
        assert patch(client, "INC-1", status=status, at=at(minute)).status_code == 200
    before = client.get("/v1/incidents/INC-1").json()
    response = patch(client, "INC-1", status=target)
    assert response.status_code == 409
    assert response.json()["detail"].endswith(f"allowed statuses are: {allowed}")
    assert client.get("/v1/incidents/INC-1").json() == before


def test_setting_the_current_status_again_changes_nothing(client: TestClient, declare: Any) -> None:
    declare()
    patch(client, "INC-1", status="mobilized", at=at(20))
    again = patch(client, "INC-1", status="mobilized", at=at(25))
    assert again.status_code == 200
    assert len(events(client, "INC-1", kind="status_change")) == 1


def test_unknown_status_is_422(client: TestClient, declare: Any) -> None:
    declare()
    response = patch(client, "INC-1", status="fixed")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "status"


def test_resolving_without_monitoring_sets_mitigated_at(client: TestClient, declare: Any) -> None:
    declare()
    body = patch(client, "INC-1", status="resolved", at=at(30)).json()
    assert body["mitigated_at"] == body["resolved_at"] == "2026-03-02T09:30:00Z"


def test_reopen_clears_later_timestamps_and_is_counted(client: TestClient, declare: Any) -> None:
    declare()
    patch(client, "INC-1", status="monitoring", at=at(30))
    patch(client, "INC-1", status="resolved", at=at(40))
    reopened = patch(client, "INC-1", status="mitigating", at=at(45), reason="errors are back")
    body = reopened.json()
    assert body["status"] == "mitigating"
    assert body["mitigated_at"] is None and body["resolved_at"] is None
    last = events(client, "INC-1", kind="status_change")[-1]
    assert last["text"] == "Reopened: resolved -> mitigating: errors are back"
    assert last["data"]["reopen"] is True
    # The old values stay on the timeline.
    assert last["data"]["previous"]["resolved_at"].startswith("2026-03-02T09:40:00")

    patch(client, "INC-1", status="monitoring", at=at(50))
    patch(client, "INC-1", status="resolved", at=at(55))
    metrics = client.get("/v1/incidents/INC-1/metrics").json()
    assert metrics["reopened"] == 1
    assert metrics["time_to_mitigate_s"] == 45 * 60  # from detection (T0+5) to T0+50


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        (at(8), "was declared"),  # before the declaration at T0+10
        (at(15), "last status change"),  # before the mobilization at T0+20
        (at(200), "in the future"),
    ],
)
def test_transition_times_must_run_forward(
    client: TestClient, declare: Any, when: str, reason: str
) -> None:
    declare()
    patch(client, "INC-1", status="mobilized", at=at(20))
    response = patch(client, "INC-1", status="mitigating", at=when)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("at:")
    assert reason in response.json()["detail"]
    assert client.get("/v1/incidents/INC-1").json()["status"] == "mobilized"


def test_editing_started_at_after_mitigation_is_refused(client: TestClient, declare: Any) -> None:
    declare()
    patch(client, "INC-1", status="monitoring", at=at(30))
    response = patch(client, "INC-1", started_at=at(35))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("started_at:")


def test_edits_are_logged(client: TestClient, declare: Any) -> None:
    declare()
    response = patch(
        client,
        "INC-1",
        title="Checkout and cart return 502",
        services=["checkout", "cart"],
        tags=["bad-deploy"],
        started_at=at(-5),
        at=at(30),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["services"] == ["cart", "checkout"]
    assert body["started_at"] == "2026-03-02T08:55:00Z"
    edit = events(client, "INC-1", kind="edit")[0]
    assert set(edit["data"]) == {"title", "started_at", "services", "tags"}
    assert edit["data"]["services"] == {"from": ["checkout"], "to": ["cart", "checkout"]}


def test_patch_without_changes_is_422(client: TestClient, declare: Any) -> None:
    declare()
    response = patch(client, "INC-1", at=at(20))
    assert response.status_code == 422
    assert "nothing to change" in detail_text(response)


# -- severity ---------------------------------------------------------------------------------


def test_severity_change_is_logged_and_accepts_aliases(client: TestClient, declare: Any) -> None:
    declare(severity="SEV3")
    response = patch(
        client, "INC-1", severity="p1", at=at(20), author="alice", reason="all regions"
    )
    assert response.status_code == 200
    assert response.json()["severity"] == "SEV1"
    assert response.json()["update_cadence_minutes"] == 30
    change = events(client, "INC-1", kind="severity_change")[0]
    assert change["data"] == {"from": "SEV3", "to": "SEV1"}
    assert change["text"] == "Severity raised from SEV3 to SEV1: all regions"

    lowered = patch(client, "INC-1", severity="SEV2", at=at(30))
    assert events(client, "INC-1", kind="severity_change")[1]["text"].startswith("Severity lowered")
    assert lowered.json()["severity"] == "SEV2"
    bad = patch(client, "INC-1", severity="critical")
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("severity:")


# -- roles ------------------------------------------------------------------------------------


def test_commander_handover_is_recorded(client: TestClient, declare: Any) -> None:
    declare()
    patch(client, "INC-1", roles={"incident_commander": "alice"}, at=at(11))
    body = patch(
        client, "INC-1", roles={"incident_commander": "bob"}, at=at(30), author="alice"
    ).json()
    assert body["roles"]["incident_commander"] == "bob"
    history = [
        (r["role"], r["person"], r["assigned_at"][11:16], (r["relieved_at"] or "")[11:16])
        for r in body["role_history"]
    ]
    assert history == [
        ("incident_commander", "alice", "09:11", "09:30"),
        ("incident_commander", "bob", "09:30", ""),
    ]
    texts = [e["text"] for e in events(client, "INC-1", kind="role_change")]
    assert texts == [
        "alice is incident commander",
        "Incident commander handed over from alice to bob",
    ]


def test_there_is_always_exactly_one_commander_once_assigned(
    client: TestClient, declare: Any
) -> None:
    declare(roles={"incident_commander": "alice"})
    response = patch(client, "INC-1", roles={"incident_commander": None})
    assert response.status_code == 409
    assert "hand the role over" in response.json()["detail"]
    assert client.get("/v1/incidents/INC-1").json()["roles"]["incident_commander"] == "alice"


def test_other_roles_and_responders(client: TestClient, declare: Any) -> None:
    declare()
    body = patch(
        client,
        "INC-1",
        roles={
            "escalation_lead": "erin",
            "scribe": "sam",
            "customer_liaison": "lee",
            "add_responders": ["rui", "kim"],
        },
        at=at(20),
    ).json()
    assert body["roles"] == {
        "incident_commander": None,
        "escalation_lead": "erin",
        "scribe": "sam",
        "customer_liaison": "lee",
        "responders": ["rui", "kim"],
    }
    body = patch(
        client,
        "INC-1",
        roles={"scribe": None, "add_responders": ["ada"], "remove_responders": ["rui"]},
        at=at(25),
    ).json()
    assert body["roles"]["scribe"] is None
    assert body["roles"]["responders"] == ["kim", "ada"]
    body = patch(client, "INC-1", roles={"responders": ["zoe"]}, at=at(26)).json()
    assert body["roles"]["responders"] == ["zoe"]
    texts = [e["text"] for e in events(client, "INC-1", kind="role_change")]
    assert "sam stepped down as scribe" in texts
    assert "erin is escalation lead" in texts
    assert "rui, kim joined as responders" in texts
    assert "ada joined as responder; rui left the responders" in texts
    assert "zoe joined as responder; kim, ada left the responders" in texts


def test_role_patch_must_be_unambiguous(client: TestClient, declare: Any) -> None:
    declare()
    both = patch(client, "INC-1", roles={"responders": ["a"], "add_responders": ["b"]})
    assert both.status_code == 422
    assert patch(client, "INC-1", roles={"pilot": "x"}).status_code == 422
    assert patch(client, "INC-1", roles={}).status_code == 422


# -- timeline ---------------------------------------------------------------------------------


def test_events_are_appended_and_listed_in_time_order(client: TestClient, declare: Any) -> None:
    declare()
    late = client.post(
        "/v1/incidents/INC-1/events",
        json={"kind": "action", "text": "Rolled back deploy 4411", "author": "bob", "at": at(30)},
    )
    early = client.post(
        "/v1/incidents/INC-1/events",
        json={"kind": "alert", "text": "CheckoutErrorRate fired", "at": at(4)},
    )
    assert late.status_code == early.status_code == 201
    assert late.json()["kind"] == "action"
    assert late.json()["incident_id"] == "INC-1"
    assert late.json()["recorded_at"] == "2026-03-02T10:00:00Z"
    timeline = events(client, "INC-1")
    assert [e["text"][:10] for e in timeline] == ["CheckoutEr", "Declared S", "Rolled bac"]
    assert events(client, "INC-1", kind="alert")[0]["id"] == early.json()["id"]
    assert client.get("/v1/incidents/INC-1/events", params={"kind": "gossip"}).status_code == 422


def test_corrections_reference_the_corrected_event(client: TestClient, declare: Any) -> None:
    declare()
    wrong = client.post(
        "/v1/incidents/INC-1/events", json={"kind": "action", "text": "Restarted db-1"}
    ).json()
    fix = client.post(
        "/v1/incidents/INC-1/events",
        json={"kind": "correction", "text": "It was db-2, not db-1", "corrects": wrong["id"]},
    )
    assert fix.status_code == 201
    assert fix.json()["corrects"] == wrong["id"]
    timeline = {e["id"]: e for e in events(client, "INC-1")}
    # The original stays as it was, and points at its correction.
    assert timeline[wrong["id"]]["text"] == "Restarted db-1"
    assert timeline[wrong["id"]]["corrected_by"] == [fix.json()["id"]]


def test_correction_rules(client: TestClient, declare: Any) -> None:
    declare()
    other = declare(title="other")
    other_event = events(client, other["id"])[0]["id"]

    def post(body: dict[str, Any]) -> Any:
        return client.post("/v1/incidents/INC-1/events", json=body)

    missing = post({"kind": "correction", "text": "fix"})
    assert missing.status_code == 422
    assert "corrects" in detail_text(missing)
    elsewhere = post({"kind": "correction", "text": "fix", "corrects": other_event})
    assert elsewhere.status_code == 422
    assert elsewhere.json()["detail"].startswith("corrects:")
    ghost = post({"kind": "correction", "text": "fix", "corrects": 999})
    assert ghost.status_code == 422
    assert post({"kind": "note", "text": "x", "corrects": 1}).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "status_change", "text": "resolved"}, "kind"),
        ({"kind": "note", "text": ""}, "text"),
        ({"kind": "note", "text": "x" * 4001}, "text"),
        ({"kind": "note", "text": "x", "audience": "public"}, "audience"),
        ({"kind": "note", "text": "x", "at": at(-60 * 24 - 1)}, "at"),  # over a day before start
        ({"kind": "note", "text": "x", "at": at(120)}, "at"),  # in the future
    ],
)
def test_bad_events_are_refused(
    client: TestClient, declare: Any, body: dict[str, Any], field: str
) -> None:
    declare()
    response = client.post("/v1/incidents/INC-1/events", json=body)
    assert response.status_code == 422, response.text
    assert field in detail_text(response)
    assert len(events(client, "INC-1")) == 1


def test_an_event_may_precede_the_start_by_less_than_a_day(
    client: TestClient, declare: Any
) -> None:
    declare()
    response = client.post(
        "/v1/incidents/INC-1/events",
        json={"kind": "action", "text": "Deploy 4411 rolled out", "at": at(-60 * 23)},
    )
    assert response.status_code == 201


# -- status-update cadence --------------------------------------------------------------------


def test_next_update_due_follows_cadence_and_published_updates(
    client: TestClient, declare: Any, clock: Clock
) -> None:
    declare()  # SEV2: an update every 60 minutes; declared at T0+10
    incident = client.get("/v1/incidents/INC-1").json()
    assert incident["next_update_due"] == "2026-03-02T10:10:00Z"
    assert incident["update_overdue"] is False

    clock.set(75)
    assert client.get("/v1/incidents/INC-1").json()["update_overdue"] is True
    listed = client.get("/v1/incidents").json()["incidents"][0]
    assert listed["update_overdue"] is True

    client.post(
        "/v1/incidents/INC-1/events",
        json={"kind": "status_update", "text": "Rolling back", "audience": "public", "at": at(74)},
    )
    incident = client.get("/v1/incidents/INC-1").json()
    assert incident["last_status_update_at"] == "2026-03-02T10:14:00Z"
    assert incident["next_update_due"] == "2026-03-02T11:14:00Z"
    assert incident["update_overdue"] is False

    # Raising to SEV1 (every 30 minutes) brings the next update forward.
    patch(client, "INC-1", severity="SEV1", at=at(75))
    assert client.get("/v1/incidents/INC-1").json()["next_update_due"] == "2026-03-02T10:45:00Z"


# -- metrics ----------------------------------------------------------------------------------


def test_incident_metrics_from_a_backfilled_timeline(
    client: TestClient, declare: Any, clock: Clock
) -> None:
    clock.set(300)
    declare()  # started T0, detected T0+5, declared T0+10, SEV2 (updates every 60 min)
    for minute in (20, 130):  # the second comes 110 minutes after the first: late
        response = client.post(
            "/v1/incidents/INC-1/events",
            json={"kind": "status_update", "text": "update", "at": at(minute)},
        )
        assert response.status_code == 201
    for status, minute in (("mitigating", 15), ("monitoring", 65), ("resolved", 140)):
        assert patch(client, "INC-1", status=status, at=at(minute)).status_code == 200

    m = client.get("/v1/incidents/INC-1/metrics").json()
    assert m["time_to_detect_s"] == 300
    assert m["time_to_declare_s"] == 300
    assert m["time_to_mitigate_s"] == 60 * 60
    assert m["time_to_resolve_s"] == 135 * 60
    assert m["impact"] == {
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:05:00Z",
        "duration_s": 65 * 60,
        "ongoing": False,
        "start_from": "started",
    }
    assert m["measured_from"] == "detected"
    cadence = m["update_cadence"]
    assert cadence["updates_published"] == 2
    # declared->20 (10 min), 20->130 (110 min: late), 130->resolved 140 (10 min)
    assert (cadence["intervals"], cadence["breaches"]) == (3, 1)
    assert cadence["compliance"] == pytest.approx(2 / 3, abs=1e-3)
    assert cadence["longest_gap_s"] == 110 * 60
    # SEV2 targets: declare 30 min, mitigate 120 min, resolve 480 min.
    assert {k: v["met"] for k, v in m["targets"].items()} == {
        "declare": True,
        "mitigate": True,
        "resolve": True,
    }


def test_metrics_of_a_resolved_incident_with_no_start_or_detection_time(
    client: TestClient, declare: Any, clock: Clock
) -> None:
    clock.set(300)
    declare(started_at=None, detected_at=None)  # declared T0+10, nothing earlier known
    patch(client, "INC-1", status="mitigating", at=at(20))
    patch(client, "INC-1", status="monitoring", at=at(40))
    patch(client, "INC-1", status="resolved", at=at(70))

    m = client.get("/v1/incidents/INC-1/metrics").json()
    # Counted from the declaration, and saying so, rather than shown as unknown.
    assert m["measured_from"] == "declared"
    assert m["time_to_mitigate_s"] == 30 * 60
    assert m["time_to_resolve_s"] == 60 * 60
    assert m["time_to_detect_s"] is None and m["time_to_declare_s"] is None
    assert m["impact"]["start_from"] == "declared"
    assert m["impact"]["duration_s"] == 30 * 60 and m["impact"]["ongoing"] is False
    # SEV2: mitigate within 120 min, resolve within 480; no declare check without a detection.
    assert {k: v["met"] for k, v in m["targets"].items()} == {"mitigate": True, "resolve": True}

    # Once someone records when it was detected, that becomes the anchor again.
    patch(client, "INC-1", detected_at=at(4))
    m = client.get("/v1/incidents/INC-1/metrics").json()
    assert (m["measured_from"], m["time_to_mitigate_s"]) == ("detected", 36 * 60)
    assert m["impact"]["start_from"] == "detected"


def test_metrics_of_an_open_incident(client: TestClient, declare: Any, clock: Clock) -> None:
    declare(severity="SEV1")  # update every 30 min, mitigate within 60 min of detection
    clock.set(90)
    m = client.get("/v1/incidents/INC-1/metrics").json()
    assert m["time_to_mitigate_s"] is None
    assert m["impact"]["ongoing"] is True
    assert m["impact"]["duration_s"] == 90 * 60
    assert m["targets"]["mitigate"] == {"target_s": 3600.0, "actual_s": None, "met": False}
    assert m["targets"]["resolve"]["met"] is None  # 240 min not yet up
    assert m["update_cadence"]["overdue"] is True
    assert m["update_cadence"]["breaches"] == 1


def test_aggregate_metrics_by_severity_and_service(
    client: TestClient, declare: Any, clock: Clock
) -> None:
    clock.set(120)
    # Three incidents: mitigated 20, 40 and 90 minutes after detection.
    declare(title="a", severity="SEV2", services=["checkout"], tags=["bad-deploy"])
    declare(title="b", severity="SEV2", services=["checkout", "payments"], tags=["bad-deploy"])
    declare(title="c", severity="SEV3", services=["search"], tags=["capacity"])
    for incident_id, minutes in (("INC-1", 25), ("INC-2", 45), ("INC-3", 95)):
        assert patch(client, incident_id, status="resolved", at=at(minutes)).status_code == 200

    response = client.get("/v1/metrics/incidents", params={"since": "2026-03-01"})
    assert response.status_code == 200, response.text
    agg = response.json()
    assert agg["since"] == "2026-03-01T00:00:00Z"
    assert agg["overall"]["incidents"] == 3
    assert agg["overall"]["time_to_mitigate_s"] == {"count": 3, "mean": 3000.0, "p50": 2400.0}
    assert list(agg["by_severity"]) == ["SEV2", "SEV3"]
    assert agg["by_severity"]["SEV2"]["time_to_resolve_s"] == {
        "count": 2,
        "mean": 1800.0,
        "p50": 1800.0,
    }
    assert agg["by_service"]["checkout"]["incidents"] == 2
    assert agg["by_service"]["payments"]["time_to_mitigate_s"]["p50"] == 2400.0
    assert agg["recurring"]["services"] == [
        {"name": "checkout", "count": 2, "incidents": ["INC-1", "INC-2"]}
    ]
    assert agg["recurring"]["tags"] == [
        {"name": "bad-deploy", "count": 2, "incidents": ["INC-1", "INC-2"]}
    ]

    none = client.get("/v1/metrics/incidents", params={"since": "2026-03-02T10:30"}).json()
    assert none["overall"]["incidents"] == 0
    assert none["overall"]["time_to_mitigate_s"] == {"count": 0, "mean": None, "p50": None}
    relative = client.get("/v1/metrics/incidents", params={"since": "2h"}).json()
    assert relative["overall"]["incidents"] == 3  # declared at T0+10, now is T0+120
    assert (
        client.get("/v1/metrics/incidents", params={"since": "1h"}).json()["overall"]["incidents"]
        == 0
    )
    assert client.get("/v1/metrics/incidents", params={"since": "30d"}).status_code == 200
    future = client.get("/v1/metrics/incidents", params={"since": "2026-03-03"})
    assert future.status_code == 422
    assert "not before until" in future.json()["detail"]
    bad = client.get("/v1/metrics/incidents", params={"since": "last tuesday"})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("since:")


# -- triage -----------------------------------------------------------------------------------


def test_triage_endpoint(client: TestClient) -> None:
    response = client.post(
        "/v1/triage",
        json={"alerts": ["CheckoutErrorRate"], "error_rate": 0.08, "customer_facing": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["declare"], body["severity"], body["update_cadence_minutes"]) == (
        True,
        "SEV2",
        60,
    )
    assert body["reasons"] == ["SEV2: error rate 8.0% >= 5.0%"]
    assert client.post("/v1/triage", json={}).status_code == 422
    assert client.post("/v1/triage", json={"error_rate": 5}).status_code == 422


def test_triage_of_checkout_errors_needs_no_customer_facing_flag(client: TestClient) -> None:
    body = client.post("/v1/triage", json={"services": ["checkout"], "error_rate": 0.2}).json()
    assert (body["declare"], body["severity"]) == (True, "SEV2")
    assert body["reasons"][0].startswith("customer-facing inferred from service 'checkout'")


# -- the app opens its own store ---------------------------------------------------------------


def test_the_app_opens_and_migrates_the_store_from_settings(settings: Settings) -> None:
    app = create_app(settings, load_knowledge=False)
    with TestClient(app) as client:
        response = client.post("/v1/incidents", json={"title": "t", "severity": "SEV4"})
        assert response.status_code == 201
        # Incidents work without the knowledge base; search says it is unavailable.
        assert client.post("/v1/search", json={"query": "disk full"}).status_code == 503
    assert (settings.data_dir / "incidents.sqlite").exists()
    with TestClient(create_app(settings, load_knowledge=False)) as client:
        assert client.get("/v1/incidents/INC-1").json()["title"] == "t"


def test_the_openapi_document_describes_the_incident_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/incidents/{incident_id}"]) == {"get", "patch"}
    assert "post" in paths["/v1/incidents/{incident_id}/events"]
    assert "get" in paths["/v1/metrics/incidents"]
    assert "post" in paths["/v1/triage"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/v1/incidents", {"title": "t", "severity": "SEV2", "declared_at": "0001-01-01"}),
        ("post", "/v1/incidents", ["not", "an", "object"]),
        (
            "post",
            "/v1/incidents/INC-1/events",
            {"kind": "correction", "text": "x", "corrects": 2**70},
        ),
        ("post", "/v1/incidents/INC-1/events", {"text": "x", "at": "2000-01-01T00:00:00Z"}),
        ("patch", "/v1/incidents/INC-1", {"status": "resolved", "at": 1e20}),
        ("get", "/v1/metrics/incidents?since=999999w", None),
        ("get", "/v1/incidents/INC-99999999999999999999", None),
        ("post", "/v1/triage", {"latency_p99_ms": "inf"}),
        ("post", "/v1/triage", {"error_rate": "nan"}),
    ],
)
def test_extreme_input_is_a_4xx_never_a_500(
    client: TestClient, declare: Any, method: str, url: str, body: Any
) -> None:
    declare()
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(url, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()
