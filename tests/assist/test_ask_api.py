from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from copilot.llm.base import ChatModel
from tests.assist.conftest import SlowChat, scripted
from tests.conftest import SAMPLE_KB

Make = Callable[[ChatModel | None], TestClient]


def _cited_text(citation: dict[str, Any]) -> str:
    lines = (SAMPLE_KB / citation["source"]).read_text().split("\n")
    start, end = citation["lines"]
    return " ".join("\n".join(lines[start - 1 : end]).split())


def test_extractive_answer_steps_are_cited_and_commands_verbatim(ask_client: Make) -> None:
    client = ask_client(None)
    r = client.post(
        "/v1/ask", json={"question": "checkout failing, pgbouncer says too many clients"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["abstained"] is False and body["provider"] == "extractive"
    assert body["steps"], body
    assert body["steps"][0]["citations"][0]["source"] == (
        "runbooks/orders-db-connection-pool-exhausted.md"
    )
    for step in body["steps"]:
        assert step["citations"], step
        if step["command"]:
            cited = " ".join(_cited_text(c) for c in step["citations"])
            assert " ".join(step["command"].split()) in cited, step
    sections = [s["citations"][0]["section"] for s in body["steps"]]
    first_mitigation = next(i for i, sec in enumerate(sections) if "Mitigation" in sec)
    assert all("Diagnosis" in sec for sec in sections[:first_mitigation])
    risky = [s for s in body["steps"] if s["command"] and "pg_terminate_backend" in s["command"]]
    assert risky and all(s["requires_approval"] for s in risky)
    assert 0 < body["confidence"] <= 1
    assert any(c["source"].startswith("runbooks/") for c in body["citations"])


def test_similar_incidents_come_from_postmortems(ask_client: Make) -> None:
    r = ask_client(None).post("/v1/ask", json={"question": "baskets emptied, redis evicting keys"})
    similar = r.json()["similar_incidents"]
    assert similar[0]["source"] == "postmortems/2026-04-19-carts-emptied-redis-eviction.md"
    assert similar[0]["what_happened"] and similar[0]["what_fixed_it"]


def test_off_topic_question_abstains_instead_of_inventing(ask_client: Make) -> None:
    r = ask_client(None).post("/v1/ask", json={"question": "what is a good sourdough recipe"})
    body = r.json()
    assert body["abstained"] is True
    assert body["steps"] == []
    assert "don't know" in body["answer"]
    assert body["confidence"] < 0.5


def test_question_secrets_are_redacted_and_counted(ask_client: Make) -> None:
    question = (
        "vault sealed; I tried token hvs.CAESIJk3x9Lq0wExampleExampleExample and "
        "mailed oncall.lead@larkfield.example from 10.20.30.40"
    )
    r = ask_client(None).post("/v1/ask", json={"question": question})
    assert r.status_code == 200
    assert r.json()["guardrails"]["redactions"] >= 3
    for secret in ("hvs.CAESIJk3x9", "oncall.lead@", "10.20.30.40"):
        assert secret not in r.text


def test_incident_context_skips_steps_already_done(ask_client: Make) -> None:
    client = ask_client(None)
    question = {"question": "redis carts memory full, baskets disappearing"}
    before = client.post("/v1/ask", json=question).json()
    first = before["steps"][0]
    incident = client.post(
        "/v1/incidents",
        json={"title": "Baskets disappearing", "severity": "SEV2", "services": ["cart-service"]},
    ).json()
    done_text = f"Ran {first['command'] or first['text']}"
    client.post(
        f"/v1/incidents/{incident['id']}/events", json={"kind": "action", "text": done_text}
    )
    after = client.post("/v1/ask", json={**question, "incident_id": incident["id"]}).json()
    assert first["text"] in after["skipped_done"]
    assert all(s["text"] != first["text"] for s in after["steps"])


def test_bad_ask_input(ask_client: Make) -> None:
    client = ask_client(None)
    assert client.post("/v1/ask", json={"question": ""}).status_code == 422
    assert client.post("/v1/ask", json={"question": "x" * 4001}).status_code == 422
    assert client.post("/v1/ask", json={"question": "disk", "top_k": 0}).status_code == 422
    r = client.post("/v1/ask", json={"question": "disk full", "incident_id": "INC-999"})
    assert r.status_code == 404
    assert "INC-999" not in r.json()["detail"] and "not found" in r.json()["detail"]


def test_a_responder_can_ask_for_every_step_the_cap_left_out(ask_client: Make) -> None:
    client = ask_client(None)
    question = "checkout failing, pgbouncer says too many clients"
    capped = client.post("/v1/ask", json={"question": question}).json()
    assert capped["more_steps"] > 0 and f"{capped['more_steps']} more step(s)" in capped["answer"]
    listed = [s for s in capped["steps"] if not s["caution"]]
    wanted = len(listed) + capped["more_steps"]
    every = client.post("/v1/ask", json={"question": question, "max_steps": wanted}).json()
    assert every["more_steps"] == 0 and "more step(s)" not in every["answer"]
    shown = [s for s in every["steps"] if not s["caution"]]
    assert len(shown) > len(listed)
    # The capped answer's steps are the first of them, none lost on the way.
    assert {s["text"] for s in listed} <= {s["text"] for s in shown}
    for bad in (0, 51, "all"):
        r = client.post("/v1/ask", json={"question": question, "max_steps": bad})
        assert r.status_code == 422, bad
        assert r.json()["detail"][0]["field"] == "max_steps"


def _llm_reply(steps: list[dict[str, Any]], answer: str = "Check the pool, then shed load.") -> str:
    return "Here you go:\n```json\n" + json.dumps({"answer": answer, "steps": steps}) + "\n```"


def test_llm_answer_is_used_when_it_verifies(ask_client: Make) -> None:
    command = (
        'kubectl -n orders-service patch hpa orders-service -p \'{"spec":{"maxReplicas":12}}\''
    )
    chat, model = scripted(
        _llm_reply(
            [{"text": "Cap the HPA.", "command": command, "citations": ["P2", "P3", "P4", "P5"]}]
        )
    )
    r = ask_client(chat).post("/v1/ask", json={"question": "pgbouncer pool saturated"})
    body = r.json()
    assert body["provider"] == "fake:scripted" and body["fallback"] is None
    assert [s["command"] for s in body["steps"]] == [command]
    assert body["answer"].startswith("Check the pool")
    prompt = model.seen[0][1].content
    assert 'trust="untrusted"' in prompt and "<question>" in prompt


def test_llm_invented_command_is_blocked_and_extractive_returned(ask_client: Make) -> None:
    chat, _ = scripted(
        _llm_reply(
            [{"text": "Wipe it.", "command": "rm -rf /var/lib/postgresql", "citations": ["P1"]}]
        )
    )
    body = ask_client(chat).post("/v1/ask", json={"question": "pgbouncer pool saturated"}).json()
    assert body["provider"] == "extractive"
    assert "verification" in body["fallback"]
    assert any("rm -rf /var/lib/postgresql" in b for b in body["guardrails"]["blocked"])
    assert all("rm -rf" not in (s["command"] or "") for s in body["steps"])
    assert body["steps"]


def test_llm_uncited_steps_and_unknown_links_are_removed(ask_client: Make) -> None:
    chat, _ = scripted(
        _llm_reply(
            [
                {"text": "Trust me.", "citations": []},
                {
                    "text": "Pause non-essential consumers, see https://evil.example/x",
                    "citations": ["P1", "P2", "P3", "P4", "P5", "P6"],
                },
            ],
            answer="Done. ![x](https://evil.example/p.png?d=1)",
        )
    )
    body = ask_client(chat).post("/v1/ask", json={"question": "pgbouncer pool saturated"}).json()
    assert body["provider"] == "fake:scripted"
    assert [s["text"] for s in body["steps"]] == [
        "Pause non-essential consumers, see [link removed]"
    ]
    assert "evil.example" not in json.dumps(body["steps"]) + body["answer"]
    blocked = " ".join(body["guardrails"]["blocked"])
    assert "without a valid citation" in blocked and "evil.example" in blocked


def test_model_failure_or_garbage_falls_back_with_a_flag(ask_client: Make) -> None:
    chat, _ = scripted("I think you should restart everything.")
    body = ask_client(chat).post("/v1/ask", json={"question": "vault sealed"}).json()
    assert body["provider"] == "extractive" and "JSON" in body["fallback"] and body["steps"]

    chat, _ = scripted()  # the script is empty: the fake raises
    r = ask_client(chat).post("/v1/ask", json={"question": "vault sealed"})
    assert r.status_code == 200 and r.json()["fallback"]


def test_slow_model_times_out_to_the_extractive_answer(ask_client: Make) -> None:
    from langchain_core.messages import AIMessage

    from copilot.llm.base import LangChainChat

    slow = LangChainChat(
        SlowChat(messages=iter([AIMessage(content="{}")])), name="fake:slow", timeout_s=0.2
    )
    body = ask_client(slow).post("/v1/ask", json={"question": "vault sealed"}).json()
    assert body["provider"] == "extractive"
    assert "did not answer within" in body["fallback"]
