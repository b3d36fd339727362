"""Slack slash commands at `POST /v1/integrations/slack/commands`, answered in Block Kit.

Slack cannot send an API key, so this route is exempt from key auth (`copilot.security.auth`
lists its prefix) and authenticates by Slack's request signature alone: `v0=` + HMAC-SHA256 of
`v0:{X-Slack-Request-Timestamp}:{raw body}` under the app's signing secret
(`COPILOT_SLACK_SIGNING_SECRET`), compared in constant time, with timestamps more than five
minutes from the server clock refused. Without a configured secret every request is refused.

Commands (`/incident <subcommand> ...`):

    declare <title> [sev]   declare an incident (lowest severity when none is given); the caller
                            becomes incident commander and the channel is bound to it
    note <text>             add a note to the channel's incident (the scribe's timeline capture)
    ask <question>          grounded next steps, in the context of the channel's incident if any
    status <audience>       draft a status update (internal, executive, public) for review
    postmortem              pre-fill the postmortem
    times started=T detected=T
                            when impact started and when it was detected (T: `HH:MM` today
                            UTC, or an ISO 8601 time such as `2026-05-01T14:05Z`)
    bind INC-n              bind this channel to an existing incident
    help                    usage

Text is Slack mrkdwn: what the copilot wrote in markdown (answers, steps, status drafts,
postmortem summaries) is converted by `copilot.render.to_mrkdwn` from markdown-it's tokens
(`**b**` as `*b*`, links as `<url|text>`, headings bold, code kept); what people typed (titles,
notes) is shown as they typed it. Both escape `&`, `<` and `>` as Slack asks, so no text can
mention `@channel`, a user, or open a link it does not show.

Which incident: a leading `INC-n` on note, ask, status or postmortem names it. Otherwise the
channel's incident is used: the incident most recently declared in or bound to the channel that
is not closed. The binding is a timeline note (with `data["slack_channel"]`), so it is visible
on the timeline and needs no table of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from copilot import render
from copilot.api.deps import get_status_config
from copilot.assist import service as assist
from copilot.assist.compose import Composer
from copilot.assist.service import composer_for
from copilot.errors import CopilotError, InvalidInput
from copilot.guardrails.redact import redact
from copilot.incidents import schemas as incident_schemas
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.integrations.blockkit import (
    context,
    error,
    escape,
    fields,
    header,
    incident_path,
    link,
    message,
    section,
    source_path,
)
from copilot.knowledge.store import KnowledgeBase
from copilot.postmortem import service as postmortem_service
from copilot.postmortem.schemas import PostmortemResponse
from copilot.postmortem.template import load_template
from copilot.security.audit import Auditor, source_refs
from copilot.settings import Settings
from copilot.status import schemas as status_schemas
from copilot.status import service as status_service

log = logging.getLogger("copilot.slack")

PREFIX = "/v1/integrations/slack"
COMMANDS_PATH = f"{PREFIX}/commands"
MAX_AGE_S = 5 * 60
MAX_BODY = 16 * 1024  # Slack's slash-command payloads are a few hundred bytes
BINDING_KEY = "slack_channel"
MAX_STEPS = 15
# How many of the newest incidents are searched for the channel's binding.
BINDING_SCAN = 100
_INCIDENT_REF = re.compile(r"^\s*(INC-?\d{1,9})\b[\s:,-]*", re.IGNORECASE)
AUDIENCES = ("internal", "executive", "public")

USAGE = (
    "*Usage:* `/incident <command>`\n"
    "• `declare <title> [SEV1-4]` declare an incident; you become incident commander and this "
    "channel is bound to it\n"
    "• `note [INC-n] <text>` add a note to the timeline\n"
    "• `ask [INC-n] <question>` grounded next steps from the runbooks\n"
    "• `status [INC-n] internal|executive|public` draft a status update\n"
    "• `postmortem [INC-n]` pre-fill the postmortem\n"
    "• `times [INC-n] started=HH:MM detected=HH:MM` when impact started and was detected "
    "(UTC today, or ISO 8601 such as `2026-05-01T14:05Z`)\n"
    "• `bind INC-n` make INC-n this channel's incident\n"
    "Without `INC-n`, the channel's incident is used: the one last declared in or bound to "
    "this channel that is not closed."
)

router = APIRouter(prefix=PREFIX, tags=["integrations"])


class SlackUnauthorized(CopilotError):
    """The request is not provably from Slack: missing, stale or wrong signature."""

    status_code = 401


class SlackNotConfigured(CopilotError):
    # With no signing secret the integration is off: the endpoint is absent, not failing.
    status_code = 404


# -- signing ----------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's `v0` signature of a request body sent at `timestamp` (Unix seconds, as text)."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> None:
    """Raise SlackUnauthorized unless `signature` is Slack's for `body` within five minutes."""
    if not timestamp or not signature:
        raise SlackUnauthorized(
            "missing X-Slack-Request-Timestamp or X-Slack-Signature: not a signed Slack request"
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SlackUnauthorized("X-Slack-Request-Timestamp must be Unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_AGE_S:
        raise SlackUnauthorized(
            "the request timestamp is more than 5 minutes from the server clock; refused as a "
            "possible replay (check the server's clock)"
        )
    expected = sign(secret, timestamp, body).encode("ascii")
    given = signature.encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        raise SlackUnauthorized("the Slack signature does not match this request")


# -- the request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlashCommand:
    command: str
    text: str
    user_id: str
    user_name: str
    channel_id: str
    channel_name: str

    @property
    def who(self) -> str:
        return self.user_name or self.user_id or "slack"

    @classmethod
    def from_form(cls, form: Mapping[str, list[str]]) -> SlashCommand:
        def one(name: str, limit: int = 200) -> str:
            values = form.get(name) or [""]
            return values[0].strip()[:limit]

        return cls(
            command=one("command", 40),
            text=one("text", 4000),
            user_id=one("user_id", 40),
            user_name=one("user_name", 80),
            channel_id=one("channel_id", 40),
            channel_name=one("channel_name", 80),
        )


@dataclass
class Context:
    """What a command may use; built per request from the app's state."""

    settings: Settings
    store: IncidentStore | None
    kb: KnowledgeBase | None
    composer: Composer
    record: Callable[..., Any] | None = None  # the audit recorder, when security is installed
    status_drafter: Callable[..., status_schemas.Draft] | None = None
    postmortem_drafter: Callable[..., PostmortemResponse] | None = None
    known_sources: frozenset[str] | None = None  # read once per command, when first needed

    def incidents(self) -> IncidentStore:
        if self.store is None:
            raise CopilotError("the incident store is not open yet; try again shortly")
        return self.store

    def knowledge(self) -> KnowledgeBase:
        if self.kb is None:
            raise CopilotError("the knowledge base is not loaded yet; try again shortly")
        return self.kb

    def url(self, path: str) -> str | None:
        base = self.settings.public_url
        return f"{base.rstrip('/')}{path}" if base else None

    def mrkdwn(self, markdown: str, *, source: str | None = None) -> str:
        """Markdown the copilot wrote, as mrkdwn; links to runbooks open their war-room page."""
        if self.known_sources is None:
            self.known_sources = frozenset(self.kb.files()) if self.kb is not None else frozenset()
        on_page = render.page_links(source, self.known_sources)

        def target(href: str) -> str | None:
            where = on_page(href)
            if where is not None and where.startswith(render.DOCUMENT_PATH):
                return self.url(where)  # a page of this server: only with a public URL
            return where

        return render.to_mrkdwn(markdown, links=target)


# -- which incident ---------------------------------------------------------------------------


def split_incident(text: str) -> tuple[str | None, str]:
    """(`INC-n` if the text starts with one, the rest of the text)."""
    match = _INCIDENT_REF.match(text)
    if not match:
        return None, text.strip()
    return incidents.canonical_id(match.group(1)), text[match.end() :].strip()


def channel_incident(store: IncidentStore, channel_id: str) -> str | None:
    """The incident last declared in or bound to the channel that is not closed."""
    if not channel_id:
        return None
    best: tuple[int, str] | None = None
    for incident in incidents.list_incidents(store=store, limit=BINDING_SCAN):
        if incident.status == "closed":
            continue
        for event in incidents.list_events(store=store, incident_id=incident.id, kind="note"):
            bound = event.data.get(BINDING_KEY)
            is_channel = isinstance(bound, dict) and bound.get("id") == channel_id
            if is_channel and (best is None or event.id > best[0]):
                best = (event.id, incident.id)
    return best[1] if best else None


def bind(store: IncidentStore, incident_id: str, cmd: SlashCommand) -> None:
    name = f"#{cmd.channel_name}" if cmd.channel_name else cmd.channel_id
    incidents.add_event(
        store=store,
        incident_id=incident_id,
        event=incident_schemas.EventCreate(
            kind="note", text=f"Slack channel {name} is bound to this incident", author=cmd.who
        ),
        data={BINDING_KEY: {"id": cmd.channel_id, "name": cmd.channel_name}},
    )


def resolve_incident(ctx: Context, cmd: SlashCommand, text: str) -> tuple[str, str]:
    """The incident a command is about and the rest of its text; InvalidInput if none."""
    named, rest = split_incident(text)
    if named is not None:
        incidents.get_incident(store=ctx.incidents(), incident_id=named)  # NotFound if absent
        return named, rest
    bound = channel_incident(ctx.incidents(), cmd.channel_id)
    if bound is None:
        raise InvalidInput(
            "which incident? This channel has none: start with its id (`INC-42 ...`), run "
            "`/incident declare` here, or `/incident bind INC-42`"
        )
    return bound, rest


# -- commands ---------------------------------------------------------------------------------


def _incident_blocks(ctx: Context, inc: incident_schemas.Incident) -> list[dict[str, Any]]:
    due = inc.next_update_due.strftime("%H:%M UTC") if inc.next_update_due else "none"
    return [
        fields(
            [
                ("Severity", f"{inc.severity} · {inc.severity_name}"),
                ("Status", inc.status),
                ("Commander", inc.roles.incident_commander or "unassigned"),
                ("Next status update", f"{due} (every {inc.update_cadence_minutes} min)"),
            ]
        ),
        context(link(ctx.url(incident_path(inc.id)), f"Open {inc.id} in the war room")),
    ]


def cmd_declare(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    store = ctx.incidents()
    words = text.split()
    if not words:
        raise InvalidInput("declare what? `/incident declare <title> [SEV1-4]`")
    severity = store.taxonomy.lowest.id
    if len(words) > 1:
        try:
            severity = store.taxonomy.resolve(words[-1]).id
            words = words[:-1]
        except InvalidInput:
            pass
    incident = incidents.declare(
        store=store,
        request=incident_schemas.IncidentCreate(
            title=" ".join(words)[:200],
            severity=severity,
            roles=incident_schemas.RolesPatch(incident_commander=cmd.who),
            author=cmd.who,
        ),
    )
    bind(store, incident.id, cmd)
    incident = incidents.get_incident(store=store, incident_id=incident.id)
    title = f"{incident.id} declared: {incident.title}"
    return message(
        title,
        [
            header(f":rotating_light: {title}"),
            *_incident_blocks(ctx, incident),
            context(
                f"Declared by {escape(cmd.who)}. Notes, asks and drafts in this channel go to "
                f"{incident.id}."
            ),
        ],
        public=True,
    )


def cmd_bind(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    named, _ = split_incident(text)
    if named is None:
        raise InvalidInput("bind which incident? `/incident bind INC-42`")
    store = ctx.incidents()
    incident = incidents.get_incident(store=store, incident_id=named)
    bind(store, incident.id, cmd)
    title = f"This channel now follows {incident.id}: {incident.title}"
    return message(title, [section(escape(title)), *_incident_blocks(ctx, incident)], public=True)


def cmd_note(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    incident_id, note = resolve_incident(ctx, cmd, text)
    if not note:
        raise InvalidInput("note what? `/incident note <text>`")
    event = incidents.add_event(
        store=ctx.incidents(),
        incident_id=incident_id,
        event=incident_schemas.EventCreate(kind="note", text=note[:4000], author=cmd.who),
    )
    summary = f"Noted on {incident_id} by {cmd.who}"
    return message(
        f"{summary}: {note}",
        [
            section(f":memo: *{escape(summary)}* at {event.at:%H:%M} UTC\n{escape(note)}"),
            context(link(ctx.url(incident_path(incident_id)), "Timeline")),
        ],
        public=True,
    )


def _step_text(ctx: Context, number: int, step: Any) -> str:
    lines = [f"*{number}.* {ctx.mrkdwn(step.text)}"]
    if step.command:
        lines.append(f"```{escape(step.command)}```")
    if step.requires_approval:
        lines.append(":warning: *Requires approval* before it is run")
    if step.citations:
        cites = "; ".join(
            link(
                ctx.url(source_path(c.source, c.lines)),
                f"{c.title} › {c.section} (lines {c.lines[0]}-{c.lines[1]})",
            )
            for c in step.citations
        )
        lines.append(f"_Source: {cites}_")
    return "\n".join(lines)


def cmd_ask(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    named, question = split_incident(text)
    incident_id = named
    if incident_id is None and ctx.store is not None:
        incident_id = channel_incident(ctx.store, cmd.channel_id)
    if not question:
        raise InvalidInput("ask what? `/incident ask <question>`")
    incident = None
    events: list[incident_schemas.Event] = []
    if incident_id is not None:
        incident = incidents.get_incident(store=ctx.incidents(), incident_id=incident_id)
        events = incidents.list_events(store=ctx.incidents(), incident_id=incident_id)
    answer = assist.ask(
        kb=ctx.knowledge(),
        question=question,
        composer=ctx.composer,
        incident=incident,
        events=events,
    )
    if ctx.record is not None:
        ctx.record(
            action="ask",
            question=question,
            sources=source_refs([*answer.citations, *answer.similar_incidents]),
            incident_id=incident_id,
        )
    about = f" ({incident_id})" if incident_id else ""
    blocks = [header(f"Copilot{about}: {redact(question).text}")]
    if answer.abstained:
        blocks.append(section(f":grey_question: {ctx.mrkdwn(answer.answer)}"))
        return message(ctx.mrkdwn(answer.answer), blocks, public=True, formatted=True)
    blocks.append(section(ctx.mrkdwn(answer.answer)))
    for number, step in enumerate(answer.steps[:MAX_STEPS], start=1):
        blocks.append(section(_step_text(ctx, number, step)))
    if answer.similar_incidents:
        similar = "\n".join(
            f"• {link(ctx.url(source_path(s.source, s.lines)), s.title)}: "
            + ctx.mrkdwn(s.what_fixed_it, source=s.source).replace("\n", " ")
            for s in answer.similar_incidents[:3]
        )
        blocks.append(section(f"*Similar past incidents*\n{similar}"))
    g = answer.guardrails
    notes = [f"confidence {answer.confidence:.2f}", f"composer {answer.provider}"]
    if g.redactions:
        notes.append(f"{g.redactions} redacted")
    if g.injection_suspected:
        notes.append(f"AI-aimed instructions ignored in {len(g.injection_suspected)} source(s)")
    blocks.append(context(escape(" · ".join(notes))))
    return message(ctx.mrkdwn(answer.answer), blocks, public=True, formatted=True)


def cmd_status(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    incident_id, rest = resolve_incident(ctx, cmd, text)
    audience = (rest.split() or ["internal"])[0].lower()
    if audience not in AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}, not {audience[:20]!r}")
    if ctx.status_drafter is None:
        raise CopilotError("this server does not draft status updates yet")
    draft = ctx.status_drafter(incident_id=incident_id, audience=audience, who=cmd.who)
    due = f" · next update by {draft.next_update_by:%H:%M} UTC" if draft.next_update_by else ""
    blocks = [
        header(f"Draft {audience} update · {incident_id}"),
        section(f"*{escape(draft.title)}*\n{ctx.mrkdwn(draft.body)}"),
    ]
    removed = draft.guardrails.removed
    if removed:
        listed = "; ".join(f"{f.action} {f.kind} ({f.check} check)" for f in removed[:10])
        blocks.append(context(escape(f"Checks took out: {listed}")))
    blocks.append(
        context(
            f"Draft {draft.id}, not published: review, edit and publish it in "
            + link(ctx.url(incident_path(incident_id)), "the war room")
            + escape(due)
        )
    )
    return message(f"{escape(draft.title)}\n{ctx.mrkdwn(draft.body)}", blocks, formatted=True)


def cmd_postmortem(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    incident_id, _ = resolve_incident(ctx, cmd, text)
    if ctx.postmortem_drafter is None:
        raise CopilotError("this server does not pre-fill postmortems yet")
    draft = ctx.postmortem_drafter(incident_id=incident_id)
    blocks = [header(f"Postmortem draft · {incident_id}: {draft.title}")]
    summary = draft.sections.get("summary", "").strip()
    if summary:
        blocks.append(section(f"*Summary*\n{ctx.mrkdwn(summary)}"))
    facts = [f"{len(draft.timeline)} timeline entries", f"{len(draft.action_items)} action items"]
    if draft.similar_incidents:
        facts.append(f"{len(draft.similar_incidents)} similar past incidents")
    if draft.blameless:
        facts.append(f"{len(draft.blameless)} phrasing(s) flagged for blameless rewording")
    blocks.append(section(escape(" · ".join(facts))))
    if draft.missing:
        missing = "\n".join(f"• {escape(m)}" for m in draft.missing[:10])
        blocks.append(section(f"*Still missing*\n{missing}"))
    if draft.open_questions:
        questions = "\n".join(f"• {escape(q)}" for q in draft.open_questions[:5])
        blocks.append(section(f"*Open questions for the team*\n{questions}"))
    blocks.append(
        context(
            "Pre-filled from the timeline and similar past incidents; the full draft and its "
            "markdown are in " + link(ctx.url(incident_path(incident_id)), "the war room")
        )
    )
    return message(f"Postmortem draft for {incident_id}: {draft.title}", blocks)


TIME_FIELDS = {"started": "started_at", "detected": "detected_at"}


def parse_time(value: str, *, today: datetime) -> datetime:
    """`HH:MM` (today, UTC) or an ISO 8601 time (UTC unless it says otherwise)."""
    text = value.strip()
    try:
        if len(text) <= 5 and ":" in text:
            return datetime.combine(today.date(), clock.fromisoformat(text.zfill(5)), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{value[:40]!r} is not a time: use HH:MM (UTC today) or 2026-05-01T14:05Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cmd_times(ctx: Context, cmd: SlashCommand, text: str) -> dict[str, Any]:
    incident_id, rest = resolve_incident(ctx, cmd, text)
    store = ctx.incidents()
    changes: dict[str, datetime] = {}
    for word in rest.split():
        name, sep, value = word.partition("=")
        if not sep or name.lower() not in TIME_FIELDS:
            raise InvalidInput(
                "which time? `/incident times started=HH:MM detected=HH:MM` (UTC); mitigated "
                "and resolved are the times of those status changes, set in the war room"
            )
        changes[TIME_FIELDS[name.lower()]] = parse_time(value, today=store.now())
    if not changes:
        raise InvalidInput("set which time? `/incident times started=HH:MM detected=HH:MM`")
    patch = incident_schemas.IncidentPatch.model_validate({**changes, "author": cmd.who})
    incident = incidents.update_incident(store=store, incident_id=incident_id, patch=patch)
    shown = ", ".join(
        f"{name} {getattr(incident, field):%Y-%m-%d %H:%M} UTC"
        for name, field in TIME_FIELDS.items()
        if field in changes
    )
    summary = f"{incident.id}: {shown}"
    return message(
        summary,
        [
            section(f":clock3: {escape(summary)} (set by {escape(cmd.who)})"),
            context(link(ctx.url(incident_path(incident.id)), "Metrics in the war room")),
        ],
        public=True,
    )


def cmd_help(_ctx: Context, _cmd: SlashCommand, _text: str) -> dict[str, Any]:
    return message(
        "Usage: /incident declare|note|ask|status|postmortem|times|bind", [section(USAGE)]
    )


COMMANDS: dict[str, Callable[[Context, SlashCommand, str], dict[str, Any]]] = {
    "declare": cmd_declare,
    "note": cmd_note,
    "ask": cmd_ask,
    "status": cmd_status,
    "postmortem": cmd_postmortem,
    "times": cmd_times,
    "bind": cmd_bind,
    "help": cmd_help,
}


def run(ctx: Context, cmd: SlashCommand) -> dict[str, Any]:
    """Run one slash command; a user's mistake comes back as a message only they see."""
    name, _, rest = cmd.text.strip().partition(" ")
    handler = COMMANDS.get(name.lower())
    if handler is None:
        return cmd_help(ctx, cmd, rest)
    try:
        return handler(ctx, cmd, rest.strip())
    except CopilotError as exc:
        return error(str(exc))
    except Exception:
        log.exception("slack command %r failed", name.lower())
        return error("the copilot failed to answer; the error is in its log")


# -- the route --------------------------------------------------------------------------------


def _context(request: Request, cmd: SlashCommand) -> Context:
    state = request.app.state
    settings: Settings = state.settings
    ctx = Context(
        settings=settings,
        store=getattr(state, "incidents", None),
        kb=getattr(state, "kb", None),
        composer=composer_for(getattr(state, "chat", None)),
    )
    audit = getattr(state, "audit", None)
    if audit is not None:
        ctx.record = Auditor(
            audit=audit,
            incidents=ctx.store,
            who=f"slack:{cmd.who}",
            request_id=getattr(request.state, "request_id", None),
        ).record

    def draft_status(*, incident_id: str, audience: str, who: str) -> status_schemas.Draft:
        draft = status_service.create_draft(
            store=ctx.incidents(),
            config=get_status_config(request),
            incident_id=incident_id,
            audience=audience,
            chat=getattr(state, "chat", None),
            author=who,
            kb=ctx.kb,
        )
        if ctx.record is not None:
            ctx.record(
                action="status_update",
                question=f"{draft.audience} status update (draft {draft.id}, {draft.status})",
                sources=[],
                incident_id=draft.incident_id,
            )
        return draft

    def draft_postmortem(*, incident_id: str) -> PostmortemResponse:
        response = postmortem_service.draft_postmortem(
            store=ctx.incidents(),
            incident_id=incident_id,
            kb=ctx.kb,
            template=load_template(settings.postmortem_template),
        )
        if ctx.record is not None:
            ctx.record(
                action="postmortem",
                question=f"postmortem draft for {response.incident_id}",
                sources=postmortem_service.sources_of(response),
                incident_id=response.incident_id,
            )
        return response

    ctx.status_drafter = draft_status
    ctx.postmortem_drafter = draft_postmortem
    return ctx


@router.post("/commands")
async def slash_command(request: Request) -> JSONResponse:
    """A Slack slash command (form-encoded, signed by Slack); answered in Block Kit JSON."""
    settings: Settings = request.app.state.settings
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value():
        raise SlackNotConfigured(
            "Slack commands are not configured: set COPILOT_SLACK_SIGNING_SECRET"
        )
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidInput(f"a Slack command is at most {MAX_BODY} bytes")
    verify(
        secret.get_secret_value(),
        timestamp=request.headers.get("x-slack-request-timestamp"),
        signature=request.headers.get("x-slack-signature"),
        body=body,
    )
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("a Slack command body is form-encoded UTF-8") from None
    cmd = SlashCommand.from_form(form)
    ctx = _context(request, cmd)
    reply = await run_in_threadpool(run, ctx, cmd)
    return JSONResponse(reply)
