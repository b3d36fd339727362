"""What the Slack slash commands do (`slack.py` receives and verifies them).

Commands (`/incident <subcommand> ...`):

    declare <title> [sev]   declare an incident (lowest severity when none is given); the caller
                            becomes incident commander and the channel is bound to it
    note <text>             add a note to the channel's incident (the scribe's timeline capture)
    ask [--all] <question>  grounded next steps, in the context of the channel's incident if any;
                            --all lists every step the cap leaves out (up to ALL_STEPS)
    status <audience>       draft a status update (internal, executive, public) for review
    postmortem              pre-fill the postmortem
    times started=T detected=T
                            when impact started and when it was detected (T: `HH:MM` UTC,
                            the most recent such time, or ISO 8601 such as `2026-05-01T14:05Z`)
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

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from copilot import render
from copilot.assist import service as assist
from copilot.assist.compose import Composer
from copilot.clocktime import parse_time
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
from copilot.postmortem.schemas import PostmortemResponse
from copilot.security.audit import source_refs
from copilot.settings import Settings
from copilot.status import schemas as status_schemas

log = logging.getLogger("copilot.slack")

BINDING_KEY = "slack_channel"
MAX_STEPS = 15
# `ask --all`: every step, as far as one message holds (Slack allows 50 blocks; an answer uses
# at most 8 besides its steps).
ALL_STEPS = 40
_ALL = re.compile(r"^\s*--all\b\s*", re.IGNORECASE)
# How many of the newest incidents are searched for the channel's binding.
BINDING_SCAN = 100
_INCIDENT_REF = re.compile(r"^\s*(INC-?\d{1,9})\b[\s:,-]*", re.IGNORECASE)
AUDIENCES = ("internal", "executive", "public")

USAGE = (
    "*Usage:* `/incident <command>`\n"
    "• `declare <title> [SEV1-4]` declare an incident; you become incident commander and this "
    "channel is bound to it\n"
    "• `note [INC-n] <text>` add a note to the timeline\n"
    "• `ask [INC-n] [--all] <question>` grounded next steps from the runbooks (`--all`: every "
    "step, not only the first ten)\n"
    "• `status [INC-n] internal|executive|public` draft a status update\n"
    "• `postmortem [INC-n]` pre-fill the postmortem\n"
    "• `times [INC-n] started=HH:MM detected=HH:MM` when impact started and was detected "
    "(UTC, the most recent such time, or ISO 8601 such as `2026-05-01T14:05Z`)\n"
    "• `bind INC-n` make INC-n this channel's incident\n"
    "Without `INC-n`, the channel's incident is used: the one last declared in or bound to "
    "this channel that is not closed."
)


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
    every = _ALL.match(question) is not None
    if every:
        question = _ALL.sub("", question, count=1)
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
        max_steps=ALL_STEPS if every else None,
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
    shown = ALL_STEPS if every else MAX_STEPS
    for number, step in enumerate([s for s in answer.steps if not s.caution][:shown], 1):
        blocks.append(section(_step_text(ctx, number, step)))
    if answer.more_steps:
        asked = escape(redact(question).text)
        more = "" if every else f" `/incident ask --all {asked}` lists them."
        blocks.append(context(f"{answer.more_steps} more step(s) not listed.{more}"))
    cautions = [s for s in answer.steps if s.caution]
    if cautions:
        said = "\n".join(
            f":no_entry: {ctx.mrkdwn(s.text).replace(chr(10), ' ')}" for s in cautions[:MAX_STEPS]
        )
        blocks.append(section(f"*Caution: the runbook says not to*\n{said}"))
    if answer.done:
        done = "\n".join(
            f"• {ctx.mrkdwn(d.text).replace(chr(10), ' ')} — done: {escape(d.done_by)}"
            for d in answer.done[:MAX_STEPS]
        )
        blocks.append(section(f"*Already done (left out)*\n{done}"))
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


def _moment(value: str, *, now: datetime) -> datetime:
    try:
        return parse_time(value, now=now)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


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
        changes[TIME_FIELDS[name.lower()]] = _moment(value, now=store.now())
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
