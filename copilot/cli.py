"""The `copilot` command line; `python -m copilot` is the same."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from copilot.errors import CopilotError
from copilot.settings import Settings, get_settings

EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, Settings], int]


class UsageError(Exception):
    """Bad input on the command line: printed, exit code 2."""


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _open_kb(settings: Settings, *, threads: int | None = None) -> Any:
    from copilot.embedding import Embedder, set_threads
    from copilot.knowledge.store import KnowledgeBase

    if threads:
        set_threads(threads)
    embedder = Embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    return KnowledgeBase(settings, embedder)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from ingest.pipeline import ingest_paths

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    with _open_kb(settings, threads=os.cpu_count()) as kb:
        report = ingest_paths(kb, paths, rebuild=args.rebuild)
    for source, reason in report.failed:
        print(f"warning: skipped {source}: {reason}", file=sys.stderr)
    if args.json:
        print_json(report.summary())
    else:
        print(report.line())
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.knowledge import retrieval
    from copilot.knowledge.schemas import SearchResponse, SearchResult

    query = args.query.strip()
    if not query or len(query) > retrieval.MAX_QUERY_CHARS:
        raise UsageError(
            f"query must be 1 to {retrieval.MAX_QUERY_CHARS} characters, not {len(query)}"
        )
    if not 1 <= args.top_k <= 50:
        raise UsageError("--top-k must be between 1 and 50")
    with _open_kb(settings, threads=settings.serve_threads) as kb:
        hits = retrieval.search(kb=kb, query=query, top_k=args.top_k, kind=args.kind)
    response = SearchResponse(query=query, results=[SearchResult.from_hit(h) for h in hits])
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    if not response.results:
        print("no matches; is the knowledge base ingested? (copilot ingest runbooks/)")
    for i, r in enumerate(response.results, 1):
        print(f"{i}. {r.title} — {r.section}  [{r.kind}, score {r.score:.4f}]")
        print(f"   {r.source}:{r.lines[0]}-{r.lines[1]}")
        snippet = " ".join(r.text.split())[:200]
        print(f"   {snippet}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.assist import service
    from copilot.assist.schemas import MAX_QUESTION_CHARS
    from copilot.llm.providers import build_chat_model

    question = args.question.strip()
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"question must be 1 to {MAX_QUESTION_CHARS} characters, not {len(question)}"
        )
    composer = service.composer_for(build_chat_model(settings))
    incident = events = None
    if args.incident:
        from copilot.incidents import service as incidents
        from copilot.incidents.db import IncidentStore

        store = IncidentStore.open(settings)
        try:
            incident = incidents.get_incident(store=store, incident_id=args.incident)
            events = incidents.list_events(store=store, incident_id=args.incident)
        finally:
            store.close()
    with _open_kb(settings, threads=settings.serve_threads) as kb:
        response = service.ask(
            kb=kb, question=question, composer=composer, incident=incident, events=events or ()
        )
    from copilot.security.audit import record_cli_ask

    record_cli_ask(settings, question=question, response=response, incident=incident)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    print(response.answer)
    for i, step in enumerate(response.steps, 1):
        flag = "  [REQUIRES APPROVAL]" if step.requires_approval else ""
        print(f"\n{i}. {step.text}{flag}")
        if step.command and step.command not in step.text:
            print("   " + step.command.replace("\n", "\n   "))
        for c in step.citations:
            print(f"   source: {c.source}:{c.lines[0]}-{c.lines[1]} ({c.section})")
    if response.similar_incidents:
        print("\nSimilar past incidents:")
        for inc in response.similar_incidents:
            print(f"- {inc.title} ({inc.source}): fixed by: {inc.what_fixed_it}")
    g = response.guardrails
    if g.redactions or g.injection_suspected or g.blocked:
        print(
            f"\nguardrails: {g.redactions} redacted; injection suspected in "
            f"{', '.join(g.injection_suspected) or 'none'}; {len(g.blocked)} item(s) blocked"
        )
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from copilot.api.app import create_app
    from copilot.security.auth import check_bind
    from copilot.security.keys import KeyStore
    from copilot.security.logs import configure_logging

    keys = KeyStore(settings.security_path)
    try:
        runs_open = check_bind(keys, args.host)
    finally:
        keys.close()
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    if runs_open:
        logging.getLogger("copilot.api").warning(
            "no API keys exist: serving /v1 without authentication, on loopback (%s) only; "
            "create one with `copilot keys create NAME --scope read`",
            args.host,
        )
    app = create_app(settings, bind_host=args.host)
    # Our middleware writes the access log (route templates, no query strings, request ids).
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot", description="Responder Copilot: grounded help during incidents."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="index runbooks and postmortems (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="markdown files or folders")
    p.add_argument("--rebuild", action="store_true", help="drop the index and rebuild it")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("search", help="find runbook sections for a symptom")
    p.add_argument("query", help="plain-language symptoms")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--kind", choices=["runbook", "postmortem"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("ask", help="grounded next steps for a question")
    p.add_argument("question", help="what is happening, or what you want to do")
    p.add_argument("--incident", metavar="ID", help="answer in the context of this incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(handler=cmd_serve)

    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[Any], None]]:
    """Sub-command groups of other domains, each a `register(subparsers)` function."""
    registers: list[Callable[[Any], None]] = []
    from copilot.incidents.cli import register as register_incidents

    registers.append(register_incidents)
    from copilot.security.cli import register as register_security

    registers.append(register_security)
    from copilot.status.cli import register as register_status

    registers.append(register_status)
    from copilot.postmortem.cli import register as register_postmortem

    registers.append(register_postmortem)
    return registers


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CopilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
