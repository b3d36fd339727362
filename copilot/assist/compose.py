"""Composers: the embedded extractive one, and one that asks a chat model."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import resources
from string import Template

from copilot.assist import done as done_mod
from copilot.assist import steps as step_mod
from copilot.assist.sentences import case_of
from copilot.errors import ProviderError
from copilot.guardrails.verify import Proposed
from copilot.knowledge.contrast import contrasted
from copilot.knowledge.passages import PHASE_ORDER, Passage
from copilot.knowledge.terms import keyword_terms, stem
from copilot.llm.base import ChatModel

# Phases a responder reads first; the cap on steps applies per answer, after ranking.
_PHASES = ("diagnose", "mitigate", "verify", "escalate")
_PHASE_WEIGHT = {"diagnose": 0.3, "mitigate": 0.3, "verify": 0.1, "escalate": 0.05}


@dataclass
class AskContext:
    question: str
    passages: list[Passage]
    incident_text: str = ""
    done: list[str] = field(default_factory=list)
    max_steps: int = 8
    # "fix" when the question asks how to fix (mitigation steps rank first), else "symptom".
    intent: str = "symptom"
    # The best runbook's near twin (it matches about equally): its steps get room of their own
    # beyond the cap, `twin_steps` of them, so the reader sees both and the best one's stay.
    twin: str | None = None
    twin_steps: int = 0


@dataclass
class Draft:
    answer: str
    steps: list[Proposed]
    provider: str
    skipped_done: list[str] = field(default_factory=list)
    done_by: list[str] = field(default_factory=list)
    more: int = 0


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
        candidates = step_mod.point_above(
            [c for p in ctx.passages for c in step_mod.extract(p)], ctx.passages
        )
        rank = {src: i for i, src in enumerate(dict.fromkeys(p.chunk.source for p in ctx.passages))}
        # A word the question rules out ("not the kubelet one") earns a step nothing.
        terms = {stem(t) for t in keyword_terms(contrasted(ctx.question).kept)}
        kept: list[step_mod.Candidate] = []
        skipped: list[step_mod.Candidate] = []
        seen: set[str] = set()
        for cand in step_mod.order(candidates):
            key = step_mod.normalise(cand.command or cand.text)
            if key in seen:
                continue
            seen.add(key)
            cand.done_by = None if cand.caution else done_mod.already_done(cand, ctx.done)
            if cand.done_by:
                skipped.append(cand)
                continue
            cand.relevance = _relevance(cand, terms, rank, ctx.intent)
            kept.append(cand)
        # Every step is a candidate; the cap keeps the most relevant ones, never the first ones.
        ranked = sorted(kept, key=lambda c: -c.relevance)
        best = _with_checks(ranked, ctx.max_steps, rank)
        if ctx.twin is not None:
            best += [c for c in ranked[ctx.max_steps :] if c.passage.chunk.source == ctx.twin][
                : ctx.twin_steps
            ]
        chosen = step_mod.order(best)
        # In its phase, the step for the case the question names leads: "pods keep restarting
        # after deploy" puts "**Caused by a deploy:** roll back" before "**OOMKilled after
        # traffic growth:** ...", though the rollback needs approval.
        chosen.sort(
            key=lambda c: (
                PHASE_ORDER.get(c.phase, 9),
                rank[c.passage.chunk.source],
                not _names_the_case(c, terms),
            )
        )
        more = len(kept) - len(chosen)
        return Draft(
            answer=self._answer(ctx, chosen, skipped, more),
            steps=[Proposed(c.shown, c.command, c.cites) for c in chosen],
            provider=self.name,
            skipped_done=[c.shown for c in skipped],
            done_by=[c.done_by or "" for c in skipped],
            more=more,
        )

    @staticmethod
    def _answer(
        ctx: AskContext,
        chosen: list[step_mod.Candidate],
        skipped: list[step_mod.Candidate],
        more: int,
    ) -> str:
        if not ctx.passages:
            return "I don't know: nothing in the knowledge base matches this."
        top = ctx.passages[0].chunk
        overview = next(
            (p for p in ctx.passages if p.chunk.source == top.source and p.phase is None), None
        )
        parts = [f"Closest runbook: {top.title} ({top.source})."]
        if overview and overview.text.strip():
            parts.append(_first_sentence(overview.text))
        cautions = sum(1 for c in chosen if c.caution)
        counts = {ph: sum(1 for c in chosen if c.phase == ph and not c.caution) for ph in _PHASES}
        own = [c for c in chosen if c.passage.chunk.source == top.source]
        if not own:
            parts.append(
                f"{top.title} has no concrete steps (it may be a stub); "
                + (
                    "the steps below come from the next closest runbook."
                    if chosen
                    else "read the cited sections and the similar incidents, and escalate to the "
                    "owning team."
                )
            )
        if chosen:
            plan = []
            if counts["diagnose"]:
                plan.append(f"{counts['diagnose']} check(s) first")
            if counts["mitigate"]:
                then = "then " if plan else ""
                plan.append(f"{then}{counts['mitigate']} mitigation step(s)")
            if counts["verify"] or counts["escalate"]:
                plan.append("then verify and escalate as needed")
            if plan:
                parts.append("Suggested order: " + ", ".join(plan) + ".")
            risky = sum(1 for c in chosen if c.requires_approval)
            if risky:
                parts.append(f"{risky} step(s) are destructive or risky and need approval first.")
            if cautions:
                parts.append(f"{cautions} caution(s) from the runbook: what not to do.")
        if more:
            parts.append(f"{more} more step(s) in the cited sections are not listed.")
        if skipped:
            parts.append(f"Left out {len(skipped)} step(s) the timeline records as done.")
        return " ".join(parts)


# However the question is put ("how do I unstick it"), the best runbook's first checks keep this
# many places in a capped answer: a fix is chosen by what the checks show.
CHECKS_KEPT = 3
# And however many checks it has ("what to check"), its most relevant fixes keep this many: ten
# checks and no way out is not an answer (a long Diagnosis used to fill the cap on its own).
FIXES_KEPT = 1


def _with_checks(
    ranked: list[step_mod.Candidate], cap: int, rank: dict[str, int]
) -> list[step_mod.Candidate]:
    """The `cap` most relevant steps, with the best runbook's most relevant checks (up to
    CHECKS_KEPT) and fixes (up to FIXES_KEPT) in place of the least relevant others when the
    cap left them out."""
    best = ranked[:cap]
    first = [c for c in ranked if rank[c.passage.chunk.source] == 0]
    checks = [c for c in first if c.phase == "diagnose"][: min(CHECKS_KEPT, cap)]
    fixes = [c for c in first if c.phase == "mitigate"][
        : max(0, min(FIXES_KEPT, cap - len(checks)))
    ]
    wanted = {id(c) for c in checks + fixes}
    if wanted <= {id(c) for c in best}:
        return best
    # The least relevant of the others give way; the order stays the ranking's.
    others = [c for c in best if id(c) not in wanted][: cap - len(wanted)]
    chosen = wanted | {id(c) for c in others}
    return [c for c in ranked if id(c) in chosen]


def _names_the_case(cand: step_mod.Candidate, terms: set[str]) -> bool:
    """The step is for a case the question names, in words its runbook's title and heading do
    not carry (every step of "Kubernetes pod crashloop" is about pods)."""
    case = case_of(cand.shown)
    if not case:
        return False
    chunk = cand.passage.chunk
    common = _roots(f"{chunk.title} {chunk.section}")
    return bool(({_root(t) for t in terms} - common) & _roots(case))


def _root(term: str) -> str:
    """A stem without a plural's "s": "pods" and "pod" are one word here."""
    return term[:-1] if term.endswith("s") and len(term) > 3 else term


def _roots(text: str) -> set[str]:
    return {_root(stem(t)) for t in keyword_terms(text)}


def _relevance(
    cand: step_mod.Candidate, terms: set[str], rank: dict[str, int], intent: str
) -> float:
    """How much a step is worth a place in a capped answer: its document's rank, its phase
    (mitigation first when the question asks how to fix), the question's words it names."""
    doc = 1.0 if rank[cand.passage.chunk.source] == 0 else 0.55
    phase = _PHASE_WEIGHT.get(cand.phase, 0.0)
    if intent == "fix" and cand.phase == "mitigate":
        phase += 0.15
    words = {stem(t) for t in keyword_terms(f"{cand.text} {cand.command or ''}")}
    overlap = len(terms & words) / (len(terms) or 1)
    return doc + phase + 0.4 * overlap + (0.05 if cand.command else 0.0)


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
