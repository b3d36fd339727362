"""The war-room page: HTML shells at `/`, and the /v1 reads they need that other packages lack.

Those reads: a document's sections (`/v1/documents/...`, overlapping chunks merged), search
results' passages (`/v1/passages`), an incident's timeline (`/v1/incidents/{id}/timeline`), each
with its markdown as sanitised HTML, and `POST /v1/render` for what the page already holds (a
postmortem draft, an answer's steps; it needs the `respond` scope, as a POST under /v1 does).

The pages carry no incident or knowledge-base data. Their script (`static/warroom.js`) fetches it
from the /v1 API with the API key the responder saved in the page, so the page is exactly as
protected as the API: a page route answers anyone, a data request needs a key once keys exist.
The script writes text with `textContent`; the only HTML it inserts is markdown rendered and
sanitised here (`copilot.render`: markdown-it-py, then nh3), in the `html` fields of the reads
below. The pages send a Content-Security-Policy that allows only this server's own script and
style, so even such HTML could not run a script.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, get_args

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from copilot import __version__, render
from copilot.api.deps import IncidentStoreDep, KnowledgeBaseDep, OptionalKnowledgeBaseDep
from copilot.errors import InvalidInput, NotFound
from copilot.followups import schemas as follow_up_schemas
from copilot.guardrails.screened import ours, screen, screened, screened_label
from copilot.incidents import schemas as incident_schemas
from copilot.incidents import service as incident_service
from copilot.incidents.models import STATUSES
from copilot.incidents.service import canonical_id
from copilot.incidents.severity import Taxonomy, load_taxonomy
from copilot.insights import charts as insight_charts
from copilot.insights import routes as insight_routes
from copilot.knowledge.models import Chunk
from copilot.knowledge.passages import merge_windows
from copilot.knowledge.store import KnowledgeBase
from copilot.status import schemas as status_schemas
from copilot.web.schemas import (
    ChartView,
    Document,
    DocumentSection,
    InsightsPage,
    Passage,
    PassageList,
    Rendered,
    RenderedEvent,
    RenderRequest,
    Timeline,
)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static"
MAX_SOURCE = 500
MAX_PASSAGES = 20
_LINES = re.compile(r"^\s*(\d{1,7})\s*(?:-\s*(\d{1,7}))?\s*$")
_PARAM = re.compile(r"\{[^}]*\}")

# Endpoints the page uses when this build serves them; their panels say so when it does not.
FEATURES = {
    "status_updates": ("POST", "/v1/incidents/{}/status-updates"),
    "publish": ("POST", "/v1/incidents/{}/status-updates/{}/publish"),
    "postmortem": ("POST", "/v1/incidents/{}/postmortem"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

templates = Jinja2Templates(directory=str(HERE / "templates"))
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/v1", tags=["war room"])


def mount_static(app: FastAPI) -> None:
    """Serve the page's script and style sheet under /static."""
    app.mount(STATIC_PATH, StaticFiles(directory=str(STATIC_DIR)), name="static")


def parse_lines(value: str | None) -> tuple[int, int] | None:
    """`12-30` (or `12`) as (12, 30); None for no value; InvalidInput for anything else."""
    if value is None or not value.strip():
        return None
    match = _LINES.match(value)
    if not match:
        raise InvalidInput("lines: expected a line range such as 12-30")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if start < 1 or end < start:
        raise InvalidInput("lines: a range starts at line 1 or later and does not run backwards")
    return start, end


def served(app: FastAPI, method: str, template: str) -> bool:
    """Whether `app`'s API has `method` on a path shaped like `template` (`{}` for a parameter).

    Read from the OpenAPI document (FastAPI builds it once and keeps it), which lists every
    API route however its routers were included.
    """
    for path, operations in app.openapi().get("paths", {}).items():
        if _PARAM.sub("{}", path) == template and method.lower() in operations:
            return True
    return False


def _taxonomy(request: Request) -> Taxonomy:
    store = getattr(request.app.state, "incidents", None)
    if store is not None:
        taxonomy: Taxonomy = store.taxonomy
        return taxonomy
    return load_taxonomy(request.app.state.settings.severity_file)


def _severity_filter(request: Request, severity: str | None) -> str:
    """A page's severity filter as the taxonomy's id ("" for none or one it does not know)."""
    if not severity:
        return ""
    try:
        return _taxonomy(request).resolve(severity).id
    except InvalidInput:
        return ""


def _render(request: Request, template: str, page: str, **context: Any) -> HTMLResponse:
    taxonomy = _taxonomy(request)
    features = {name: served(request.app, *spec) for name, spec in FEATURES.items()}
    response = templates.TemplateResponse(
        request,
        template,
        {
            "page": page,
            "version": __version__,
            "static": STATIC_PATH,
            "levels": taxonomy.levels,
            "statuses": STATUSES,
            "event_kinds": incident_schemas.USER_EVENT_KINDS,
            "audiences": ("internal", "executive", "public"),
            "page_impacts": get_args(status_schemas.Impact),
            "page_statuses": get_args(status_schemas.PublicIncidentStatus),
            "component_statuses": get_args(status_schemas.PageComponentStatus),
            "features": features,
            **context,
        },
    )
    response.headers.update(SECURITY_HEADERS)
    return response


# Paths whose misses stay JSON (or the public status page's own): the API, its docs, probes,
# integrations, static files and the status page.
_NOT_PAGES = (
    "/v1/",
    "/status",
    "/static",
    "/docs",
    "/openapi",
    "/metrics",
    "/healthz",
    "/readyz",
    "/slack",
)


def wants_page(request: Request) -> bool:
    """Whether a miss is a person's browser asking for a page (then it gets one, with links)."""
    return (
        request.method in ("GET", "HEAD")
        and not request.url.path.startswith(_NOT_PAGES)
        and "text/html" in request.headers.get("accept", "")
    )


def not_found_page(request: Request) -> HTMLResponse:
    """A 404 a person can act on: what the pages are, never the address asked for."""
    response = _render(request, "notfound.html", "notfound", title="No page here")
    response.status_code = 404
    return response


@pages.get("/", response_class=HTMLResponse)
def incident_list(
    request: Request,
    status: Annotated[str | None, Query(max_length=20)] = None,
    severity: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    chosen_status = status if status in STATUSES else ""
    chosen_severity = _severity_filter(request, severity)
    return _render(
        request,
        "incidents.html",
        "incidents",
        status=chosen_status,
        severity=chosen_severity,
        title="Incidents",
    )


@pages.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: str) -> HTMLResponse:
    number = canonical_id(incident_id)
    return _render(request, "incident.html", "incident", incident_id=number, title=number)


INSIGHT_PERIODS = (
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("180d", "Last 180 days"),
    ("365d", "Last year"),
    ("3650d", "Last 10 years"),
)

# The Firing view's filter: a group status of GET /v1/alert-groups, or "" for every group.
GROUP_FILTERS = (
    ("candidate", "Candidates (to act on)"),
    ("open", "Open, below the threshold"),
    ("declared", "Declared"),
    ("attached", "Attached to an incident"),
    ("dismissed", "Dismissed"),
    ("", "All groups"),
)


@pages.get("/firing", response_class=HTMLResponse)
def firing_page(
    request: Request, status: Annotated[str, Query(max_length=20)] = "candidate"
) -> HTMLResponse:
    chosen = status if status in {value for value, _ in GROUP_FILTERS} else "candidate"
    return _render(
        request,
        "firing.html",
        "firing",
        group_filters=GROUP_FILTERS,
        group_status=chosen,
        title="Firing",
    )


@pages.get("/insights", response_class=HTMLResponse)
def insights_page(
    request: Request,
    since: Annotated[str, Query(max_length=40)] = "90d",
    severity: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    chosen = _severity_filter(request, severity)
    periods = dict(INSIGHT_PERIODS)
    return _render(
        request,
        "insights.html",
        "insights",
        periods=INSIGHT_PERIODS,
        since=since if since in periods else "90d",
        severity=chosen,
        follow_up_statuses=get_args(follow_up_schemas.FollowUpStatus),
        title="Insights and follow-ups",
    )


@pages.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: Annotated[str, Query(max_length=1000)] = "") -> HTMLResponse:
    return _render(request, "search.html", "search", query=q, title="Runbook search")


@pages.get("/runbooks/{source:path}", response_class=HTMLResponse)
def document_page(
    request: Request,
    source: str,
    lines: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    if len(source) > MAX_SOURCE:
        raise InvalidInput(f"source: at most {MAX_SOURCE} characters")
    try:
        wanted = parse_lines(lines)
    except InvalidInput:
        wanted = None
    return _render(
        request,
        "runbook.html",
        "runbook",
        source=source,
        line_start=wanted[0] if wanted else "",
        line_end=wanted[1] if wanted else "",
        title=source,
    )


def known_sources(kb: KnowledgeBase | None) -> frozenset[str]:
    """The documents a link may point to: those in the knowledge base."""
    return frozenset(kb.files()) if kb is not None else frozenset()


def merge_sections(chunks: list[Chunk]) -> list[tuple[str, int, int, str]]:
    """(section, first line, last line, text) per section, its overlapping windows joined.

    A long section is indexed as windows that repeat ~30 words of the one before; shown one by
    one they read as duplicate cards, and a code block cut between two renders empty.
    """
    return [(c.section, c.line_start, c.line_end, c.text) for c in merge_windows(chunks)]


@api.get("/documents/{source:path}", response_model=Document)
def document(
    source: str,
    kb: KnowledgeBaseDep,
    lines: Annotated[
        str | None, Query(max_length=20, description="only sections overlapping, e.g. 12-30")
    ] = None,
) -> Document:
    """One ingested document's sections, as indexed (never read from disk), each once.

    A section indexed as several overlapping windows comes back whole, with its full line
    range; `html` is its markdown rendered and sanitised, links to other documents of the
    knowledge base pointing to their pages.
    """
    if len(source) > MAX_SOURCE:
        raise InvalidInput(f"source: at most {MAX_SOURCE} characters")
    wanted = parse_lines(lines)
    chunks = kb.document_chunks(source)
    if not chunks:
        raise NotFound(f"no document {source[:80]!r} in the knowledge base")
    sections = merge_sections(chunks)
    if wanted is not None:
        sections = [s for s in sections if s[1] <= wanted[1] and s[2] >= wanted[0]]
        if not sections:
            raise NotFound(f"the document has no section at lines {wanted[0]}-{wanted[1]}")
    first = chunks[0]
    known = known_sources(kb)
    shown = []
    for section, start, end, text in sections:
        # The page shows what the copilot would quote: the screened text, and says what was cut.
        checked = screen(text)
        shown.append(
            DocumentSection(
                section=screened_label(section),
                lines=(start, end),
                text=checked.text,
                html=ours(render.to_html(checked.text, source=first.source, known=known)),
                removed=len(checked.removed),
                # The kind of each cut, without what it named (an attacker's host, say).
                reasons=list(dict.fromkeys(r.split(" (")[0] for r in checked.reasons)),
            )
        )
    return Document(
        source=first.source, title=screened_label(first.title), kind=first.kind, sections=shown
    )


def _parse_ref(ref: str) -> tuple[str, int, int]:
    source, _, span = ref.rpartition(":")
    parsed = parse_lines(span) if source else None
    if parsed is None or len(source) > MAX_SOURCE:
        raise InvalidInput("ref: expected <source>:<start>-<end>, as a search result cites it")
    return source, parsed[0], parsed[1]


@api.get("/passages", response_model=PassageList)
def passages(
    kb: KnowledgeBaseDep,
    ref: Annotated[
        list[str],
        Query(
            max_length=MAX_PASSAGES,
            description="`<source>:<start>-<end>` of a search result; repeat for several",
        ),
    ],
) -> PassageList:
    """Indexed passages (search results' `text`) as sanitised HTML, in the order asked.

    A reference that names no indexed passage is left out.
    """
    wanted = [_parse_ref(r) for r in ref]
    by_source: dict[str, list[Chunk]] = {}
    known = known_sources(kb)
    out: list[Passage] = []
    for source, start, end in wanted:
        if source not in by_source:
            by_source[source] = kb.document_chunks(source) if source in known else []
        chunk = next(
            (c for c in by_source[source] if (c.line_start, c.line_end) == (start, end)), None
        )
        if chunk is not None:
            html = render.to_html(screened(chunk.text), source=source, known=known)
            out.append(Passage(source=source, lines=(start, end), html=ours(html)))
    return PassageList(passages=out)


@api.get("/incidents/{incident_id}/timeline", response_model=Timeline)
def timeline(incident_id: str, store: IncidentStoreDep, kb: OptionalKnowledgeBaseDep) -> Timeline:
    """The incident's events (as `/events` lists them), each with its text rendered as HTML.

    Published status updates and notes are markdown; a link in them to a document of the
    knowledge base points to its page.
    """
    events = incident_service.list_events(store=store, incident_id=incident_id)
    known = known_sources(kb)
    return Timeline(
        incident_id=canonical_id(incident_id),
        events=[
            RenderedEvent(**e.model_dump(), html=render.to_html(e.text, known=known))
            for e in events
        ],
    )


@api.post("/render", response_model=Rendered)
def render_markdown(body: RenderRequest, kb: OptionalKnowledgeBaseDep) -> Rendered:
    """Markdown (a postmortem draft, an answer and its steps) as sanitised HTML, to show."""
    source = body.source if body.source else None
    known = known_sources(kb)
    # Each step's links resolve against the runbook it cites ("[pod debug](helpers/podDebug.md)").
    sources = body.inline_sources or [source] * len(body.inline)
    return Rendered(
        html=render.to_html(body.markdown, source=source, known=known) if body.markdown else "",
        inline=[
            render.to_html(t, source=own or source, known=known, inline=True)
            for t, own in zip(body.inline, sources, strict=True)
        ],
    )


@api.get("/insights/page", response_model=InsightsPage)
def insights_with_charts(
    request: Request, store: IncidentStoreDep, filters: insight_routes.FiltersDep
) -> InsightsPage:
    """The insights report (as `GET /v1/insights`) with its charts' SVGs and tables, computed once.

    Same period and filters as `/v1/insights`. The page shows each SVG as an image.
    """
    report = insight_routes.compute(request, store, filters, clusters=True)
    seen = set(report.incidents.by_severity)
    order = list(store.taxonomy.ids)
    levels = [x for x in order if x in seen] + sorted(seen - set(order))
    return InsightsPage(
        insights=report,
        charts=[
            ChartView(key=c.key, title=c.title, svg=c.svg, columns=c.columns, rows=c.rows)
            for c in insight_charts.all_charts(report, levels)
        ],
    )
