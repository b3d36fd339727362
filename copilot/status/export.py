"""A published update as a status-page payload and as Slack-ready markdown."""

from __future__ import annotations

import re

from copilot.errors import Conflict
from copilot.incidents.db import IncidentStore
from copilot.status import schemas as s
from copilot.status import service
from copilot.status.config import ComponentStatus, StatusConfig

_EMOJI = {
    "investigating": ":red_circle:",
    "identified": ":large_orange_circle:",
    "monitoring": ":large_yellow_circle:",
    "resolved": ":large_green_circle:",
}
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])_(.+?)_(?![*\w])")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")


def component_status(phase: str, severity: str, config: StatusConfig) -> ComponentStatus:
    """The component state a status page shows for this phase of an incident."""
    if phase == "resolved":
        return "operational"
    if phase == "monitoring":
        return "degraded_performance"
    return config.catalog.component_status.get(severity, "partial_outage")


def _escape(text: str) -> str:
    # Slack's three control characters; everything else is literal in mrkdwn.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_markdown(title: str, body: str, *, phase: str, audience: str, incident_id: str) -> str:
    """Slack mrkdwn: *bold*, • bullets, <url|text> links; no headings exist, so bold lines."""
    lines = [
        f"{_EMOJI.get(phase, '')} *{_escape(title)}*".strip(),
        f"_{phase.capitalize()} · {audience} update · {incident_id}_",
        "",
    ]
    for raw in body.split("\n"):
        heading = _HEADING.match(raw)
        line = _escape(heading.group(1) if heading else raw)
        line = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", line)
        line = _BOLD.sub(r"*\1*", line)
        line = _ITALIC.sub(r"_\1_", line)
        line = _BULLET.sub(lambda m: f"{m.group(1)}• ", line)
        lines.append(f"*{line}*" if heading else line)
    return "\n".join(lines).strip()


def export(
    *, store: IncidentStore, config: StatusConfig, incident_id: str, draft_id: str | int
) -> s.StatusExport:
    """A published update, ready for a status page (public updates) and for Slack (any)."""
    draft = service.get_draft(store=store, incident_id=incident_id, draft_id=draft_id)
    if draft.state != "published" or draft.published_at is None:
        raise Conflict(
            f"status update draft {draft.id} is not published yet; publish it before exporting"
        )
    statuspage = None
    if draft.audience == "public":
        severity = str(service.draft_context(store=store, draft=draft).get("severity", ""))
        state = component_status(draft.status, severity, config)
        statuspage = s.StatusPageIncident(
            name=draft.title,
            status=draft.status,
            body=draft.body,
            components=[
                s.StatusPageComponent(name=name, status=state) for name in draft.components
            ],
        )
    return s.StatusExport(
        incident_id=draft.incident_id,
        update_id=draft.id,
        audience=draft.audience,
        published_at=draft.published_at,
        next_update_by=draft.next_update_by,
        statuspage=statuspage,
        slack=slack_markdown(
            draft.title,
            draft.body,
            phase=draft.status,
            audience=draft.audience,
            incident_id=draft.incident_id,
        ),
    )
