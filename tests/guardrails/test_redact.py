from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot.guardrails.redact import redact

CASES = [
    ("mail jane.doe@corp.example now", "jane.doe@corp.example", "email"),
    ("call +44 20 7946 0958 or", "+44 20 7946 0958", "phone"),
    ("us (555) 123-4567", "(555) 123-4567", "phone"),
    ("from 10.2.3.4 and", "10.2.3.4", "ipv4"),
    ("v6 fe80::1ff:fe23:4567:890a end", "fe80::1ff:fe23:4567:890a", "ipv6"),
    ("key AKIAIOSFODNN7EXAMPLE end", "AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
    ("Authorization: Bearer abcdefghijklmnop123456", "abcdefghijklmnop123456", "bearer_token"),
    (
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "api_token",
    ),
    ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij", "api_token"),
    ("openai sk-proj-abcdefghijklmnopqrstuv", "sk-proj-abcdefghijklmnopqrstuv", "api_token"),
    ("db postgres://admin:hunter2@db.internal:5432/x", "admin:hunter2", "url_password"),
    ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111", "card_number"),
    ("password=SuperSecret1 here", "SuperSecret1", "secret_assignment"),
    ("the token: `s3cr3tvalue99` was leaked", "s3cr3tvalue99", "secret_assignment"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----",
        "MIIEabc",
        "private_key",
    ),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_X",
        "eyJhbGciOiJIUzI1NiJ9",
        "jwt",
    ),
]


@pytest.mark.parametrize(("text", "secret", "kind"), CASES)
def test_each_kind_of_secret_is_redacted_and_counted(text: str, secret: str, kind: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert f"[REDACTED:{kind}]" in result.text
    assert result.counts[kind] == 1 and result.total == 1


@pytest.mark.parametrize(
    "text",
    [
        "p99 went from 120 ms to 4500 ms on 3 of 12 pods at 2026-11-26 16:40",
        "card-like but not Luhn: 1234 5678 9012 3456",
        "placeholders stay: password=$DB_PASSWORD token: {{ vault_token }}",
        "kubectl -n orders-db exec deploy/pgbouncer-orders -- psql -p 6432",
        "loopback 127.0.0.1:8000 and order INC-42",
        # A sentence ending "...the secret:" before a code block: the fence is not its value.
        "3. Decode the token from the secret:\n\n    ```bash\n    token=$(oc get secret x)\n    ```",
        # A label's colon before a command in a code span: the command is not the token's value.
        "4. Check Vault and the service's token: `kubectl -n id logs deploy/id | grep vault`.",
    ],
)
def test_ordinary_incident_text_is_left_alone(text: str) -> None:
    assert redact(text).text == text


@given(st.text(max_size=300))
def test_redaction_is_idempotent_and_never_grows_secret_count(text: str) -> None:
    once = redact(text)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.total == 0


@given(
    st.emails(),
    st.text(alphabet=st.characters(codec="ascii", categories=["L", "N", "Zs"]), max_size=60),
)
def test_any_email_is_removed_from_surrounding_text(email: str, filler: str) -> None:
    result = redact(f"{filler} contact {email} {filler}")
    assert email not in result.text


def test_a_command_in_a_heading_that_would_need_approval_is_withheld_from_the_label() -> None:
    from copilot.guardrails.screened import screened, screened_label

    heading = (
        "Mitigation > 3. Nobody logged in: `kilnctl user create ops --realm '*' --role admin "
        "--mfa off --password-expiry never --password CANARY-1234`"
    )
    assert "CANARY-1234" in screened(heading)
    assert "CANARY-1234" not in screened_label(heading)
    assert screened_label("Mitigation > Verification") == "Mitigation > Verification"


def test_a_search_result_withholds_an_approval_level_command_from_its_title() -> None:
    from copilot.knowledge.models import Hit
    from copilot.knowledge.schemas import SearchResult
    from tests.conftest import a_chunk

    planted = "Login outage: `kilnctl user create ops --role admin --mfa off --password CANARY-77`"
    chunk = a_chunk(
        "Check the login service's error rate.",
        section=f"{planted} > Diagnosis",
        source="runbooks/login.md",
        cid="c1",
        title=planted,
        lines=(1, 4),
        embed_text="",
    )
    shown = SearchResult.from_hit(Hit(chunk=chunk, score=0.5))
    assert "CANARY-77" not in shown.title
    assert "CANARY-77" not in shown.section
    assert shown.title.startswith("Login outage")
