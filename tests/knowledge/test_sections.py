"""Which section a question wants to read first (issue 12): pure functions, no store."""

from __future__ import annotations

import pytest

from copilot.knowledge.retrieval import WEAK_LEAD as LEAD  # below it, a section gives way
from copilot.knowledge.sections import query_intent, section_role, section_weight


@pytest.mark.parametrize(
    ("query", "intent"),
    [
        ("pods keep restarting after deploy", "symptom"),
        ("how do i fix the redis memory alert", "fix"),
        ("what does KubePodNotReady mean", "explain"),
        ("operator degraded but available, should i worry", "explain"),
        ("how bad is a full conntrack table", "explain"),
        ("is it fixed now", "verify"),
    ],
)
def test_the_intent_of_a_question(query: str, intent: str) -> None:
    assert query_intent(query, history=False) == intent


def test_meaning_and_impact_lead_only_when_asked_what_an_alert_means() -> None:
    for heading in ("Meaning", "Impact", "Overview"):
        role = section_role(f"KubeJobFailed > {heading}")
        assert section_weight(role, "symptom") < LEAD
        assert section_weight(role, "fix") < LEAD
        assert section_weight(role, "explain") == 1.0
    for heading in ("Diagnosis", "Mitigation"):
        assert section_weight(section_role(heading), "symptom") >= LEAD
        assert section_weight(section_role(heading), "explain") >= LEAD
