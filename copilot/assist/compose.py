"""Composers: the embedded extractive one, and one that asks a chat model."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import resources
from string import Template

from copilot.assist import steps as step_mod
from copilot.errors import ProviderError
from copilot.guardrails.verify import Proposed
from copilot.knowledge.passages import PHASE_ORDER, Passage
from copilot.llm.base import ChatModel

# A responder reads about ten steps mid-incident: enough checks to locate the fault, enough
# mitigations to choose from, one way to confirm recovery and one way up.
_PHASE_CAPS = {"diagnose": 4, "mitigate": 5, "verify": 1, "escalate": 1}


def phase_cap(phase: str, max_steps: int) -> int:
    """Steps allowed per phase, scaled with the step budget (10 by default)."""
    return max(1, -(-_PHASE_CAPS.get(phase, 1) * max_steps // 10))


@dataclass
class AskContext:
    question: str
    passages: list[Passage]
    incident_text: str = ""
    done: list[str] = field(default_factory=list)
    max_steps: int = 8


@dataclass
class Draft:
    answer: str
    steps: list[Proposed]
    provider: str
    skipped_done: list[str] = field(default_factory=list)


class Composer(ABC):
    """Turn a question and safe passages into a draft answer with cited steps."""

    name = "composer"

    @abstractmethod
    def compose(self, ctx: AskContext) -> Draft:
        """Return a draft; it is verified by the caller before anyone sees it."""


def load_prompt(name: str) -> str:
    return resources.files("copilot.assist").joinpath("prompts", name).read_text(encoding="utf-8")


def _first_sentence(text: str, limit: int = 220) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    sentence = match.group(1) if match else flat
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + " …"


class ExtractiveComposer(Composer):
    """No model: steps are list items and commands lifted from Diagnosis and Mitigation."""

    name = "extractive"

    def compose(self, ctx: AskContext) -> Draft:
        candidates = [c for p in ctx.passages for c in step_mod.extract(p)]
        chosen: list[step_mod.Candidate] = []
        skipped: list[str] = []
        per_phase: dict[str, int] = {}
        seen: set[str] = set()
        # The best runbook fills each phase first: a second runbook close behind adds steps
        # only where the first has too few, never crowding out the first one's own steps.
        rank = {src: i for i, src in enumerate(dict.fromkeys(p.chunk.source for p in ctx.passages))}
        by_doc = sorted(
            step_mod.order(candidates),
            key=lambda c: (PHASE_ORDER.get(c.phase, 9), rank[c.passage.chunk.source]),
        )
        for cand in by_doc:
            key = step_mod.normalise(cand.command or cand.text)
            if key in seen:
                continue
            seen.add(key)
            if step_mod.already_done(cand, ctx.done):
                skipped.append(cand.text)
                continue
            if per_phase.get(cand.phase, 0) >= phase_cap(cand.phase, ctx.max_steps):
                continue
            per_phase[cand.phase] = per_phase.get(cand.phase, 0) + 1
            chosen.append(cand)
        chosen = step_mod.order(chosen)[: ctx.max_steps]
        return Draft(
            answer=self._answer(ctx, chosen, skipped),
            steps=[Proposed(c.text, c.command, [c.passage.id]) for c in chosen],
            provider=self.name,
            skipped_done=skipped,
        )

    @staticmethod
    def _answer(ctx: AskContext, chosen: list[step_mod.Candidate], skipped: list[str]) -> str:
        if not ctx.passages:
            return "I don't know: nothing in the knowledge base matches this."
        top = ctx.passages[0].chunk
        overview = next(
            (p for p in ctx.passages if p.chunk.source == top.source and p.phase is None), None
        )
        parts = [f"Closest runbook: {top.title} ({top.source})."]
        if overview and overview.text.strip():
            parts.append(_first_sentence(overview.text))
        counts = {ph: sum(1 for c in chosen if c.phase == ph) for ph in _PHASE_CAPS}
        if chosen:
            plan = []
            if counts["diagnose"]:
                plan.append(f"{counts['diagnose']} check(s) first")
            if counts["mitigate"]:
                plan.append(f"then {counts['mitigate']} mitigation step(s)")
            if counts["verify"] or counts["escalate"]:
                plan.append("then verify and escalate as needed")
            parts.append("Suggested order: " + ", ".join(plan) + ".")
            risky = sum(1 for c in chosen if c.requires_approval)
            if risky:
                parts.append(f"{risky} step(s) change production and need approval first.")
        else:
            parts.append(
                "It has no concrete steps for this; read the cited sections and escalate to the "
                "owning team."
            )
        if skipped:
            parts.append(f"Left out {len(skipped)} step(s) the timeline records as done.")
        return " ".join(parts)


class ChatComposer(Composer):
    """Ask a chat model to write the answer from the same passages, as JSON citing passage ids."""

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        self.name = chat.name
        self._system = load_prompt("ask_system.md")
        self._user = Template(load_prompt("ask_user.md"))

    def render(self, ctx: AskContext) -> str:
        blocks = []
        for p in ctx.passages:
            c = p.chunk
            blocks.append(
                f'<passage id="{p.id}" source="{c.source}" section="{c.section}" '
                f'kind="{c.kind}" trust="untrusted">\n{p.text}\n</passage>'
            )
        done = "\n".join(f"- done: {d}" for d in ctx.done)
        return self._user.substitute(
            question=ctx.question,
            incident=(ctx.incident_text + ("\n" + done if done else "")).strip() or "(none)",
            passages="\n\n".join(blocks) or "(no passages)",
        )

    def compose(self, ctx: AskContext) -> Draft:
        reply = self.chat.complete(system=self._system, user=self.render(ctx))
        data = parse_json_object(reply)
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list):
            raise ProviderError("model answer has no 'steps' list")
        proposals = []
        # Verification may drop some; the caller keeps the first max_steps that pass.
        for item in raw_steps[: ctx.max_steps * 4]:
            if not isinstance(item, dict):
                continue
            citations = item.get("citations") or []
            if isinstance(citations, str):
                citations = [citations]
            command = item.get("command")
            proposals.append(
                Proposed(
                    text=str(item.get("text") or ""),
                    command=str(command) if command else None,
                    citations=[str(c) for c in citations],
                )
            )
        return Draft(
            answer=str(data.get("answer") or ""),
            steps=proposals,
            provider=self.name,
        )


def parse_json_object(reply: str) -> dict[str, object]:
    """The first JSON object in a model's reply (models wrap JSON in prose or fences)."""
    start = reply.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(reply[start:])
        except json.JSONDecodeError:
            start = reply.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = reply.find("{", start + 1)
    raise ProviderError("model answer is not a JSON object")
