"""The leak, jargon, secret and fact checks, one sentence at a time."""

from __future__ import annotations

import pytest

from copilot.status.checks import Policy, name_parts
from copilot.status.config import Catalog, StatusConfig
from copilot.status.facts import Allowed, figures, unsupported

CATALOG = StatusConfig.load().catalog
RECORD = Allowed.from_text(
    "INC-7 SEV2 2026-03-02T09:00:00+00:00 started; 2026-03-02T09:40:00+00:00 mitigated. "
    "About 30% of payments failed for 1,200 customers; £12,000 an hour. Deploy v4411. "
    "Impact for 40 minutes."
)


def public() -> Policy:
    return Policy(
        audience="public",
        catalog=CATALOG,
        people=["Priya Raman", "will", "tom.w"],
        services=["checkout-api", "orders-db", "search"],
        allowed=RECORD,
    )


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Errors come from db-7.prod.larkfield.example now.", "hostname"),
        ("Pods on prod-eu-1 restarted.", "hostname"),
        ("Traffic from 10.1.2.3 is blocked.", "ipv4"),
        ("Email ops@larkfield.example for help.", "email"),
        ("See https://grafana.larkfield.example/d/checkout for details.", "link"),
        ("Priya is leading the response.", "person"),
        ("Raman is leading the response.", "person"),
        ("Ask @tom.w for details.", "person"),
        ("Tracked in JIRA-881.", "ticket"),
        ("Join #inc-7 for details.", "channel"),
        ("The orders-db primary is down.", "internal_name"),
        ("DC-North scanners are offline.", "internal_name"),
        ("Our card processor, the PSP, is slow.", "vendor"),
        ("Kafka consumers are behind.", "technology"),
        ("This was caused by a change.", "speculation"),
        ("We believe the problem is understood.", "speculation"),
        ("It was human error.", "blame"),
        ("An engineer pushed a broken config.", "blame"),
        ("We rolled back a release.", "cause_detail"),
        ("Revenue is affected.", "business"),
        ("Run `kubectl get pods` to check.", "code"),
        ("The token is sk-live-abcdefghijklmnopqrstu here.", "api_token"),
    ],
)
def test_public_leaks_are_removed_with_their_sentence(sentence: str, kind: str) -> None:
    text, findings = public().screen(f"Payments are failing. {sentence} We are on it.")
    assert text == "Payments are failing. We are on it."
    assert kind in {f.kind for f in findings}, findings
    assert all(f.action == "removed" for f in findings)


def test_secrets_are_never_echoed() -> None:
    _, findings = public().screen("Key AKIAABCDEFGHIJKLMNOP leaked.")
    assert [(f.check, f.kind, f.text) for f in findings] == [
        ("secret", "aws_access_key", "[REDACTED:aws_access_key]")
    ]


def test_service_labels_with_a_public_name_are_replaced_not_removed() -> None:
    text, findings = public().screen("checkout-api is failing for some customers.")
    assert text == "Checkout is failing for some customers."
    [f] = findings
    assert (f.kind, f.text, f.action, f.replacement) == (
        "internal_service",
        "checkout-api",
        "replaced",
        "Checkout",
    )


def test_everyday_words_are_not_mistaken_for_people_or_services() -> None:
    # "will" is on the incident (a username), "search" is a service label: both are words.
    text = "We will update you as search recovers. Public status is at https://status.larkfield.example."
    clean, findings = public().screen(text)
    assert clean == text and findings == []
    assert name_parts(["will"]) == []
    assert name_parts(["Priya Raman", "mark.jones"]) == [
        "Priya",
        "Priya Raman",
        "Raman",
        "jones",
        "mark.jones",
    ]


def test_executive_drafts_lose_jargon_but_keep_business_terms() -> None:
    policy = Policy(
        audience="executive", catalog=CATALOG, people=["Priya Raman"], services=["checkout-api"]
    )
    text, findings = policy.screen(
        "Revenue loss is £12k an hour. Pods on prod-eu-1 crash. checkout-api is down. "
        "Priya Raman leads; the PSP is engaged."
    )
    assert text == (
        "Revenue loss is £12k an hour. Checkout is down. Priya Raman leads; the PSP is engaged."
    )
    assert {(f.check, f.kind) for f in findings} == {
        ("jargon", "hostname"),
        ("jargon", "internal_service"),
    }


def test_internal_drafts_redact_secrets_in_place() -> None:
    policy = Policy(audience="internal", catalog=CATALOG, allowed=RECORD)
    text, findings = policy.screen("- Rotated password=hunter2secret on 10.0.0.5 at 09:40 UTC")
    assert text == "- Rotated password=[REDACTED:secret_assignment] on [REDACTED:ipv4] at 09:40 UTC"
    assert {(f.kind, f.action) for f in findings} == {
        ("secret_assignment", "redacted"),
        ("ipv4", "redacted"),
    }


@pytest.mark.parametrize(
    ("sentence", "ok"),
    [
        ("About 30% of payments failed.", True),
        ("About 30 percent of payments failed.", True),
        ("About 35% of payments failed.", False),
        ("1200 customers were affected.", True),
        ("Roughly 1.2k customers were affected.", True),
        ("2,000 customers were affected.", False),
        ("Impact began at 9:00 am.", True),
        ("Impact began at 09:05 UTC.", False),
        ("It lasted 40 minutes.", True),
        ("It lasted 45 minutes.", False),
        ("The loss was £12k an hour.", True),
        ("The loss was $12k an hour.", False),
        ("It started on 2 March 2026.", True),
        ("It started on March 3.", False),
        ("This is a SEV2.", True),
        ("This is a SEV1.", False),
        ("We rolled back deploy 4411.", True),
        ("We rolled back v4412.", False),
        ("Up to 5 may be affected.", False),
    ],
)
def test_figures_must_come_from_the_record(sentence: str, ok: bool) -> None:
    policy = Policy(audience="internal", catalog=CATALOG, allowed=RECORD)
    text, findings = policy.screen(f"{sentence} Next steps follow.")
    if ok:
        assert findings == [] and text.startswith(sentence)
    else:
        assert text == "Next steps follow."
        assert [f.check for f in findings] == ["fact"]


def test_figures_are_compared_as_values() -> None:
    kinds = {(f.kind, f.value) for f in figures("1 hour 20 minutes, 80 mins, 3:05 pm, 30 per cent")}
    assert kinds == {
        ("duration", 4800.0),
        ("duration", 4800.0),
        ("time", "15:05"),
        ("percentage", 30.0),
    }
    allowed = Allowed.from_text("impact for 80 minutes")
    assert unsupported("It lasted 1 hour 20 minutes.", allowed) == []
    assert unsupported("1. First step\n2. Second step", Allowed()) == []


def test_a_team_catalog_decides_what_is_internal() -> None:
    catalog = Catalog(
        components={"phoenix": "Ordering", "ledger-v2": None},
        internal_names=("Phoenix",),
        public_hosts=("status.example.com",),
    )
    assert catalog.component_of("phoenix") == "Ordering"
    assert catalog.component_of("ledger-v2") is None
    assert catalog.component_of("unknown-svc") is None  # looks internal: never named
    assert catalog.component_of("billing") == "Billing"  # a plain word names itself
    policy = Policy(audience="public", catalog=catalog, services=["ledger-v2"])
    text, _ = policy.screen("Phoenix is down. ledger-v2 is slow. Orders are delayed.")
    assert text == "Orders are delayed."
