"""The `copilot` command line; `python -m copilot` is the same.

With `copilot serve` running on the data directory (its address in `DATA_DIR/server.json`), or
with `COPILOT_URL` set, commands that read or write the knowledge base or incidents go through
that server over HTTP (`COPILOT_API_KEY` is sent as a Bearer key) and print what they print
locally; alone, they open the data directory themselves. Exit codes are listed in
`copilot.cliutil`: 0 done, 1 refused or failed (not found, conflict, unavailable), 2 usage or bad
input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.cliutil import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
    exit_code,
    incident_store,
    open_kb,
    print_json,
    print_model,
    server,
)
from copilot.errors import CopilotError
from copilot.fences import FENCE_LINE
from copilot.settings import Settings, get_settings

if TYPE_CHECKING:
    from copilot.assist.schemas import CatalogContext, CatalogService

__all__ = ["EXIT_USAGE", "UsageError", "build_parser", "main", "print_json"]

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    import os

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    remote = server(settings)
    if remote is not None:
        # The server owns the store: it ingests (admin scope), reading the files itself.
        from copilot.knowledge.schemas import IngestResponse

        done = remote.post(
            IngestResponse,
            "/v1/admin/ingest",
            {"paths": [str(p.resolve()) for p in paths], "rebuild": args.rebuild},
        )
        summary = done.model_dump(mode="json")
        failures = [(f.file, f.reason) for f in done.failures]
        line = (
            f"ingest: {done.added} added, {done.updated} updated, {done.unchanged} unchanged, "
            f"{done.removed} removed, {done.failed} failed; {done.chunks} chunks written "
            f"({done.embedded} embedded) in {done.seconds:.1f}s by the server at {remote.url}"
        )
    else:
        from ingest.pipeline import ingest_paths

        with open_kb(settings, threads=os.cpu_count()) as kb:
            report = ingest_paths(kb, paths, rebuild=args.rebuild)
        failures, summary, line = report.failed, report.summary(), report.line()
    for source, reason in failures:
        print(f"warning: skipped {source}: {reason}", file=sys.stderr)
    if args.json:
        print_json(summary)
    else:
        print(line)
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.knowledge import retrieval
    from copilot.knowledge.schemas import SearchResponse, corrected_note

    query = args.query.strip()
    if not query or len(query) > retrieval.MAX_QUERY_CHARS:
        raise UsageError(
            f"query must be 1 to {retrieval.MAX_QUERY_CHARS} characters, not {len(query)}"
        )
    if not 1 <= args.top_k <= 50:
        raise UsageError("--top-k must be between 1 and 50")
    remote = server(settings)
    if remote is not None:
        body = {"query": query, "top_k": args.top_k, "kind": args.kind}
        body = {k: v for k, v in body.items() if v is not None}
        response = remote.post(SearchResponse, "/v1/search", body)
    else:
        with open_kb(settings, threads=settings.serve_threads, read_only=True) as kb:
            found = retrieval.retrieve(kb=kb, query=query, top_k=args.top_k, kind=args.kind)
            response = SearchResponse.build(
                query,
                found.hits,
                floor=settings.abstain_below,
                degraded=found.degraded,
                twins=found.twins,
                corrected=found.corrected,
            )
    if args.json:
        print_model(response)
        return 0
    if response.degraded:
        print(f"note: {response.degraded}")
    corrected = corrected_note(response.corrected)
    if corrected:
        print(f"note: {corrected}")
    if not response.results:
        print("no matches; is the knowledge base ingested? (copilot ingest runbooks/)")
    elif response.no_match:
        print("nothing in the knowledge base matches this closely; the closest are:")
    if response.near_twins is not None:
        print(f"note: {response.near_twins.note}")
    for i, r in enumerate(response.results, 1):
        print(f"{i}. {r.title} — {r.section}  [{r.kind}, score {r.score:.4f}]")
        print(f"   {r.source}:{r.lines[0]}-{r.lines[1]}")
        # One line of the section as a person reads it: no code-fence markers.
        snippet = " ".join(FENCE_LINE.sub(" ", r.text).split())[:200]
        print(f"   {snippet}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.assist.schemas import MAX_QUESTION_CHARS, MAX_STEPS, AskResponse

    question = args.question.strip()
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"question must be 1 to {MAX_QUESTION_CHARS} characters, not {len(question)}"
        )
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be 1 to {MAX_STEPS}, not {args.steps}")
    remote = server(settings)
    if remote is not None:
        body: dict[str, Any] = {"question": question}
        if args.incident:
            body["incident_id"] = args.incident
        if args.steps is not None:
            body["max_steps"] = args.steps
        response = remote.post(AskResponse, "/v1/ask", body)
    else:
        response = _ask_locally(
            settings, question=question, incident_id=args.incident, max_steps=args.steps
        )
    if args.json:
        print_model(response)
        return 0
    if response.degraded:
        print(f"note: {response.degraded}")
    print(response.answer)
    for i, step in enumerate([st for st in response.steps if not st.caution], 1):
        flag = "  [REQUIRES APPROVAL]" if step.requires_approval else ""
        print(f"\n{i}. {step.text}{flag}")
        if step.command and step.command not in step.text:
            print("   " + step.command.replace("\n", "\n   "))
        for c in step.citations:
            print(f"   source: {c.source}:{c.lines[0]}-{c.lines[1]} ({c.section})")
    cautions = [st for st in response.steps if st.caution]
    if cautions:
        print("\nCaution (the runbook says not to):")
        for step in cautions:
            print(f"! {step.text}")
            for c in step.citations:
                print(f"  source: {c.source}:{c.lines[0]}-{c.lines[1]} ({c.section})")
    if response.more_steps:
        listed = sum(not st.caution for st in response.steps)
        wanted = min(MAX_STEPS, listed + response.more_steps)
        print(
            f"\n{response.more_steps} more step(s) not listed: add --steps {wanted} to list them."
        )
    if response.done:
        print("\nAlready done (left out):")
        for d in response.done:
            print(f"- {d.text}\n  done: {d.done_by}")
    if response.similar_incidents:
        print("\nSimilar past incidents:")
        for inc in response.similar_incidents:
            print(f"- {inc.title} ({inc.source}): fixed by: {inc.what_fixed_it}")
    if response.catalog is not None:
        print("\n" + "\n".join(catalog_lines(response.catalog)))
    g = response.guardrails
    if g.redactions or g.injection_suspected or g.blocked:
        print(
            f"\nguardrails: {g.redactions} redacted; injection suspected in "
            f"{', '.join(g.injection_suspected) or 'none'}; {len(g.blocked)} item(s) blocked"
        )
    return 0


def _short(ref: str) -> str:
    return ref.split("/", 1)[-1]


def catalog_lines(ctx: CatalogContext) -> list[str]:
    """An answer's catalog context (`AskResponse.catalog`) as the lines `copilot ask` prints."""

    def who(c: CatalogService) -> str:
        if c.owner is None:
            return "no owner in the catalog"
        return f"{c.owner.name} ({', '.join(c.owner.contacts[:3]) or 'no contact listed'})"

    lines = ["Owners:"]
    lines += [f"- {c.title} ({c.name}): {who(c)}" for c in ctx.affected]
    if ctx.dependents:
        lines.append(f"Depends on them ({ctx.dependents_total}; user-facing first):")
        for c in ctx.dependents:
            public = f" [user-facing: {c.public_name}]" if c.user_facing else ""
            via = " <- ".join(_short(p) for p in c.path)
            lines.append(f"- {c.title}{public} ({via}): {who(c)}")
        more = ctx.dependents_total - len(ctx.dependents)
        if more > 0:
            lines.append(f"- ... and {more} more (copilot catalog impact for all)")
    if ctx.upstream:
        lines.append("Check upstream first:")
        for c in ctx.upstream:
            via = " -> ".join(_short(p) for p in c.path)
            lines.append(f"- {c.title} ({via}): {who(c)}")
            if c.runbook is not None:
                r = c.runbook
                lines.append(f"  runbook: {r.title} ({r.source}:{r.lines[0]}-{r.lines[1]})")
    if ctx.unmapped:
        lines.append(f"Not in the service catalog: {', '.join(ctx.unmapped)}")
    return lines


def _ask_locally(
    settings: Settings, *, question: str, incident_id: str | None, max_steps: int | None = None
) -> Any:
    from copilot.assist import service
    from copilot.llm.providers import build_chat_model
    from copilot.security.audit import record_cli_ask

    composer = service.composer_for(build_chat_model(settings))
    incident = events = None
    # The same database as the server's: the incident, and the service catalog for owners.
    with incident_store(settings) as store:
        if incident_id:
            from copilot.incidents import service as incidents

            incident = incidents.get_incident(store=store, incident_id=incident_id)
            events = incidents.list_events(store=store, incident_id=incident_id)
        with open_kb(settings, threads=settings.serve_threads, read_only=True) as kb:
            response = service.ask(
                kb=kb,
                question=question,
                composer=composer,
                incident=incident,
                events=events or (),
                db=store.db,
                max_steps=max_steps,
            )
    record_cli_ask(settings, question=question, response=response, incident=incident)
    return response


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.client import claim_server_file, remove_server_file

    # Recorded as starting first of all, before the server's own imports (seconds), the model
    # and the store, so that a command run meanwhile waits for this server instead of running
    # on its own and taking the store this one is about to own.
    claim_server_file(settings.data_dir)
    try:
        return _serve(args, settings)
    finally:
        remove_server_file(settings.data_dir)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from copilot.api.app import create_app
    from copilot.client import remove_server_file, url_for, write_server_file
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

    class RecordedServer(uvicorn.Server):
        """Records its address in the data directory once it listens, for the CLI to find."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit or not self.servers:
                return
            port = args.port
            for listener in self.servers:
                for sock in listener.sockets:
                    port = sock.getsockname()[1]
                    break
            write_server_file(settings.data_dir, url_for(args.host, port))

        async def shutdown(self, sockets: Any = None) -> None:
            # Here, not only after run(): uvicorn re-raises SIGTERM/SIGINT once it has shut
            # down, which ends the process before run() returns.
            remove_server_file(settings.data_dir)
            await super().shutdown(sockets=sockets)

    app = create_app(settings, bind_host=args.host)
    # Our middleware writes the access log (route templates, no query strings, request ids).
    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None, access_log=False)
    RecordedServer(config).run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot",
        description="Responder Copilot: grounded help during incidents.",
        epilog="Exit codes: 0 done; 1 refused or failed (not found, conflict, unavailable); "
        "2 usage or bad input. With `copilot serve` running on the data directory (or "
        "COPILOT_URL set), commands go through the server; COPILOT_API_KEY is its key.",
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
    p.add_argument(
        "--steps", type=int, metavar="N", help="list up to N steps (default: the configured cap)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.set_defaults(handler=cmd_serve)

    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[Any], None]]:
    """Sub-command groups of other domains, each a `register(subparsers)` function."""
    from copilot.alerts.cli import register as register_alerts
    from copilot.catalog.cli import register as register_catalog
    from copilot.followups.cli import register as register_follow_ups
    from copilot.incidents.cli import register as register_incidents
    from copilot.insights.cli import register as register_insights
    from copilot.postmortem.cli import register as register_postmortem
    from copilot.security.cli import register as register_security
    from copilot.status.cli import register as register_status
    from copilot.statuspage.cli import register as register_status_page

    return [
        register_incidents,
        register_security,
        register_status,
        register_status_page,
        register_postmortem,
        register_follow_ups,
        register_insights,
        register_catalog,
        register_alerts,
    ]


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
        return exit_code(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
