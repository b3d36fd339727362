"""The FastAPI application factory."""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException

from copilot import __version__
from copilot.alerts import routes as alert_routes
from copilot.api import health
from copilot.api.errors import install_error_handlers
from copilot.api.middleware import close_security, install_security
from copilot.api.openapi import install_openapi
from copilot.assist import routes as assist_routes
from copilot.catalog import routes as catalog_routes
from copilot.embedding import Embedder, set_threads
from copilot.followups import routes as follow_up_routes
from copilot.guardrails import semantic
from copilot.incidents import routes as incident_routes
from copilot.incidents.db import IncidentStore
from copilot.insights import routes as insights_routes
from copilot.integrations import slack, slack_alerts, webhooks
from copilot.knowledge import links
from copilot.knowledge import routes as knowledge_routes
from copilot.knowledge.store import KnowledgeBase
from copilot.llm.base import ChatModel
from copilot.llm.providers import build_chat_model
from copilot.postmortem import routes as postmortem_routes
from copilot.security import routes as security_routes
from copilot.settings import Settings, get_settings
from copilot.status import routes as status_routes
from copilot.statuspage import config as statuspage_config
from copilot.statuspage import notify as statuspage_notify
from copilot.statuspage import routes as statuspage_routes
from copilot.web import routes as web_routes

log = logging.getLogger("copilot.api")

REQUEST_SECONDS = Histogram(
    "copilot_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Swagger UI and ReDoc as the fastapi-offline package ships them: /docs works air-gapped.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_PATH = "/docs/assets"


class _InlineCode(HTMLParser):
    """The text of each inline <script> and <style> of a page, to allow exactly those by hash."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: str | None = None
        self.found: dict[str, list[str]] = {"script": [], "style": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.found and not dict(attrs).get("src"):
            self.open = tag
            self.found[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self.open:
            self.open = None

    def handle_data(self, data: str) -> None:
        if self.open is not None:
            self.found[self.open][-1] += data


# For a document a route serves without a policy of its own (an SVG picture, a report as HTML):
# nothing runs, nothing loads from elsewhere, nobody frames it.
DOCUMENT_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_DOCUMENT_TYPES = ("text/html", "image/svg+xml")


def _default_security_headers(response: Response) -> None:
    """`nosniff` on every response; a closed policy on any HTML or SVG that set none."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in _DOCUMENT_TYPES:
        response.headers.setdefault("Content-Security-Policy", DOCUMENT_POLICY)


def docs_policy(html: str) -> str:
    """A Content-Security-Policy for a docs page: this server's files and its own inline script.

    Swagger UI and ReDoc set styles at run time, so styles may be inline; scripts may not,
    except the page's own start-up script, allowed by its hash.
    """
    parser = _InlineCode()
    parser.feed(html)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in parser.found["script"]
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}".rstrip()
        + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
    page.headers["X-Content-Type-Options"] = "nosniff"
    page.headers["Referrer-Policy"] = "same-origin"
    return page


def install_docs(app: FastAPI) -> None:
    """Serve /docs (Swagger UI) and /redoc from this server's own copy of their assets."""
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{root}{DOCS_ASSETS_PATH}/favicon.png",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _with_policy(
            get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{DOCS_ASSETS_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{DOCS_ASSETS_PATH}/favicon.png",
                with_google_fonts=False,
            )
        )


def _warm_hosts(kb: KnowledgeBase) -> None:
    """Read the knowledge base's link hosts, and which pages link to which, now; a server
    stopped meanwhile closed the store, and the next search or ask reads them anyway."""
    try:
        kb.known_hosts()
        links.links_into(kb)
    except Exception:  # a warm-up only: the ask path reads them again
        log.debug("warming the knowledge base's links stopped", exc_info=True)


def create_app(
    settings: Settings | None = None,
    *,
    kb: KnowledgeBase | None = None,
    embedder: Embedder | None = None,
    incident_store: IncidentStore | None = None,
    load_knowledge: bool = True,
    chat: ChatModel | None = None,
    bind_host: str | None = None,
) -> FastAPI:
    """Build the app; pass `kb` to serve an already open knowledge base (tests do).

    `incident_store` serves an already open incident store; otherwise the lifespan opens (and
    migrates) the one the settings name. `load_knowledge=False` skips loading the knowledge base
    and its model, for tests and deployments that only need incidents. `bind_host` is the address
    the server listens on: with no API keys, /v1 is served only when it is a loopback address.
    """
    settings = settings or get_settings()
    # Built now, like the chat model, so a bad webhook setting fails at start.
    dispatcher = webhooks.from_settings(settings)
    slack_poster = slack_alerts.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_incidents: IncidentStore | None = None
        if incident_store is None:
            owned_incidents = IncidentStore.open(settings)
            app.state.incidents = owned_incidents
        owned: KnowledgeBase | None = None
        try:
            if kb is None and load_knowledge:
                # Start-up work uses every core, as ingest does: nothing is served yet, and the
                # detector's fit below embeds 703 exemplars (15.6 s on one thread, 9.2 s on two).
                set_threads(os.cpu_count() or 1)
                model = embedder or Embedder(
                    settings.embedding_model, batch_size=settings.embed_batch_size
                )
                owned = KnowledgeBase(settings, model)
                # The first responder's search should not pay for loading the index.
                owned.warm()
                # Nor for fitting the injection detector (the first page showing a postmortem
                # title or a blast radius took 15 s or more without this). The fit is kept in
                # the data directory: a later start with the same model reads it (9 s saved).
                semantic.keep_fits_in(settings.data_dir)
                semantic.warm()
                # Serving keeps to its own threads: query latency stays stable under load.
                set_threads(settings.serve_threads)
                # Nor for reading the hosts every section links to, which the first ask needs
                # (18 s on the sample knowledge base): in the background, searches go on.
                threading.Thread(target=_warm_hosts, args=(owned,), daemon=True).start()
                app.state.kb = owned
            elif kb is not None:
                # A knowledge base opened by the caller: the detector is fitted now all the same
                # (a first postmortem pre-fill otherwise paid 9 s for it on this machine).
                semantic.warm()
            # The public status page: published updates and maintenance changes to its
            # subscribers (webhooks, when configured), and maintenance windows' own start and end.
            page_notifier = statuspage_notify.Notifier(
                app.state.incidents,
                functools.partial(
                    statuspage_config.current, app.state.incidents.db, settings.status_components
                ),
                [dispatcher.on_status_page] if dispatcher is not None else [],
            )
            app.state.status_page_notifier = page_notifier
            with (
                webhooks.running(dispatcher, app.state.incidents),
                slack_alerts.running(slack_poster),
                statuspage_notify.running(page_notifier),
            ):
                yield
        finally:
            if owned is not None:
                owned.close()
            app.state.kb = None
            if owned_incidents is not None:
                owned_incidents.close()
            app.state.incidents = None
            app.state.status_page_notifier = None
            close_security(app)

    app = FastAPI(
        title="Responder Copilot",
        version=__version__,
        description="Grounded runbook search and incident assistance.",
        lifespan=lifespan,
        # Served by install_docs from local assets, not FastAPI's CDN-hosted pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.kb = kb
    app.state.incidents = incident_store
    app.state.status_page_notifier = None  # set while the app serves
    # Who hears of created or changed follow-ups: the webhook dispatcher, when one is configured.
    app.state.follow_up_listeners = [dispatcher.on_follow_up] if dispatcher is not None else []
    # Who hears of new alert candidates: the Slack poster, when a Slack webhook is configured.
    app.state.alert_candidate_listeners = (
        [slack_poster.on_candidates] if slack_poster is not None else []
    )
    # The chat model is built now, so a bad COPILOT_LLM fails at start, not on the first ask.
    app.state.chat = chat if chat is not None else build_chat_model(settings)
    install_error_handlers(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A mistyped page address in a browser gets a page with the links, not a JSON body.
        if exc.status_code == 404 and web_routes.wants_page(request):
            return web_routes.not_found_page(request)
        return await http_exception_handler(request, exc)

    @app.middleware("http")
    async def _time_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUEST_SECONDS.labels(request.method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        _default_security_headers(response)
        return response

    install_security(app, settings, bind_host=bind_host)
    # The key store and audit log install_security made name the data dir's database; these
    # settings may name another (COPILOT_DATABASE_URL given in code rather than the environment).
    app.state.keys.use(settings)
    app.state.audit.use(settings)

    app.include_router(health.router)
    app.include_router(knowledge_routes.router)
    app.include_router(incident_routes.router)
    app.include_router(catalog_routes.router)
    app.include_router(alert_routes.router)
    app.include_router(assist_routes.router)
    app.include_router(status_routes.router)
    app.include_router(statuspage_routes.pages)
    app.include_router(statuspage_routes.api)
    app.include_router(postmortem_routes.router)
    app.include_router(security_routes.router)
    app.include_router(follow_up_routes.router)
    app.include_router(insights_routes.router)
    app.include_router(slack.router)
    app.include_router(web_routes.api)
    app.include_router(web_routes.pages)
    web_routes.mount_static(app)
    install_docs(app)
    install_openapi(app)
    return app
