"""Slack slash commands at `POST /v1/integrations/slack/commands`, answered in Block Kit.

Slack cannot send an API key, so this route is exempt from key auth (`copilot.security.auth`
lists its prefix) and authenticates by Slack's request signature alone: `v0=` + HMAC-SHA256 of
`v0:{X-Slack-Request-Timestamp}:{raw body}` under the app's signing secret
(`COPILOT_SLACK_SIGNING_SECRET`), compared in constant time, with timestamps more than five
minutes from the server clock refused. Without a configured secret every request is refused.

What each command does, and how an incident is found for it, is `slack_commands.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from copilot.api.deps import get_status_config
from copilot.assist.service import composer_for
from copilot.errors import CopilotError, InvalidInput
from copilot.integrations.slack_commands import Context, SlashCommand, run
from copilot.postmortem import service as postmortem_service
from copilot.postmortem.schemas import PostmortemResponse
from copilot.postmortem.template import load_template
from copilot.security.audit import Auditor
from copilot.settings import Settings
from copilot.status import schemas as status_schemas
from copilot.status import service as status_service

PREFIX = "/v1/integrations/slack"
COMMANDS_PATH = f"{PREFIX}/commands"
MAX_AGE_S = 5 * 60
MAX_BODY = 16 * 1024  # Slack's slash-command payloads are a few hundred bytes

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
