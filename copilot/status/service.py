"""Draft, list, publish and export status updates. Keyword-only, HTTP-agnostic.

A draft is composed from the incident record by the audience's template, checked, optionally
rewritten by a chat model (whose draft is checked the same way and dropped if anything fails),
and stored. Publishing re-checks the text (edited or not) against the record as it is now and
records a `status_update` event on the timeline, which the update-cadence metric reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select, update

from copilot.db import Database
from copilot.errors import (
    Conflict,
    CopilotError,
    GuardrailViolation,
    InvalidInput,
    NotFound,
    ProviderError,
)
from copilot.incidents import schemas as incident_schemas
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.llm.base import ChatModel
from copilot.status import compose
from copilot.status import schemas as s
from copilot.status.checks import Policy, dedupe
from copilot.status.config import Catalog, StatusConfig
from copilot.status.models import StatusDraft
from copilot.status.schemas import Finding

log = logging.getLogger(__name__)

TEMPLATE = "template"
DEFAULT_TITLES = {
    "public": "Service disruption",
    "executive": "{id} leadership update",
    "internal": "{id} update",
}


@dataclass
class Checked:
    title: str
    body: str
    findings: list[Finding]


def check(policy: Policy, title: str, body: str, *, audience: str, incident_id: str) -> Checked:
    """Run the audience's checks over a title and a body."""
    clean_title, title_findings = policy.screen(" ".join(title.split()))
    clean_body, body_findings = policy.screen(body.strip())
    clean_title = clean_title.strip() or DEFAULT_TITLES[audience].format(id=incident_id)
    return Checked(clean_title, clean_body, dedupe([*title_findings, *body_findings]))


def _describe(findings: Sequence[Finding]) -> str:
    parts = []
    for f in findings[:8]:
        if f.check == "fact":
            parts.append(f"{f.text!r} ({f.kind} not in the incident record)")
        elif f.check == "required":
            parts.append(f"it must state {f.text}")
        else:
            parts.append(f"{f.text!r} ({f.kind})")
    more = f" and {len(findings) - 8} more" if len(findings) > 8 else ""
    return "; ".join(parts) + more


_DRAFT_NOT_FOUND = "status update draft not found; draft ids are numbers"


def _parse_draft_id(draft_id: str | int) -> int:
    try:
        value = int(str(draft_id).strip())
    except ValueError:
        raise NotFound(
            f"no status update draft {str(draft_id)[:40]!r}", public=_DRAFT_NOT_FOUND
        ) from None
    if not 1 <= value <= 2**31 - 1:
        raise NotFound(f"no status update draft {value}", public=_DRAFT_NOT_FOUND)
    return value


def _view(row: StatusDraft, incident_id: str) -> s.Draft:
    published = row.published_at is not None
    edited = published and (
        (row.published_body is not None and row.published_body != row.body)
        or (row.published_title is not None and row.published_title != row.title)
    )
    return s.Draft(
        id=row.id,
        incident_id=incident_id,
        audience=cast(s.Audience, row.audience),
        title=(row.published_title or row.title) if published else row.title,
        body=(row.published_body or row.body) if published else row.body,
        status=cast(s.Phase, row.phase),
        incident_status=row.incident_status,
        next_update_by=row.next_update_by,
        guardrails=s.DraftGuardrails.model_validate(row.guardrails),
        provider=row.provider,
        state="published" if published else "draft",
        components=list(row.context.get("components", [])),
        created_at=row.created_at,
        created_by=row.created_by,
        published_at=row.published_at,
        published_by=row.published_by,
        edited=bool(edited),
        event_id=row.event_id,
    )


def _load(session: Any, number: int, draft_id: int) -> StatusDraft:
    row = session.get(StatusDraft, draft_id)
    if row is None or row.incident_number != number:
        raise NotFound(
            f"no status update draft {draft_id} on INC-{number}",
            public="status update draft not found on this incident",
        )
    assert isinstance(row, StatusDraft)
    return row


def runbook_for(*, kb: Any, incident: Any) -> compose.RunbookRef | None:
    """The runbook that best matches the incident, for responders; None when none does."""
    from copilot.guardrails.redact import redact
    from copilot.knowledge import retrieval

    query = redact(f"{incident.title}\n{incident.summary}\n{' '.join(incident.services)}").text
    try:
        hits = retrieval.search(
            kb=kb, query=query[: retrieval.MAX_QUERY_CHARS], top_k=1, kind="runbook"
        )
    except CopilotError as exc:
        log.info("no runbook for the status draft: %s", exc)
        return None
    if not hits:
        return None
    top = hits[0]
    threshold = kb.settings.abstain_below
    if not top.reasons and (top.match is None or top.match < threshold):
        return None
    return compose.RunbookRef(title=top.chunk.title, source=top.chunk.source)


def with_service_catalog(
    catalog: Catalog, db: Database, services: Sequence[str]
) -> tuple[Catalog, list[str] | None]:
    """The status catalog with the service catalog's word on names, and the public names of
    the affected user-facing services; (`catalog`, None) when no service catalog is imported.

    With a service catalog, the affected services are the user-facing ones in the blast radius
    of `services` (by their public names), plus what the status catalog says of the services
    the service catalog does not know. Every name of an entity that is not user-facing is
    internal (never in a public update); an entity's name that has a public name reads as it.
    """
    from copilot.catalog.lookup import public_impact

    impact = public_impact(db, services)
    if impact is None:
        return catalog, None
    names = {k: v for k, v in catalog.components.items() if k not in impact.internal}
    names.update(impact.public_labels)
    names.update(impact.labels)
    merged = catalog.model_copy(
        update={
            "components": names,
            "internal_names": tuple(dict.fromkeys([*catalog.internal_names, *impact.internal])),
        }
    )
    components = list(impact.components)
    for name in compose.components_of(impact.unmapped, catalog):
        if name not in components:
            components.append(name)
    return merged, components


# -- operations -------------------------------------------------------------------------------


def create_draft(
    *,
    store: IncidentStore,
    config: StatusConfig,
    incident_id: str,
    audience: str,
    chat: ChatModel | None = None,
    author: str | None = None,
    kb: Any = None,
) -> s.Draft:
    """Draft an update for `audience` from the record as it is now.

    `kb`, when loaded, points responders (internal drafts) at the best-matching runbook.
    """
    if audience not in s.AUDIENCES:
        raise InvalidInput(
            f"audience: unknown audience {audience[:30]!r}; expected one of "
            f"{', '.join(s.AUDIENCES)}"
        )
    incident = incidents.get_incident(store=store, incident_id=incident_id)
    events = incidents.list_events(store=store, incident_id=incident_id)
    now = store.now()
    runbook = (
        runbook_for(kb=kb, incident=incident) if kb is not None and audience == "internal" else None
    )
    catalog, components = with_service_catalog(config.catalog, store.db, incident.services)
    ctx = compose.build_context(
        incident=incident,
        events=events,
        audience=audience,
        catalog=catalog,
        taxonomy=store.taxonomy,
        now=now,
        runbook=runbook,
        components=components,
    )
    template = config.template(audience, ctx.phase)
    title, body = template.render(ctx.values)
    policy = ctx.policy(catalog)
    drafted = check(policy, title, body, audience=audience, incident_id=incident.id)
    # What was taken out of record text counts only where the template shows that text.
    prescreen = [f for name, found in ctx.prescreen.items() if template.uses(name) for f in found]
    guard = s.DraftGuardrails(checks=policy.checks, removed=dedupe([*prescreen, *drafted.findings]))
    provider = TEMPLATE

    if chat is not None:
        rewriter = compose.Rewriter(chat)
        try:
            new_title, new_body = rewriter.rewrite(
                audience=audience, phase=ctx.phase, title=drafted.title, body=drafted.body
            )
            strict = ctx.policy(catalog, screen_instructions=True)
            rewritten = check(
                strict, new_title, new_body, audience=audience, incident_id=incident.id
            )
            missing = compose.missing_elements(ctx, rewritten.title, rewritten.body)
            rejected = dedupe([*rewritten.findings, *missing])
            if rejected:
                guard.fallback = f"the model's draft failed the checks: {_describe(rejected)}"
                guard.model_rejected = rejected
            else:
                drafted = rewritten
                provider = rewriter.name
                guard.checks = strict.checks
        except ProviderError as exc:
            guard.fallback = str(exc)
        if guard.fallback:
            log.info(
                "status draft for %s fell back to the template: %s", incident.id, guard.fallback
            )

    number = incidents.parse_id(incident.id)
    with store.write() as session:
        row = StatusDraft(
            incident_number=number,
            audience=audience,
            phase=ctx.phase,
            incident_status=incident.status,
            title=drafted.title[: s.MAX_TITLE],
            body=_bounded(drafted.body),
            provider=provider,
            guardrails=guard.model_dump(mode="json"),
            context={
                "facts": ctx.facts,
                "components": ctx.components,
                "severity": incident.severity,
            },
            next_update_by=ctx.next_update_by,
            created_at=now,
            created_by=author,
        )
        session.add(row)
        session.flush()
        return _view(row, incident.id)


def _bounded(body: str) -> str:
    if len(body) <= s.MAX_BODY:
        return body
    cut = body[: s.MAX_BODY - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def list_drafts(
    *, store: IncidentStore, incident_id: str, audience: str | None = None
) -> list[s.Draft]:
    """The incident's drafts, newest first."""
    canonical = incidents.canonical_id(incident_id)
    incidents.get_incident(store=store, incident_id=canonical)
    if audience is not None and audience not in s.AUDIENCES:
        raise InvalidInput(
            f"audience: unknown audience {audience[:30]!r}; expected one of "
            f"{', '.join(s.AUDIENCES)}"
        )
    number = incidents.parse_id(canonical)
    query = (
        select(StatusDraft)
        .where(StatusDraft.incident_number == number)
        .order_by(StatusDraft.id.desc())
    )
    if audience is not None:
        query = query.where(StatusDraft.audience == audience)
    with store.read() as session:
        return [_view(row, canonical) for row in session.scalars(query)]


def get_draft(*, store: IncidentStore, incident_id: str, draft_id: str | int) -> s.Draft:
    canonical = incidents.canonical_id(incident_id)
    number = incidents.parse_id(canonical)
    key = _parse_draft_id(draft_id)
    incidents.get_incident(store=store, incident_id=canonical)
    with store.read() as session:
        return _view(_load(session, number, key), canonical)


def draft_context(*, store: IncidentStore, draft: s.Draft) -> dict[str, Any]:
    """What a draft was written against (severity, components, derived figures)."""
    with store.read() as session:
        row = _load(session, incidents.parse_id(draft.incident_id), draft.id)
        return dict(row.context)


def publish(
    *,
    store: IncidentStore,
    config: StatusConfig,
    incident_id: str,
    draft_id: str | int,
    request: s.PublishRequest | None = None,
    page_components: Callable[[list[str]], list[str]] | None = None,
) -> s.Draft:
    """Publish a draft once (optionally edited): re-check it, then put it on the timeline.

    `page_components` resolves the status page component names a public update sets (to ids;
    InvalidInput for unknown ones); what it sets is kept with the published draft, which is
    all the public status page reads.
    """
    request = request or s.PublishRequest()
    canonical = incidents.canonical_id(incident_id)
    number = incidents.parse_id(canonical)
    key = _parse_draft_id(draft_id)
    incident = incidents.get_incident(store=store, incident_id=canonical)
    with store.read() as session:
        row = _load(session, number, key)
    if row.published_at is not None:
        raise Conflict(
            f"status update draft {key} was already published at "
            f"{row.published_at.isoformat()} (timeline event #{row.event_id}); draft a new one"
        )
    phase = compose.phase_of(incident.status)
    if phase != row.phase:
        raise Conflict(
            f"status update draft {key} was written while {canonical} was {row.phase}; it is now "
            f"{phase} ({incident.status}): draft a new update"
        )
    now = store.now()
    if row.next_update_by is not None and row.next_update_by <= now:
        raise Conflict(
            f"status update draft {key} promises the next update by "
            f"{row.next_update_by.isoformat()}, which has passed: draft a new update"
        )

    title = " ".join((request.title or row.title).split())
    body = (request.body or row.body).strip()
    events = incidents.list_events(store=store, incident_id=canonical)
    catalog, _ = with_service_catalog(config.catalog, store.db, incident.services)
    ctx = compose.build_context(
        incident=incident,
        events=events,
        audience=row.audience,
        catalog=catalog,
        taxonomy=store.taxonomy,
        now=now,
    )
    # The figures the draft was allowed when it was written (durations run on) still hold.
    ctx.facts = [*ctx.facts, *row.context.get("facts", [])]
    ctx.next_update_by = row.next_update_by
    if row.next_update_by is not None:
        ctx.values["next_update"] = compose.fmt_time(row.next_update_by, now)
    ctx.components = list(row.context.get("components", []))
    policy = ctx.policy(catalog)
    checked = check(policy, title, body, audience=row.audience, incident_id=canonical)
    problems = [f for f in checked.findings if f.action != "replaced"]
    problems += compose.missing_elements(ctx, title, body)
    if problems:
        raise GuardrailViolation(
            f"the {row.audience} update cannot be published as written: {_describe(problems)}. "
            "Remove or reword it; a figure can be recorded on the timeline first."
        )
    # Replacements (a service label for its public name) are applied, not refused.
    title, body = checked.title, checked.body
    context = dict(row.context)
    sets_page = (
        request.components is not None or request.impact is not None or request.status is not None
    )
    if sets_page and row.audience != "public":
        raise InvalidInput(
            f"components, impact and status set the public status page: a {row.audience} "
            "update never reaches it"
        )
    if row.audience == "public":
        names = list(request.components or {})
        ids = page_components(names) if page_components is not None and names else names
        statuses = list((request.components or {}).values())
        context["status_page"] = {
            "components": dict(zip(ids, statuses, strict=True)),
            "impact": request.impact,
            "status": request.status,
        }

    # Claim the draft first, so that two publishers cannot both record an event.
    with store.write() as session:
        claimed = session.execute(
            update(StatusDraft)
            .where(StatusDraft.id == key, StatusDraft.published_at.is_(None))
            .values(
                published_at=now,
                published_by=request.author,
                published_title=title,
                published_body=body,
                context=context,
            )
        )
        if getattr(claimed, "rowcount", 0) != 1:
            raise Conflict(f"status update draft {key} was already published")
    try:
        event = incidents.add_event(
            store=store,
            incident_id=canonical,
            event=incident_schemas.EventCreate(
                kind="status_update",
                text=f"{title}\n\n{body}"[: incident_schemas.MAX_TEXT],
                author=request.author,
                audience=cast(s.Audience, row.audience),
            ),
            data={"status_draft": key, "phase": row.phase, "title": title},
        )
    except Exception:
        with store.write() as session:
            session.execute(
                update(StatusDraft)
                .where(StatusDraft.id == key)
                .values(
                    published_at=None,
                    published_by=None,
                    published_title=None,
                    published_body=None,
                    context=row.context,
                )
            )
        raise
    with store.write() as session:
        row = _load(session, number, key)
        row.event_id = event.id
        session.flush()
        return _view(row, canonical)
