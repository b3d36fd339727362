"""`copilot import postmortems DIR` (history in) and `copilot insights` (figures out)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.cliutil import (
    EXIT_USAGE,
    UsageError,
    exit_code,
    incident_store,
    open_kb,
    print_json,
    server,
)
from copilot.errors import CopilotError
from copilot.settings import Settings

if TYPE_CHECKING:
    from copilot.client import Client


def cmd_import_postmortems(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.insights.history import import_postmortems

    root: Path = args.dir
    if not root.exists():
        raise UsageError(f"no such file or directory: {root}")
    # Always in this process, on the data directory's database (a running server shares it):
    # imported history sends no webhooks.
    with incident_store(settings) as store:
        report = import_postmortems(store, root)
    if args.json:
        print_json(report.as_dict())
    else:
        for result in report.files:
            target = f" -> {result.incident_id}" if result.incident_id else ""
            detail = (
                f" ({result.events} events, {result.follow_ups} follow-ups)"
                if result.outcome == "imported"
                else ""
            )
            print(f"{result.outcome}: {result.source}{target}{detail}")
            for problem in result.problems:
                print(f"    {problem}")
        print(report.line())
    if report.count("failed"):
        print(
            f"warning: {report.count('failed')} file(s) could not be imported (listed above)",
            file=sys.stderr,
        )
    return 0


def _embedder(settings: Settings) -> Any:
    """The sentence model for clustering; None (TF-IDF) when it cannot be loaded here."""
    from copilot.embedding import Embedder, set_threads
    from copilot.errors import CopilotError

    set_threads(settings.serve_threads)
    try:
        return Embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    except (CopilotError, OSError, ValueError) as exc:
        print(
            f"warning: clustering by keywords: the embedding model did not load ({exc})",
            file=sys.stderr,
        )
        return None


def cmd_insights(args: argparse.Namespace, settings: Settings) -> int:
    from copilot.errors import InvalidInput
    from copilot.insights import service

    out: Path | None = args.out
    if out is not None and not out.parent.exists():
        raise UsageError(f"no such folder for --out: {out.parent}")
    remote = server(settings)
    if remote is not None:
        report, levels = _through(remote, args, settings)
        return _write(args, report, levels)
    with incident_store(settings) as store:
        try:
            query = service.make_query(
                store,
                since=args.since,
                until=args.until,
                severity=args.severity or [],
                service=args.service or [],
                timezone=args.timezone,
                team=args.team,
            )
        except InvalidInput as exc:
            raise UsageError(str(exc)) from None
        with ExitStack() as stack:
            kb = _knowledge_base(store, settings, stack) if args.knowledge else None
            if kb is not None:
                embedder = kb.embedder if args.clusters and args.embeddings else None
            else:
                embedder = _embedder(settings) if args.clusters and args.embeddings else None
            report = service.insights(
                store=store, query=query, embedder=embedder, kb=kb, with_clusters=args.clusters
            )
        levels = store.taxonomy.ids
    return _write(args, report, levels)


def _knowledge_base(store: Any, settings: Settings, stack: ExitStack) -> Any:
    """The data directory's knowledge base when it holds runbooks (it loads the model), or None."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from copilot.errors import CopilotError
    from copilot.knowledge.tables import kb_documents

    try:
        with store.read() as session:
            runbooks = session.scalar(
                select(func.count())
                .select_from(kb_documents)
                .where(kb_documents.c.kind == "runbook")
            )
    except SQLAlchemyError:  # no knowledge tables in this database: nothing to open
        return None
    if not runbooks:
        return None
    try:
        return stack.enter_context(open_kb(settings, threads=settings.serve_threads))
    except (CopilotError, OSError, ValueError) as exc:
        print(
            f"warning: no runbook figures: the knowledge base did not open ({exc})", file=sys.stderr
        )
        return None


def _through(remote: Client, args: argparse.Namespace, settings: Settings) -> tuple[Any, list[str]]:
    """The report from the server (its JSON form), rendered here as it would be locally."""
    from copilot.incidents.severity import load_taxonomy
    from copilot.insights import schemas as s

    query: dict[str, Any] = {
        "since": args.since,
        "until": args.until,
        "severity": args.severity or None,
        "service": args.service or None,
        "team": args.team,
        "timezone": args.timezone,
        "clusters": "true" if args.clusters else "false",
        "method": "embeddings" if args.embeddings else "keywords",
    }
    try:
        report = remote.get(s.Insights, "/v1/insights", **query)
    except CopilotError as exc:
        # A period or filter the server refuses is the same usage error as locally.
        if exit_code(exc) == EXIT_USAGE:
            raise UsageError(str(exc)) from None
        raise
    return report, load_taxonomy(settings.severity_file).ids


def _write(args: argparse.Namespace, report: Any, levels: list[str]) -> int:
    from copilot.insights import report as render
    from copilot.insights.charts import Chart

    out: Path | None = args.out
    if args.format == "json":
        text = report.model_dump_json(indent=2) + "\n"
    elif args.format == "csv":
        text = render.csv_text(report, levels)
    elif args.format == "html":
        text = render.html_document(report, levels)
    else:
        written: list[Path] = []

        def image(chart: Chart) -> str:
            assert out is not None
            path = out.with_name(f"{out.stem}-{chart.key}.svg")
            path.write_text(chart.svg, encoding="utf-8")
            written.append(path)
            return path.name

        text = render.markdown(report, levels, image if out is not None else None)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add `copilot import postmortems DIR` and `copilot insights` to the main parser."""
    group = subparsers.add_parser("import", help="bring history in (postmortem documents)")
    sub = group.add_subparsers(dest="import_command", required=True, metavar="WHAT")
    p = sub.add_parser(
        "postmortems",
        help="turn postmortem documents into incidents and follow-ups (idempotent)",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a folder of markdown postmortems")
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.set_defaults(handler=cmd_import_postmortems)

    p = subparsers.add_parser(
        "insights", help="figures across incidents for a review (md, html with charts, json, csv)"
    )
    p.add_argument("--since", default="90d", help="90d, 12w, or an ISO date (default 90d)")
    p.add_argument("--until", help="an ISO date or a duration back from now (default now)")
    p.add_argument("--severity", action="append", metavar="SEV", help="repeat for several")
    p.add_argument("--service", action="append", metavar="NAME", help="repeat for several")
    p.add_argument("--team", help="services the catalog says this team owns (and its follow-ups)")
    p.add_argument("--timezone", default="UTC", help="IANA zone for the load figures")
    p.add_argument("--format", choices=["md", "html", "json", "csv"], default="md")
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="write here (markdown: charts as SVG beside it)"
    )
    p.add_argument(
        "--no-clusters", dest="clusters", action="store_false", help="skip failure-mode clusters"
    )
    p.add_argument(
        "--no-knowledge",
        dest="knowledge",
        action="store_false",
        help="skip the runbook figures (locally they load the knowledge base and its model)",
    )
    p.add_argument(
        "--keywords", action="store_true", help="cluster by TF-IDF keywords (the default)"
    )
    p.add_argument(
        "--embeddings",
        action="store_true",
        help="cluster by MiniLM sentence vectors instead (loads the model)",
    )
    p.set_defaults(handler=cmd_insights)
