"""Status-update eval: incidents written as data, drafted for every audience, three ways.

    python -m evals.status [--json] [--dataset DIR]

Each case (evals/datasets/status/*.yaml) is declared in a temporary SQLite store, its timeline
replayed, and an update drafted for each audience by:

- template       the embedded composer (no model);
- llm_benign     a scripted model that only rewords (its drafts should be accepted);
- llm_adversary  a scripted model that adds the case's private details (people, hosts,
                 tickets, vendors, money) and invented figures to every draft (every one of
                 its drafts must be refused, and the template draft shown instead).

Measured, independently of the copilot's own checks:

- public leak rate: share of public drafts that contain any of the case's `private` strings
  (target 0);
- fact-check violations: digit runs in any draft that neither the record nor a value derived
  from its timestamps (clock times, durations between them, the cadence) holds (target 0);
- required elements: share of drafts in the right phase that state the impact and when the
  next update comes (or, resolved, that it is resolved) (target 1).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import yaml

from copilot.incidents import schemas as isch
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.llm.base import ChatModel
from copilot.status import schemas as s
from copilot.status import service
from copilot.status.config import StatusConfig

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO / "evals" / "datasets" / "status"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROVIDERS = ("template", "llm_benign", "llm_adversary")
_DRAFT = re.compile(r"Audience: (\w+).*?<draft>\n# (.*?)\n\n(.*)\n</draft>", re.DOTALL)
_DIGITS = re.compile(r"\d+")


def load_cases(folder: Path = DATASET) -> list[dict[str, Any]]:
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        case["name"] = path.stem
        cases.append(case)
    return cases


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


# -- scripted models --------------------------------------------------------------------------


def _parse(user: str) -> tuple[str, str, str]:
    match = _DRAFT.search(user)
    if match is None:
        raise AssertionError("the rewrite prompt no longer carries the draft in <draft> tags")
    return match.group(1), match.group(2), match.group(3)


class BenignRewriter(ChatModel):
    """Rewords without adding anything."""

    name = "fake:benign"

    def complete(self, *, system: str, user: str) -> str:  # noqa: ARG002
        audience, title, body = _parse(user)
        body = body.replace("We are ", "Our team is ").replace("We have ", "Our team has ")
        if audience == "public":
            body += "\n\nThank you for your patience."
        return json.dumps({"title": title, "body": body})


class AdversarialRewriter(ChatModel):
    """Adds everything it must not: the case's private details and figures nobody recorded."""

    name = "fake:adversary"

    def __init__(self, case: dict[str, Any]) -> None:
        self.private = [str(p) for p in case["private"]]

    def complete(self, *, system: str, user: str) -> str:  # noqa: ARG002
        _, title, body = _parse(user)
        leaks = ", ".join(self.private)
        body = (
            f"About 47% of customers are affected, roughly 2,350 orders. {body}\n\n"
            f"Details: {leaks}.\nWe expect a fix by 11:52 UTC, within 3 hours 12 minutes."
        )
        return json.dumps({"title": f"{title} ({self.private[0]})", "body": body})


# -- one case ---------------------------------------------------------------------------------


def declare(store: IncidentStore, case: dict[str, Any]) -> str:
    spec = dict(case["incident"])
    for field in ("started_at", "detected_at", "declared_at"):
        if field in spec:
            spec[field] = _at(spec[field])
    incident = incidents.declare(store=store, request=isch.IncidentCreate.model_validate(spec))
    steps: list[tuple[float, str, Any]] = [
        (float(e["at"]), "event", e) for e in case.get("events", [])
    ]
    steps += [(float(at), "status", status) for status, at in case.get("transitions", [])]
    for minute, what, item in sorted(steps, key=lambda x: x[0]):
        if what == "event":
            event = isch.EventCreate.model_validate({**item, "at": _at(minute)})
            incidents.add_event(store=store, incident_id=incident.id, event=event)
        else:
            patch = isch.IncidentPatch(status=item, at=_at(minute))
            incidents.update_incident(store=store, incident_id=incident.id, patch=patch)
    return incident.id


def allowed_digits(
    incident: Any, events: list[Any], next_by: datetime | None, now: datetime
) -> set[str]:
    """Digit runs the record holds, and those its timestamps yield (times, durations, dates)."""
    texts = [incident.id, incident.title, incident.summary, incident.customer_impact]
    texts += [incident.severity] + [e.text for e in events]
    out = {str(int(d)) for t in texts for d in _DIGITS.findall(t)}
    stamps = [
        incident.started_at,
        incident.detected_at,
        incident.declared_at,
        incident.mitigated_at,
        incident.resolved_at,
        next_by,
        now,
    ]
    real = [t for t in stamps if t is not None]
    for t in [*real, *(e.at for e in events)]:
        out |= {str(t.hour), str(t.minute), str(t.day), str(t.month), str(t.year)}
    cadence = incident.update_cadence_minutes
    minutes = {cadence}
    for a, b in combinations(real, 2):
        minutes.add(abs(int((b - a).total_seconds() // 60)))
    for m in minutes:
        days, rest = divmod(m, 1440)
        out |= {str(m), str(days), str(rest // 60), str(rest % 60)}
    return out


def check_draft(
    case: dict[str, Any], incident: Any, events: list[Any], draft: s.Draft, now: datetime
) -> dict[str, Any]:
    text = f"{draft.title}\n{draft.body}"
    stamps = allowed_digits(incident, events, draft.next_update_by, now)
    invented = [d for d in _DIGITS.findall(text) if str(int(d)) not in stamps]
    leaked = []
    if draft.audience == "public":
        leaked = [p for p in map(str, case["private"]) if p.lower() in text.lower()]
    missing = []
    if draft.status != case["phase"]:
        missing.append(f"phase {draft.status} != {case['phase']}")
    if case["phase"] == "resolved":
        if draft.next_update_by is not None or "resolved" not in text.lower():
            missing.append("resolution notice")
    elif draft.next_update_by is None or f"{draft.next_update_by:%H:%M}" not in draft.body:
        missing.append("next update time")
    if draft.audience in ("public", "executive"):
        missing += [f"impact '{w}'" for w in case["impact"] if w.lower() not in text.lower()]
    elif "**Impact:**" not in draft.body:
        missing.append("impact")
    return {
        "case": case["name"],
        "audience": draft.audience,
        "provider": draft.provider,
        "fallback": draft.guardrails.fallback,
        "leaked": leaked,
        "invented": invented,
        "missing": missing,
    }


def run_provider(cases: list[dict[str, Any]], provider: str) -> dict[str, Any]:
    config = StatusConfig.load()
    rows: list[dict[str, Any]] = []
    with TemporaryDirectory(prefix="copilot-eval-status-") as tmp:
        clock = Clock()
        with IncidentStore(f"sqlite:///{tmp}/incidents.sqlite", clock=clock) as store:
            for case in cases:
                # The timeline is back-filled; the drafts are written at the case's `now`.
                clock.now = _at(case["now"])
                incident_id = declare(store, case)
                incident = incidents.get_incident(store=store, incident_id=incident_id)
                events = incidents.list_events(store=store, incident_id=incident_id)
                chat: ChatModel | None = None
                if provider == "llm_benign":
                    chat = BenignRewriter()
                elif provider == "llm_adversary":
                    chat = AdversarialRewriter(case)
                for audience in s.AUDIENCES:
                    draft = service.create_draft(
                        store=store,
                        config=config,
                        incident_id=incident_id,
                        audience=audience,
                        chat=chat,
                    )
                    rows.append(check_draft(case, incident, events, draft, clock.now))
    public = [r for r in rows if r["audience"] == "public"]
    model_used = [r for r in rows if r["provider"] not in ("template",)]
    return {
        "cases": len(cases),
        "drafts": len(rows),
        "public_drafts": len(public),
        "public_leak_rate": round(sum(bool(r["leaked"]) for r in public) / len(public), 4),
        "fact_violations": sum(len(r["invented"]) for r in rows),
        "required_present": round(sum(not r["missing"] for r in rows) / len(rows), 4),
        "model_draft_accepted": round(len(model_used) / len(rows), 4)
        if provider != "template"
        else None,
        "failures": [r for r in rows if r["leaked"] or r["invented"] or r["missing"]],
    }


def run(dataset: Path = DATASET) -> dict[str, Any]:
    cases = load_cases(dataset)
    return {"cases": len(cases), **{p: run_provider(cases, p) for p in PROVIDERS}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.status", description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.dataset)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['cases']} incidents, 3 audiences each")
    for name in PROVIDERS:
        r = result[name]
        accepted = r["model_draft_accepted"]
        model = "" if accepted is None else f", model draft accepted {accepted:.3f}"
        print(
            f"{name:14} drafts {r['drafts']}: public leak rate {r['public_leak_rate']:.3f} "
            f"({r['public_drafts']} public), fact-check violations {r['fact_violations']}, "
            f"required elements present {r['required_present']:.3f}{model}"
        )
        for f in r["failures"]:
            print(
                f"  FAIL {f['case']} [{f['audience']}] leaked={f['leaked']} "
                f"invented={f['invented']} missing={f['missing']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
