"""The audit log: every copilot output, who asked for it, the redacted question, its sources.

Asks are recorded by the ask route; status-update drafts and postmortems call the same
`Auditor.record` (take `AuditorDep` from `copilot.api.deps`):

    auditor.record(action="status_update", question=f"{audience} update", sources=[...],
                   incident_id=incident_id)

A record about an incident also goes on its timeline, as a `note` event whose `data["audit"]`
marks it as the copilot's (so ask does not mistake it for work the responders did).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from copilot import metrics
from copilot.db import DatabaseSource
from copilot.guardrails.redact import redact
from copilot.security.db import SecurityDB, audit_log

log = logging.getLogger("copilot.audit")

ACTIONS = ("ask", "status_update", "postmortem")
AUDIT_AUTHOR = "copilot"
MAX_QUESTION = 4000
MAX_SOURCES = 50
_ACTION_TEXT = {
    "ask": "answered",
    "status_update": "drafted a status update",
    "postmortem": "drafted the postmortem",
}


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: str
    who: str
    action: str
    incident_id: str | None
    question: str
    sources: list[str]
    request_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_audit_event(event: Any) -> bool:
    """Whether a timeline event is one of the copilot's audit records."""
    data = getattr(event, "data", None)
    return isinstance(data, dict) and "audit" in data


def source_refs(citations: Iterable[Any]) -> list[str]:
    """`source:start-end` of each cited passage (objects with `source` and `lines`), deduped."""
    refs: list[str] = []
    for c in citations:
        lines = getattr(c, "lines", None)
        ref = f"{c.source}:{lines[0]}-{lines[1]}" if lines else str(c.source)
        if ref not in refs:
            refs.append(ref)
    return refs[:MAX_SOURCES]


class AuditLog:
    """The audit table in the copilot database (the settings', a URL's, or `security_path`'s)."""

    def __init__(self, source: DatabaseSource) -> None:
        self.db = SecurityDB(source)

    def use(self, source: DatabaseSource) -> None:
        """Point this store at another database (the app does, once, before serving)."""
        old, self.db = self.db, SecurityDB(source)
        old.close()

    def close(self) -> None:
        self.db.close()

    def append(
        self,
        *,
        who: str,
        action: str,
        question: str,
        sources: Sequence[str],
        incident_id: str | None = None,
        request_id: str | None = None,
        at: datetime | None = None,
    ) -> AuditRecord:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
        # Redacted here whatever the caller did: the audit log must not become a secret store.
        text = redact(question).text[:MAX_QUESTION]
        refs = [redact(s).text for s in sources][:MAX_SOURCES]
        with self.db.get().begin() as conn:
            result = conn.execute(
                audit_log.insert().values(
                    at=when,
                    who=who,
                    action=action,
                    incident_id=incident_id,
                    question=text,
                    sources=json.dumps(refs),
                    request_id=request_id,
                )
            )
            key = result.inserted_primary_key
            row_id = int(key[0]) if key else 0
        return AuditRecord(row_id, when, who, action, incident_id, text, refs, request_id)

    def list(self, *, incident_id: str | None = None, limit: int = 100) -> list[AuditRecord]:
        """The latest records, newest first."""
        if not self.db.exists():
            return []
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if incident_id is not None:
            query = query.where(audit_log.c.incident_id == incident_id)
        with self.db.get().reading() as conn:
            rows = conn.execute(query).all()
        return [
            AuditRecord(
                r.id,
                r.at,
                r.who,
                r.action,
                r.incident_id,
                r.question,
                json.loads(r.sources),
                r.request_id,
            )
            for r in rows
        ]


def _timeline_text(record: AuditRecord) -> str:
    sources = ", ".join(record.sources[:8]) or "none"
    more = f" (+{len(record.sources) - 8} more)" if len(record.sources) > 8 else ""
    text = (
        f"Copilot {_ACTION_TEXT[record.action]} for {record.who}: {record.question} "
        f"— sources: {sources}{more}"
    )
    return text[:4000]


def record_output(
    *,
    audit: AuditLog,
    incidents: Any,
    who: str,
    action: str,
    question: str,
    sources: Sequence[str],
    incident_id: str | None = None,
    request_id: str | None = None,
) -> AuditRecord | None:
    """Record one copilot output, and put it on the incident's timeline when there is one.

    An audit failure is logged and counted, not raised: the responder still gets the answer.
    """
    canonical = None
    if incident_id is not None:
        from copilot.incidents import service as incident_service

        try:
            canonical = incident_service.canonical_id(incident_id)
        except Exception:
            canonical = incident_id[:40]
    try:
        record = audit.append(
            who=who,
            action=action,
            question=question,
            sources=sources,
            incident_id=canonical,
            request_id=request_id,
        )
    except Exception as exc:
        metrics.AUDIT_RECORDS.labels("failed").inc()
        log.error("audit record not written: %s", type(exc).__name__)
        return None
    metrics.AUDIT_RECORDS.labels("written").inc()
    log.info(
        "copilot output recorded",
        extra={
            "fields": {
                "audit_id": record.id,
                "action": action,
                "who": who,
                "incident_id": canonical,
                "question": record.question,
                "sources": len(record.sources),
            }
        },
    )
    if canonical is not None and incidents is not None:
        from copilot.incidents import schemas as incident_schemas
        from copilot.incidents import service as incident_service

        try:
            incident_service.add_event(
                store=incidents,
                incident_id=canonical,
                event=incident_schemas.EventCreate(
                    kind="note", text=_timeline_text(record), author=AUDIT_AUTHOR
                ),
                data={
                    "audit": {
                        "id": record.id,
                        "action": action,
                        "who": who,
                        "sources": record.sources,
                    }
                },
            )
        except Exception as exc:
            metrics.AUDIT_RECORDS.labels("timeline_failed").inc()
            log.warning("audit record %s not added to the timeline: %s", record.id, exc)
    return record


@dataclass
class Auditor:
    """`record_output` bound to one request's caller, audit log and incident store."""

    audit: AuditLog
    incidents: Any
    who: str
    request_id: str | None = None

    def record(
        self,
        *,
        action: str,
        question: str,
        sources: Sequence[str],
        incident_id: str | None = None,
    ) -> AuditRecord | None:
        return record_output(
            audit=self.audit,
            incidents=self.incidents,
            who=self.who,
            action=action,
            question=question,
            sources=sources,
            incident_id=incident_id,
            request_id=self.request_id,
        )


def record_cli_ask(settings: Any, *, question: str, response: Any, incident: Any) -> None:
    """Record an ask made from the command line, as `cli:<os user>`."""
    import getpass

    from copilot.incidents.db import IncidentStore

    incident_id = incident.id if incident is not None else None
    audit = AuditLog(settings)
    store = IncidentStore.open(settings) if incident_id else None
    try:
        record_output(
            audit=audit,
            incidents=store,
            who=f"cli:{getpass.getuser()}",
            action="ask",
            question=question,
            sources=source_refs([*response.citations, *response.similar_incidents]),
            incident_id=incident_id,
        )
    finally:
        audit.close()
        if store is not None:
            store.close()
