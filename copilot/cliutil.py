"""What every `copilot` sub-command shares: errors, exit codes, output, the way to the data.

Exit codes, the same for the same kind of error whether a command runs locally or through a
server (they follow the HTTP status the API gives the same error):

- 0: done.
- 1: refused or failed: not found (404), conflict such as an invalid transition or an already
  published update (409), no or a wrong API key (401, 403), the server or the store unavailable
  (5xx, a store another process owns, a server that does not answer), a configuration error.
- 2: usage or bad input: unknown options or values, input the API refuses as invalid (400, 413,
  422, including text a guardrail will not let through): fix the command line and run it again.
- 130: interrupted.

Sub-command modules (`copilot/*/cli.py`) import from here, never from `copilot.cli`, which sits
on top of them and imports them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from copilot.clocktime import parse_time
from copilot.errors import CopilotError
from copilot.settings import Settings

if TYPE_CHECKING:
    from copilot.client import Client
    from copilot.knowledge.store import KnowledgeBase

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# HTTP statuses that mean "the input was wrong as given": exit code 2.
INPUT_STATUSES = frozenset({400, 413, 422})


class UsageError(Exception):
    """Bad input on the command line: printed, exit code 2."""


def api_word(text: str) -> str:
    """An option's value as the API spells its names: "in-progress", "In progress" and
    "in_progress" are one; "won't do" is "wont_do"; "partial-outage" is "partial_outage"."""
    return text.strip().lower().replace("'", "").replace("-", "_").replace(" ", "_")


def moment(text: str) -> str:
    """A time given on the command line (`14:05`, the most recent one, UTC; or ISO 8601), as
    the ISO 8601 the API takes."""
    try:
        return parse_time(text, now=datetime.now(UTC)).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def exit_code(error: CopilotError) -> int:
    """The exit code of an error, from the HTTP status the API answers it with."""
    return EXIT_USAGE if error.status_code in INPUT_STATUSES else EXIT_FAILED


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))  # noqa: T201


def print_model(model: BaseModel) -> None:
    """A response model as JSON, as the API serialises it."""
    print(model.model_dump_json(indent=2))  # noqa: T201


def build(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Validate CLI input with the API's own request model; a problem is a usage error."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(problems) from None


def fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if value else "-"


def server(settings: Settings) -> Client | None:
    """The server that owns the data directory (or COPILOT_URL), if one answers."""
    from copilot.client import find_server

    return find_server(settings.data_dir)


def open_kb(
    settings: Settings, *, threads: int | None = None, read_only: bool = False
) -> KnowledgeBase:
    """Open the knowledge base of the data directory in this process (it takes the store lock).

    `read_only` (search and ask): when another process holds the lock (an ingest, another
    command, a server still loading), read the store already ingested without the lock instead
    of failing; nothing is written through it.
    """
    from copilot.embedding import Embedder, set_threads
    from copilot.errors import StoreLocked
    from copilot.guardrails import semantic
    from copilot.knowledge.store import KnowledgeBase

    if threads:
        set_threads(threads)
    embedder = Embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    # The injection detector's fit, kept by the server or an earlier command, is read rather
    # than fitted again (9 s of every `ask` that screens text on its own).
    semantic.keep_fits_in(settings.data_dir)
    try:
        return KnowledgeBase(settings, embedder)
    except StoreLocked as exc:
        if read_only and settings.chroma_path.exists():
            return KnowledgeBase(settings, embedder, lock=False)
        # A server that is still loading has not recorded its address yet.
        raise StoreLocked(
            f"{exc} Commands go through a running `copilot serve` by themselves once it "
            "listens: if one is starting, run this again in a moment (or set COPILOT_URL)."
        ) from None


@contextmanager
def incident_store(settings: Settings) -> Iterator[Any]:
    """The incident store of the settings, closed on exit."""
    from copilot.incidents.db import IncidentStore

    store = IncidentStore.open(settings)
    try:
        yield store
    finally:
        store.close()
