"""The page state as Statuspage JSON, server-rendered HTML (Jinja2, autoescaped) and Atom."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from copilot.guardrails.screened import ours, screened
from copilot.render import to_html
from copilot.statuspage import schemas as s
from copilot.statuspage.config import slug
from copilot.statuspage.maintenance import ACTIVE_MAINTENANCE
from copilot.statuspage.service import HISTORY_DAYS, PageState, Window
from copilot.statuspage.service import Incident as PageIncident

INCIDENTS_PER_PAGE = 50
FEED_ENTRIES = 50
# Statuspage's words for each status, shown next to (never instead of) its colour.
LABELS = {
    "operational": "Operational",
    "under_maintenance": "Under maintenance",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
    "none": "None",
    "minor": "Minor",
    "major": "Major",
    "critical": "Critical",
    "maintenance": "Maintenance",
}
CSS = "status.css"


def css_text() -> str:
    return resources.files("copilot.statuspage").joinpath("static", CSS).read_text("utf-8")


# -- JSON ----------------------------------------------------------------------------------------


def page_id(state: PageState) -> str:
    return slug(state.config.name)


def page(state: PageState) -> s.Page:
    return s.Page(
        id=page_id(state),
        name=screened(state.config.name),
        url=state.config.url,
        time_zone=state.config.time_zone,
        updated_at=state.updated_at,
    )


def status(state: PageState) -> s.Status:
    return s.Status(indicator=state.indicator, description=state.description)


def components(state: PageState) -> list[s.Component]:
    pid = page_id(state)
    out = []
    for c in state.config.components:
        now = state.components[c.id]
        out.append(
            s.Component(
                id=c.id,
                name=screened(c.name),
                status=now.status,
                created_at=now.updated_at,
                updated_at=now.updated_at,
                position=c.position,
                description=screened(c.description) if c.description else None,
                showcase=not c.is_group,
                start_date=None,
                group_id=c.group_id,
                page_id=pid,
                group=c.is_group,
                only_show_if_degraded=False,
                components=list(c.children) if c.is_group else None,
            )
        )
    return out


def _link(state: PageState, anchor: str) -> str:
    base = state.config.url.rstrip("/")
    return f"{base}/#{anchor}" if base else f"#{anchor}"


def _names(state: PageState) -> dict[str, str]:
    return {c.id: c.name for c in state.config.components}


def incident(state: PageState, inc: PageIncident) -> s.Incident:
    names = _names(state)
    pid = page_id(state)
    return s.Incident(
        id=inc.id,
        name=inc.name,
        status=inc.status,
        created_at=inc.created_at,
        updated_at=inc.updated_at,
        monitoring_at=inc.monitoring_at,
        resolved_at=inc.resolved_at,
        impact=inc.impact,
        shortlink=_link(state, inc.id),
        started_at=inc.created_at,
        page_id=pid,
        incident_updates=[
            s.IncidentUpdate(
                id=str(u.id),
                status=u.status,
                body=u.body,
                incident_id=inc.id,
                created_at=u.at,
                updated_at=u.at,
                display_at=u.at,
                affected_components=[
                    s.AffectedComponent(
                        code=cid,
                        name=screened(names.get(cid, cid)),
                        old_status=old,
                        new_status=new,
                    )
                    for cid, old, new in u.affected
                ]
                or None,
            )
            for u in inc.updates
        ],
        components=[
            s.IncidentComponent(
                id=cid,
                name=screened(names.get(cid, cid)),
                status=state.components[cid].status,
            )
            for cid in inc.touched
            if cid in state.components
        ],
    )


def maintenance(state: PageState, w: Window) -> s.ScheduledMaintenance:
    names = _names(state)
    row = w.row
    mid = f"MNT-{row.id}"
    return s.ScheduledMaintenance(
        id=mid,
        name=w.name,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        monitoring_at=None,
        resolved_at=row.completed_at,
        impact="maintenance",
        shortlink=_link(state, mid),
        started_at=row.started_at or row.scheduled_for,
        page_id=page_id(state),
        incident_updates=[
            s.IncidentUpdate(
                id=f"{mid}-{uid}",
                status=ustatus,
                body=body,
                incident_id=mid,
                created_at=at,
                updated_at=at,
                display_at=at,
                affected_components=None,
            )
            for uid, ustatus, body, at in w.updates
        ],
        components=[
            s.IncidentComponent(
                id=cid,
                name=screened(names[cid]),
                status=state.components[cid].status,
            )
            for cid in row.components
            if cid in state.components
        ],
        scheduled_for=row.scheduled_for,
        scheduled_until=row.scheduled_until,
    )


def status_response(state: PageState) -> s.StatusResponse:
    return s.StatusResponse(page=page(state), status=status(state))


def components_response(state: PageState) -> s.ComponentsResponse:
    return s.ComponentsResponse(page=page(state), components=components(state))


def open_windows(state: PageState) -> list[Window]:
    return [w for w in state.maintenances if w.row.status != "completed"]


def summary(state: PageState) -> s.SummaryResponse:
    return s.SummaryResponse(
        page=page(state),
        components=components(state),
        incidents=[incident(state, i) for i in state.unresolved],
        scheduled_maintenances=[maintenance(state, w) for w in open_windows(state)],
        status=status(state),
    )


def incidents_page(state: PageState, number: int = 1) -> s.IncidentsResponse:
    start = (number - 1) * INCIDENTS_PER_PAGE
    chosen = state.incidents[start : start + INCIDENTS_PER_PAGE]
    return s.IncidentsResponse(page=page(state), incidents=[incident(state, i) for i in chosen])


def unresolved(state: PageState) -> s.IncidentsResponse:
    return s.IncidentsResponse(
        page=page(state), incidents=[incident(state, i) for i in state.unresolved]
    )


def maintenances(state: PageState, which: str = "all") -> s.MaintenancesResponse:
    if which == "upcoming":
        chosen = [w for w in state.maintenances if w.row.status == "scheduled"]
    elif which == "active":
        chosen = [w for w in state.maintenances if w.row.status in ACTIVE_MAINTENANCE]
    else:
        chosen = list(reversed(state.maintenances))
    return s.MaintenancesResponse(
        page=page(state), scheduled_maintenances=[maintenance(state, w) for w in chosen]
    )


# -- HTML and Atom -------------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("copilot.statuspage", "templates"),
    autoescape=select_autoescape(["html", "xml", "atom"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


_SOFT_BREAK = re.compile(r"(?<![\n ])\n(?!\n)")


@lru_cache(maxsize=4096)
def _markdown(text: str) -> str:
    # An update's lines are lines (Affected: ..., Next update: ...), not one wrapped paragraph.
    return to_html(_SOFT_BREAK.sub("  \n", text), heading_offset=3)


def _when(value: datetime | None) -> str:
    return value.strftime("%b %-d, %Y %H:%M UTC") if value else ""


def _pct(value: float | None) -> str:
    if value is None:
        return ""
    shown = f"{value * 100:.2f}"
    # Never round a day with downtime up to a clean 100.
    return "99.99" if shown == "100.00" and value < 1 else shown


_env.filters["when"] = _when
_env.filters["pct"] = _pct
_env.filters["label"] = lambda v: LABELS.get(str(v), str(v))
# Published text is markdown: rendered by the one sanitised renderer (copilot.render), which
# shows raw HTML as text and keeps only a short list of tags.
_env.filters["md"] = lambda v: Markup(_markdown(str(v)))
_env.filters["md_str"] = lambda v: _markdown(str(v))


def html(state: PageState, *, root: str) -> str:
    """The page; `root` prefixes its links (/status/ when served, ./ when exported)."""
    resolved = [i for i in state.incidents if i.status == "resolved"]
    since = state.now.timestamp() - HISTORY_DAYS * 86400
    context: dict[str, Any] = {
        "state": state,
        "root": root,
        "page_name": screened(state.config.name),
        "groups": _groups(state),
        "active": state.unresolved,
        "windows": open_windows(state),
        "past": [i for i in resolved if i.updated_at.timestamp() >= since][:20],
        "names": {c.id: screened(c.name) for c in state.config.components},
        "history_days": HISTORY_DAYS,
        "note": ours(
            f"Uptime is the share of the last {HISTORY_DAYS} days a component was not in "
            "partial or major outage."
        ),
    }
    return _env.get_template("status.html").render(context)


def _groups(state: PageState) -> list[dict[str, Any]]:
    """Top-level entries in order: a group with its components, or a lone component."""
    out: list[dict[str, Any]] = []
    by = state.config.by_id()
    for c in state.config.components:
        if c.group_id is not None:
            continue
        kids = [
            {"c": by[k], "name": screened(by[k].name), "s": state.components[k]} for k in c.children
        ]
        out.append(
            {
                "c": c,
                "name": screened(c.name),
                "s": state.components[c.id],
                "children": kids,
                "description": screened(c.description) if c.description else None,
            }
        )
    return out


def atom(state: PageState, *, self_url: str) -> str:
    """An Atom feed of the published updates and maintenance messages, newest first."""
    entries: list[dict[str, Any]] = []
    for inc in state.incidents:
        for u in inc.updates:
            entries.append(
                {
                    "id": f"{self_url}#{inc.id}-{u.id}",
                    "title": f"{inc.name} — {LABELS.get(u.status, u.status)}",
                    "at": u.at,
                    "body": u.body,
                    "anchor": inc.id,
                }
            )
    for w in state.maintenances:
        for uid, ustatus, body, at in w.updates:
            entries.append(
                {
                    "id": f"{self_url}#MNT-{w.row.id}-{uid}",
                    "title": f"{w.name} — {LABELS.get(ustatus, ustatus)}",
                    "at": at,
                    "body": body,
                    "anchor": f"MNT-{w.row.id}",
                }
            )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return _env.get_template("history.atom.jinja2").render(
        state=state,
        page_name=screened(state.config.name),
        entries=entries[:FEED_ENTRIES],
        self_url=self_url,
        page_url=(state.config.url.rstrip("/") + "/")
        if state.config.url
        else self_url.rsplit("/", 1)[0] + "/",
    )
