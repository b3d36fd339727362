"""Slack slash commands, signed exactly as Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.integrations import blockkit, slack, slack_commands
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from copilot.web.routes import FEATURES, served

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PATH = "/v1/integrations/slack/commands"


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Written out from Slack's documentation, independently of the code under test."""
    basestring = f"v0:{timestamp}:{body.decode()}".encode()
    return "v0=" + hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()


def form(text: str, *, channel: str = "C024BE91L", user: str = "dana") -> bytes:
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",  # Slack's deprecated token: ignored
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "inc-checkout",
            "user_id": "U2147483697",
            "user_name": user,
            "command": "/incident",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/1234/5678",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "api_app_id": "A123456",
        }
    ).encode()


Send = Callable[..., Any]


@pytest.fixture
def app_parts(
    sample_kb: KnowledgeBase, tmp_path: Any
) -> Iterator[tuple[TestClient, IncidentStore]]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        slack_signing_secret=SecretStr(SECRET),
        public_url="https://copilot.example.com",
        _env_file=None,
    )
    store = IncidentStore(settings.sqlalchemy_url)
    with TestClient(create_app(settings, kb=sample_kb, incident_store=store)) as client:
        yield client, store
    store.close()


@pytest.fixture
def client(app_parts: tuple[TestClient, IncidentStore]) -> TestClient:
    return app_parts[0]


@pytest.fixture
def send(client: TestClient) -> Send:
    """POST a command signed as Slack would; returns the response."""

    def _send(text: str, *, at: float | None = None, **kwargs: Any) -> Any:
        body = form(text, **kwargs)
        timestamp = str(int(at if at is not None else time.time()))
        return client.post(
            PATH,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": slack_signature(SECRET, timestamp, body),
            },
        )

    return _send


def reply(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["response_type"] in ("in_channel", "ephemeral")
    assert isinstance(body["text"], str) and body["text"]
    assert 0 < len(body["blocks"]) <= 50
    for block in body["blocks"]:
        assert block["type"] in ("header", "section", "context", "divider")
        if block["type"] == "section" and "text" in block:
            assert block["text"]["type"] == "mrkdwn"
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
    return body


def text_of(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for block in body["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        for item in block.get("fields", []) + block.get("elements", []):
            parts.append(item["text"])
    return "\n".join(parts)


# -- signature checks ---------------------------------------------------------------------------


def test_the_signature_matches_slacks_documented_example() -> None:
    # The worked example in Slack's "Verifying requests from Slack" guide.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack.sign(SECRET, "1531420618", body) == expected
    slack.verify(SECRET, timestamp="1531420618", signature=expected, body=body, now=1531420618)


def test_unsigned_requests_are_401(client: TestClient, app_parts: Any) -> None:
    r = client.post(PATH, content=form("declare Unsigned outage SEV1"))
    assert r.status_code == 401
    assert "signed" in r.json()["detail"]
    assert client.get("/v1/incidents").json()["incidents"] == []


def test_stale_and_future_requests_are_401(send: Send, client: TestClient) -> None:
    for skew in (-301, 301, -3600):
        r = send("declare Replayed outage", at=time.time() + skew)
        assert r.status_code == 401, skew
        assert "5 minutes" in r.json()["detail"]
    assert reply(send("help", at=time.time() - 250))["response_type"] == "ephemeral"
    assert client.get("/v1/incidents").json()["incidents"] == []


def test_tampered_requests_are_401(client: TestClient) -> None:
    body = form("note routine check")
    timestamp = str(int(time.time()))
    good = slack_signature(SECRET, timestamp, body)
    tampered_body = body.replace(b"routine+check", b"delete+everything")
    cases = [
        (tampered_body, timestamp, good),  # body changed after signing
        (body, str(int(timestamp) - 1), good),  # timestamp changed after signing
        (body, timestamp, good[:-1] + ("0" if good[-1] != "0" else "1")),  # one hex digit off
        (body, timestamp, slack_signature("another-secret", timestamp, body)),  # wrong secret
        (body, timestamp, "v1=" + good[3:]),  # wrong version
        (body, timestamp, "v0=\u00e9"),  # not even hex (sent as a Latin-1 byte)
        (body, "12a", good),  # not a timestamp
    ]
    for sent_body, sent_ts, signature in cases:
        r = client.post(
            PATH,
            content=sent_body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": sent_ts,
                "X-Slack-Signature": signature.encode("latin-1"),  # type: ignore[dict-item]
            },
        )
        assert r.status_code == 401, (sent_ts, signature)


def test_without_a_signing_secret_every_request_is_refused(
    sample_kb: KnowledgeBase, settings: Settings
) -> None:
    store = IncidentStore(settings.sqlalchemy_url)
    with TestClient(create_app(settings, kb=sample_kb, incident_store=store)) as client:
        body = form("help")
        ts = str(int(time.time()))
        r = client.post(
            PATH,
            content=body,
            headers={
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": slack_signature("", ts, body),
            },
        )
        assert r.status_code == 404
        assert "COPILOT_SLACK_SIGNING_SECRET" in r.json()["detail"]
    store.close()


def test_slack_needs_no_api_key_but_the_rest_of_v1_does(
    app_parts: tuple[TestClient, IncidentStore], send: Send
) -> None:
    client, _ = app_parts
    keys = getattr(client.app.state, "keys", None)  # type: ignore[attr-defined]
    if keys is None:
        pytest.skip("API keys are not installed in this build (copilot.security)")
    keys.create("ops", ["read", "respond"])
    assert client.get("/v1/incidents").status_code == 401
    assert reply(send("declare Keyed server outage SEV2"))["response_type"] == "in_channel"
    # An unsigned request is still refused: the exemption is from keys, not from checks.
    assert client.post(PATH, content=form("help")).status_code == 401


# -- commands -----------------------------------------------------------------------------------


def test_declare_binds_the_channel_and_note_goes_to_it(send: Send, client: TestClient) -> None:
    body = reply(send("declare Checkout 502s in EU SEV2"))
    assert body["response_type"] == "in_channel"
    assert body["blocks"][0]["type"] == "header"
    assert "INC-1 declared: Checkout 502s in EU" in body["blocks"][0]["text"]["text"]
    shown = text_of(body)
    assert "SEV2" in shown and "dana" in shown
    assert "<https://copilot.example.com/incidents/INC-1|Open INC-1 in the war room>" in shown

    incident = client.get("/v1/incidents/INC-1").json()
    assert incident["severity"] == "SEV2"
    assert incident["roles"]["incident_commander"] == "dana"

    noted = reply(send("note PgBouncer pool at 80/80", user="sam"))
    assert noted["response_type"] == "in_channel"
    assert "Noted on INC-1 by sam" in text_of(noted)
    events = client.get("/v1/incidents/INC-1/events").json()["events"]
    notes = [e for e in events if e["kind"] == "note" and not e["data"]]
    assert [(e["text"], e["author"]) for e in notes] == [("PgBouncer pool at 80/80", "sam")]
    binding = [e for e in events if slack_commands.BINDING_KEY in e["data"]]
    assert binding and binding[0]["data"][slack_commands.BINDING_KEY]["id"] == "C024BE91L"


def test_declare_without_severity_uses_the_lowest_level(send: Send, client: TestClient) -> None:
    reply(send("declare Slow admin reports"))
    incident = client.get("/v1/incidents/INC-1").json()
    assert incident["title"] == "Slow admin reports"
    assert incident["severity"] == "SEV4"
    reply(send("declare Payments down p1"))
    assert client.get("/v1/incidents/INC-2").json()["severity"] == "SEV1"


def test_which_incident_a_note_goes_to(send: Send, client: TestClient) -> None:
    reply(send("declare First outage SEV3", channel="C1"))
    reply(send("declare Second outage SEV3", channel="C2"))
    reply(send("note for the first", channel="C1"))
    reply(send("note INC-2: named explicitly", channel="C1"))
    reply(send("note inc-1 lower case works too", channel="C9"))

    def notes(incident: str) -> list[str]:
        events = client.get(f"/v1/incidents/{incident}/events").json()["events"]
        return [e["text"] for e in events if e["kind"] == "note" and not e["data"]]

    assert notes("INC-1") == ["for the first", "lower case works too"]
    assert notes("INC-2") == ["named explicitly"]

    # A channel with no incident: a helpful message only the caller sees, nothing written.
    lost = reply(send("note where does this go", channel="C404"))
    assert lost["response_type"] == "ephemeral"
    assert "which incident" in text_of(lost)
    assert "/incident bind" in text_of(lost)

    # Binding moves the channel; closing the incident releases it.
    reply(send("bind INC-2", channel="C1"))
    reply(send("note after the bind", channel="C1"))
    assert notes("INC-2")[-1] == "after the bind"
    for status in ("resolved", "closed"):
        assert client.patch("/v1/incidents/INC-2", json={"status": status}).status_code == 200
    reply(send("note back to the first", channel="C1"))
    assert notes("INC-1")[-1] == "back to the first"


def test_bad_commands_answer_privately(send: Send) -> None:
    cases = {
        "": "Usage",
        "frobnicate now": "Usage",
        "declare": "declare what",
        "note INC-99 nobody home": "no incident INC-99",
        "bind": "bind which incident",
        "ask": "ask what",
    }
    for text, expected in cases.items():
        body = reply(send(text))
        assert body["response_type"] == "ephemeral", text
        assert expected in text_of(body), (text, text_of(body))


def test_ask_answers_with_cited_steps(send: Send) -> None:
    reply(send("declare Checkout failing SEV1"))
    body = reply(send("ask checkout failing, pgbouncer says too many clients"))
    assert body["response_type"] == "in_channel"
    assert body["blocks"][0]["text"]["text"].startswith("Copilot (INC-1): checkout failing")
    shown = text_of(body)
    assert (
        "<https://copilot.example.com/runbooks/runbooks/orders-db-connection-pool-exhausted.md"
        "?lines=" in shown
    )
    assert ":warning: *Requires approval*" in shown
    assert "```" in shown  # commands as code
    assert "confidence" in body["blocks"][-1]["elements"][0]["text"]


def test_ask_says_how_many_steps_are_left_out_and_all_lists_them(send: Send) -> None:
    reply(send("declare Checkout failing SEV1"))
    capped = text_of(reply(send("ask checkout failing, pgbouncer says too many clients")))
    hint = re.search(r"(\d+) more step\(s\) not listed\. `/incident ask --all (.+?)`", capped)
    assert hint, capped
    assert hint.group(2) == "checkout failing, pgbouncer says too many clients"
    every = reply(send("ask --all checkout failing, pgbouncer says too many clients"))
    assert every["blocks"][0]["text"]["text"] == (
        "Copilot (INC-1): checkout failing, pgbouncer says too many clients"
    )
    shown = text_of(every)
    assert "not listed" not in shown
    numbered = len(re.findall(r"^\*\d+\.\* ", shown, re.M))
    assert numbered > len(re.findall(r"^\*\d+\.\* ", capped, re.M))
    assert len(every["blocks"]) <= 50  # what Slack accepts in one message


def test_ask_names_the_steps_the_timeline_records_as_done(send: Send) -> None:
    reply(send("declare Checkout pods crashlooping SEV2"))
    reply(send("note Rolled back checkout-api to the previous release"))
    shown = text_of(reply(send("ask pods keep restarting after deploy")))
    done = shown.split("*Already done (left out)*", 1)[1]
    assert "roll back" in done.lower()
    assert "done: " in done and "Rolled back checkout-api to the previous release" in done


def test_ask_shows_a_runbooks_caution_apart_from_the_numbered_steps(send: Send) -> None:
    reply(send("declare Baskets emptied SEV2"))
    shown = text_of(reply(send("ask baskets are getting emptied, redis-carts evicting keys")))
    steps, cautions = shown.split("*Caution: the runbook says not to*", 1)
    assert "Never run" not in steps
    assert cautions.lstrip().startswith(":no_entry: Never run `FLUSHALL`")
    assert "Requires approval" not in cautions


def test_ask_off_topic_abstains(send: Send) -> None:
    body = reply(send("ask what is a good sourdough recipe", channel="C777"))
    assert body["blocks"][0]["text"]["text"] == "Copilot: what is a good sourdough recipe"
    assert "don't know" in text_of(body)


def test_user_text_cannot_ping_the_channel(send: Send, client: TestClient) -> None:
    reply(send("declare Outage <!channel> SEV3"))
    body = reply(send("note <!here> wake up <@U123|boss> & <https://evil.example|click>"))
    shown = text_of(body)
    assert "<!here>" not in shown and "<@U123" not in shown and "<https://evil" not in shown
    assert "&lt;!here&gt; wake up &lt;@U123|boss&gt; &amp;" in shown


def test_status_and_postmortem_commands(send: Send, client: TestClient) -> None:
    reply(send("declare Checkout failing SEV2"))
    status = reply(send("status public"))
    postmortem = reply(send("postmortem"))
    if served(client.app, *FEATURES["status_updates"]):  # type: ignore[arg-type]
        assert status["response_type"] == "ephemeral"
        assert "Draft public update · INC-1" in status["blocks"][0]["text"]["text"]
    else:
        assert "does not draft status updates yet" in text_of(status)
    if served(client.app, *FEATURES["postmortem"]):  # type: ignore[arg-type]
        assert "Postmortem draft · INC-1" in postmortem["blocks"][0]["text"]["text"]
    else:
        assert "does not pre-fill postmortems yet" in text_of(postmortem)
    wrong = reply(send("status shareholders"))
    assert "audience must be one of internal, executive, public" in text_of(wrong)


# -- markdown as Slack mrkdwn -----------------------------------------------------------------


def test_status_draft_is_mrkdwn_not_raw_markdown(send: Send, client: TestClient) -> None:
    if not served(client.app, *FEATURES["status_updates"]):  # type: ignore[arg-type]
        pytest.skip("this build does not draft status updates")
    reply(send("declare Checkout failing SEV2"))
    body = reply(send("status executive"))
    draft = body["blocks"][1]["text"]["text"]
    assert "*Affected:*" in draft and "**" not in draft
    assert "**" not in body["text"] and "*Affected:*" in body["text"]


def test_ask_answer_and_steps_are_mrkdwn(send: Send) -> None:
    reply(send("declare Checkout failing SEV1"))
    body = reply(send("ask checkout failing, pgbouncer says too many clients"))
    shown = text_of(body)
    assert "**" not in shown
    # Inline code survives as code; nothing the runbooks hold can mention anyone.
    assert "<!" not in shown and "<@" not in shown
    for block in body["blocks"]:
        text = block.get("text", {}).get("text", "")
        assert text.count("```") % 2 == 0, text


def test_fallback_text_is_escaped(send: Send) -> None:
    reply(send("declare Outage SEV3"))
    body = reply(send("note <!channel> look & see"))
    assert "<!channel>" not in body["text"]
    assert "&lt;!channel&gt; look &amp; see" in body["text"]


def test_links_and_clipping_keep_mrkdwn_whole() -> None:
    assert blockkit.link("https://x.example/a?b=<c>|d", "a|b <c>") == (
        "<https://x.example/a?b=%3Cc%3E%7Cd|a¦b &lt;c&gt;>"
    )
    assert blockkit.link(None, "<b>") == "&lt;b&gt;"
    text = "x" * 2990 + " &amp; more"
    clipped = blockkit.clip(text, 3000)
    assert len(clipped) <= 3000 and clipped.endswith("…") and "&am…" not in clipped
    linked = "y" * 2980 + " <https://example.com/a|a link>"
    assert blockkit.clip(linked, 3000) == "y" * 2980 + "…"
    code = "```" + "z" * 3100 + "```"
    clipped = blockkit.clip(code, 3000)
    assert len(clipped) <= 3000 and clipped.endswith("…```")


def test_runbook_links_in_mrkdwn_open_the_war_room(app_parts: Any) -> None:
    client, store = app_parts
    state = client.app.state
    ctx = slack_commands.Context(
        settings=state.settings,
        store=store,
        kb=state.kb,
        composer=None,  # type: ignore[arg-type]
    )
    out = ctx.mrkdwn(
        "See [Deploy rollback](deploy-rollback.md), [Nope](nope.md) and [docs](https://k8s.io).",
        source="runbooks/api-gateway-5xx-spike.md",
    )
    assert out == (
        "See <https://copilot.example.com/runbooks/runbooks/deploy-rollback.md|Deploy rollback>,"
        " Nope and <https://k8s.io|docs>."
    )


def test_times_sets_when_impact_started_and_was_detected(send: Send, client: TestClient) -> None:
    reply(send("declare Checkout failing SEV2"))
    incident = client.get("/v1/incidents/INC-1").json()
    declared = incident["declared_at"][:10]
    body = reply(send(f"times started={declared}T00:01Z detected={declared}T00:02"))
    assert body["response_type"] == "in_channel"
    assert f"INC-1: started {declared} 00:01 UTC, detected {declared} 00:02 UTC" in text_of(body)
    after = client.get("/v1/incidents/INC-1").json()
    assert after["started_at"].startswith(f"{declared}T00:01")
    assert after["detected_at"].startswith(f"{declared}T00:02")
    for wrong, expected in {
        "times": "set which time?",
        "times resolved=10:00": "which time?",
        "times started=soon": "'soon' is not a time",
        "times detected=2999-01-01T00:00Z": "in the future",
    }.items():
        refused = reply(send(wrong))
        assert refused["response_type"] == "ephemeral"
        assert expected in text_of(refused), (wrong, text_of(refused))
