"""Bring history in: postmortem documents become incident records (`copilot import postmortems`).

From each document: the title, the summary and the impact; severity and services from YAML front
matter (`severity:`, `services:`) or a `Severity:` / `Services:` line; the timeline
(copilot.postmortem.parse: tables or lists with dates and times, converted to UTC from the zone the
document states, UTC when it states none); impact start, detection, declaration, mitigation and
resolution picked from the timeline rows (`moments.py`: rows that say where the impact starts and
ends first, then keyword rules); the resolution or root-cause section as
a note; each action item as a follow-up (owner, team and status from the action-item table when
it has those columns).

Each file is imported in one transaction: a file that cannot be read is reported and skipped,
never half imported. What could not be read is listed per file (`problems`): rows without a usable
date, a severity or services not stated, no time zone stated, no recovery row. A file is known by
its path under DIR and its content's SHA-256: importing again adds nothing. Imported incidents
carry the tag `imported`, write no webhooks (the importer's store has no listeners) and are
closed; one whose recovery no row states is resolved at its last row and tagged
`resolved-time-assumed`, and insights leave it out of time to mitigate and to resolve.

The postmortem eval (evals/postmortem.py) builds its incidents with `build` here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from copilot.errors import CopilotError
from copilot.followups import schemas as fs
from copilot.followups import service as follow_ups
from copilot.incidents import schemas as isch
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.insights.models import ImportedPostmortem
from copilot.insights.moments import declares, kind_of, moments
from copilot.listitems import LIST_MARKER
from copilot.postmortem.parse import (
    ParsedEvent,
    ParsedTimeline,
    parse_timeline,
    placed,
    section_text,
    title_of,
)

SKIP = re.compile(r"readme|licen[cs]e|template|contributing", re.I)
MARKDOWN_SUFFIXES = (".md", ".markdown")
IMPORTED_TAG = "imported"
ASSUMED_TAG = "resolved-time-assumed"
DEFAULT_SEVERITY = "SEV3"
MAX_FILE_BYTES = 2_000_000

_STAT = re.compile(r"time to (detection|recovery)\s*:\s*(.+)", re.I)
_CATEGORY = re.compile(r"category\s*:\s*(.+)", re.I)
_SEVERITY_LINE = re.compile(r"^\W*severity\W*[:|]\s*\**\s*([A-Za-z0-9_-]{1,20})", re.I | re.M)
_SERVICES_LINE = re.compile(
    r"^\W*(?:affected services|services? affected|services?)\W*[:|]\s*(.+)$", re.I | re.M
)
_LIST_ITEM = re.compile(r"^" + LIST_MARKER + r"(.*)$")
_BOLD_LEAD = re.compile(r"^\*\*(.+?)\*\*\s*[:.-]?\s*(.*)$")


@dataclass
class Doc:
    name: str
    path: Path
    text: str
    title: str
    summary: str
    timeline: ParsedTimeline
    ttd_min: float | None
    ttr_min: float | None
    category: str | None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Built:
    doc: Doc
    incident_id: str
    started: datetime
    detected: datetime | None
    resolved: datetime | None
    # The end of the impact, when a row says so apart from the resolution; else `resolved`.
    mitigated: datetime | None = None
    imported: list[tuple[int, ParsedEvent, datetime, str]] = field(default_factory=list)
    refused: list[tuple[ParsedEvent, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ActionItem:
    title: str
    owner: str | None = None
    team: str | None = None
    status: str = "open"


def minutes(text: str) -> float | None:
    """'8 minutes', '4 hours 42 minutes', '22 hours', '11 Days'; None for '?' or 'N/A'."""
    total, found = 0.0, False
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(day|hour|min)", text, re.I):
        found = True
        total += float(amount) * {"day": 1440, "hour": 60, "min": 1}[unit.lower()]
    return total if found else None


def front_matter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(metadata, body, problem): YAML front matter between `---` lines, if any."""
    if not text.startswith("---\n"):
        return {}, text, None
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text, "front matter is not closed by a --- line: read as text"
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text[end + 4 :].lstrip("\n"), "front matter is not valid YAML: ignored"
    body = text[end + 4 :].lstrip("-\n")
    if meta is None:
        return {}, body, None
    if not isinstance(meta, dict):
        return {}, body, "front matter is not a mapping: ignored"
    return meta, body, None


def read_text(name: str, path: Path, text: str) -> Doc:
    text = text.replace("\r\n", "\n")
    meta, body, _ = front_matter(text)
    stats = {m.group(1).lower(): minutes(m.group(2)) for m in _STAT.finditer(body)}
    category = _CATEGORY.search(body)
    title = title_of(body) or str(meta.get("title") or "") or path.stem
    return Doc(
        name=name,
        path=path,
        text=body,
        title=title.strip()[:200] or path.stem,
        summary=(section_text(body, r"^summary") or "")[:4000],
        timeline=parse_timeline(body),
        ttd_min=stats.get("detection"),
        ttr_min=stats.get("recovery"),
        category=category.group(1).strip() if category else None,
        meta=meta,
    )


def read_doc(path: Path, root: Path) -> Doc:
    name = path.relative_to(root).as_posix() if path != root else path.name
    return read_text(name, path, path.read_text(encoding="utf-8"))


def discover(root: Path) -> list[Path]:
    """Markdown files under root (or root itself), skipping hidden folders and READMEs."""
    if root.is_file():
        return [root]
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or SKIP.search(path.name):
            continue
        if path.is_file() and path.suffix.lower() in MARKDOWN_SUFFIXES:
            found.append(path)
    return sorted(found)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:100]


def _severity(doc: Doc) -> str | None:
    stated = doc.meta.get("severity")
    if isinstance(stated, str | int) and str(stated).strip():
        return str(stated).strip()
    match = _SEVERITY_LINE.search(doc.text)
    return match.group(1) if match else None


def _services(doc: Doc) -> list[str]:
    stated = doc.meta.get("services")
    if isinstance(stated, list):
        names = [str(x) for x in stated]
    elif isinstance(stated, str):
        names = stated.split(",")
    else:
        match = _SERVICES_LINE.search(doc.text)
        names = re.split(r"[,;]", match.group(1)) if match else []
    out = [slug(n.strip(" `*")) for n in names]
    return list(dict.fromkeys(n for n in out if n))[:20]


def action_items(text: str) -> list[ActionItem]:
    """A postmortem's action items: table rows (Action, Owner, Status columns) or list items."""
    body = section_text(text, r"^action items?\b|^follow[- ]?ups?\b|^corrective actions?") or ""
    items: list[ActionItem] = []
    header: list[str] | None = None
    for raw in body.split("\n"):
        line = raw.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if header is None:
                header = [c.lower() for c in cells]
                continue
            row = dict(zip(header, cells, strict=False))
            title = next((row[h] for h in header if re.search(r"action|item|task|what", h)), "")
            title = title or cells[0]
            owner = next((row[h] for h in header if h == "owner"), None)
            team = next((row[h] for h in header if re.search(r"team", h)), None)
            if team is None and owner and owner.lower().startswith("team-"):
                team, owner = owner, None
            status = next((row[h] for h in header if h in ("status", "state")), "")
            items.append(_item(title, owner, team, status))
            continue
        header = None
        match = _LIST_ITEM.match(line) if raw[:1] not in (" ", "\t") else None
        if match:
            lead = _BOLD_LEAD.match(match.group(1).strip())
            title = lead.group(1) if lead else match.group(1)
            items.append(_item(title, None, None, ""))
    return [i for i in items if i.title]


def _item(title: str, owner: str | None, team: str | None, status: str) -> ActionItem:
    clean = " ".join(title.replace("**", "").split()).strip(" .:")[:300]
    state = status.strip().lower().replace(" ", "_").replace("-", "_")
    mapped = {"done": "done", "completed": "done", "closed": "done", "in_progress": "in_progress"}
    if state in ("won't_do", "wont_do", "wontfix", "won't_fix", "dropped", "cancelled"):
        mapped_state = "wont_do"
    else:
        mapped_state = mapped.get(state, "open")
    return ActionItem(
        title=clean,
        owner=(owner or "").strip()[:200] or None,
        team=slug(team)[:100] or None if team else None,
        status=mapped_state,
    )


def build(store: IncidentStore, doc: Doc, *, history: bool = False) -> Built | str:
    """The incident a postmortem's timeline describes; a string says why there is none.

    With `history` (the product's import) severity and services come from the document, the
    incident is tagged `imported`, and it ends closed; without (the eval) it is declared SEV3 and
    left resolved or open as its timeline says.
    """
    events = doc.timeline.events
    if not events:
        return "no timeline rows (a section headed Timeline with dated rows)"
    times = placed(events)
    if all(t is None for t in times):
        return "no timeline row has a usable date"
    m = moments(events, times)
    started = times[m.start]
    detected = times[m.detect] if m.detect is not None else None
    mitigated = times[m.mitigate] if m.mitigate is not None else None
    resolved = times[m.resolve] if m.resolve is not None else None
    assert started is not None
    tags = [slug(doc.category)] if doc.category else []
    severity, declared = DEFAULT_SEVERITY, detected or started
    services: list[str] = []
    if history:
        severity = store.taxonomy.resolve(_severity(doc) or DEFAULT_SEVERITY).id
        services = _services(doc) or ([slug(doc.category)] if doc.category else [])
        stated_tags = doc.meta.get("tags")
        if isinstance(stated_tags, list):
            tags += [slug(str(t)) for t in stated_tags]
        tags.append(IMPORTED_TAG)
        if resolved is None:
            tags.append(ASSUMED_TAG)
        declared_row = next(
            (
                t
                for e, t in zip(events, times, strict=True)
                if t is not None and t >= declared and declares(e.text)
            ),
            None,
        )
        declared = declared_row or declared
    impact = (section_text(doc.text, r"^impact\b") or "")[:4000] if history else ""
    incident = incidents.declare(
        store=store,
        request=isch.IncidentCreate(
            title=doc.title,
            summary=doc.summary,
            severity=severity,
            services=services,
            tags=list(dict.fromkeys(t for t in tags if t))[:20],
            customer_impact=impact,
            started_at=started,
            detected_at=detected,
            declared_at=declared,
        ),
    )
    built = Built(doc, incident.id, started, detected, resolved, mitigated)
    roles = {m.detect: "detect", m.mitigate: "recover"}
    for i, (event, at) in enumerate(zip(events, times, strict=True)):
        if at is None:
            built.refused.append((event, "no usable date"))
            continue
        text = event.text or "(no description)"
        if event.precision != "minute":
            text = f"[time as written: {event.raw_time or 'none'}] {text}"
        try:
            created = incidents.add_event(
                store=store,
                incident_id=incident.id,
                event=isch.EventCreate(kind=kind_of(event, roles.get(i)), text=text[:4000], at=at),
            )
        except CopilotError as exc:
            built.refused.append((event, str(exc).split(":")[0] + ": " + _why(str(exc))))
            continue
        built.imported.append((created.id, event, at, text))
    if resolved is not None and detected is not None and resolved >= detected:
        if mitigated is not None and detected <= mitigated < resolved:
            incidents.update_incident(
                store=store,
                incident_id=incident.id,
                patch=isch.IncidentPatch(status="monitoring", at=mitigated),
            )
        incidents.update_incident(
            store=store,
            incident_id=incident.id,
            patch=isch.IncidentPatch(status="resolved", at=resolved),
        )
    elif history:
        last = max(t for t in times if t is not None)
        incidents.update_incident(
            store=store,
            incident_id=incident.id,
            patch=isch.IncidentPatch(status="resolved", at=max(last, declared)),
        )
    if history:
        _close(store, doc, incident.id)
    return built


_RUNBOOK_LINK = re.compile(r"\]\(([^)\s]*runbooks/[^)\s/]+\.md)(?:#[^)\s]*)?\)")


def _close(store: IncidentStore, doc: Doc, incident_id: str) -> None:
    current = incidents.get_incident(store=store, incident_id=incident_id)
    end = current.resolved_at or current.declared_at
    resolution = section_text(doc.text, r"^(?:resolution|root cause|what fixed it)")
    if resolution:
        incidents.add_event(
            store=store,
            incident_id=incident_id,
            event=isch.EventCreate(
                kind="note", text=f"Resolution (from the postmortem): {resolution}"[:4000], at=end
            ),
        )
    # The runbooks it links to, named on the timeline: insights counts them as cited there.
    linked = list(dict.fromkeys(m.rsplit("/", 1)[-1] for m in _RUNBOOK_LINK.findall(doc.text)))
    if linked:
        incidents.add_event(
            store=store,
            incident_id=incident_id,
            event=isch.EventCreate(
                kind="note",
                text=f"Runbooks the postmortem links to: {', '.join(linked)}"[:4000],
                at=end,
            ),
        )
    incidents.update_incident(
        store=store, incident_id=incident_id, patch=isch.IncidentPatch(status="closed", at=end)
    )


def _why(message: str) -> str:
    return "more than a day before impact start" if "more than a day before" in message else message


# -- the import -------------------------------------------------------------------------------


@dataclass
class FileResult:
    source: str
    outcome: str  # imported, unchanged, failed
    incident_id: str | None = None
    events: int = 0
    follow_ups: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "outcome": self.outcome,
            "incident_id": self.incident_id,
            "events": self.events,
            "follow_ups": self.follow_ups,
            "problems": self.problems,
        }


@dataclass
class ImportReport:
    files: list[FileResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.count("imported"),
            "unchanged": self.count("unchanged"),
            "failed": self.count("failed"),
            "files": [f.as_dict() for f in self.files],
        }

    def line(self) -> str:
        return (
            f"import: {self.count('imported')} imported, {self.count('unchanged')} already "
            f"imported, {self.count('failed')} failed"
        )


class _OneTransaction(IncidentStore):
    """The incident store seen through one open session: each service call runs in a savepoint
    of it, so a file's incident, events and follow-ups commit together or not at all. No
    listeners: imported history sends no webhooks."""

    def __init__(self, base: IncidentStore, session: Session) -> None:
        super().__init__(base.db, taxonomy=base.taxonomy, clock=base.clock, upgrade=False)
        self._session = session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._session.begin_nested():
            yield self._session

    @contextmanager
    def read(self) -> Iterator[Session]:
        yield self._session


def _problems(doc: Doc, built: Built, *, severity_stated: bool, services_stated: bool) -> list[str]:
    problems = []
    if not doc.timeline.zone_stated:
        problems.append("no time zone stated: times read as UTC")
    if not severity_stated:
        problems.append(f"no severity stated: {DEFAULT_SEVERITY} assumed")
    if not services_stated:
        problems.append(
            f"no services stated: category {doc.category!r} used"
            if doc.category
            else "no services stated"
        )
    if built.detected is None:
        problems.append("no row reads as detection: time to detect unknown")
    if built.resolved is None:
        problems.append(
            "no row reads as recovery: resolved at the last row (tag resolved-time-assumed)"
        )
    for event, why in built.refused:
        problems.append(f"timeline row {event.raw_time or '(no time)'!r} skipped: {why}")
    return problems


def import_file(store: IncidentStore, path: Path, name: str) -> FileResult:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(name, "failed", problems=[f"cannot read the file: {exc.strerror}"])
    if len(raw) > MAX_FILE_BYTES:
        return FileResult(name, "failed", problems=["larger than 2 MB: not a postmortem"])
    digest = hashlib.sha256(raw).hexdigest()
    with store.read() as session:
        known = session.scalars(
            select(ImportedPostmortem).where(
                or_(ImportedPostmortem.source == name, ImportedPostmortem.content_sha256 == digest)
            )
        ).first()
    if known is not None:
        same = known.content_sha256 == digest
        note = [] if same else ["changed since it was imported: the first import is kept"]
        if same and known.source != name:
            note = [f"same content as {known.source}, already imported"]
        return FileResult(name, "unchanged", f"INC-{known.incident_number}", problems=note)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FileResult(name, "failed", problems=["not UTF-8 text"])
    doc = read_text(name, path, text)
    _, _, meta_problem = front_matter(text.replace("\r\n", "\n"))
    now = store.now()
    try:
        with store.db.session() as session:
            scoped = _OneTransaction(store, session)
            built = build(scoped, doc, history=True)
            if isinstance(built, str):
                return FileResult(name, "failed", problems=[built])
            number = incidents.parse_id(built.incident_id)
            items = action_items(doc.text)
            # A follow-up dates from its postmortem: the incident's end, not the import.
            ended = incidents.get_incident(store=scoped, incident_id=built.incident_id)
            since = ended.resolved_at or ended.declared_at
            for item in items:
                follow_ups.add(
                    session,
                    request=fs.FollowUpCreate(
                        title=item.title,
                        incident_id=built.incident_id,
                        owner=item.owner,
                        team=item.team,
                        status=item.status,
                    ),
                    now=since,
                    origin="import",
                )
            problems = ([meta_problem] if meta_problem else []) + _problems(
                doc,
                built,
                severity_stated=_severity(doc) is not None,
                services_stated=bool(_services(doc)),
            )
            session.add(
                ImportedPostmortem(
                    source=name,
                    content_sha256=digest,
                    incident_number=number,
                    imported_at=now,
                    problems=problems,
                )
            )
            session.flush()
    except (CopilotError, ValueError) as exc:
        return FileResult(name, "failed", problems=[f"not imported: {str(exc)[:300]}"])
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0][:200]
        return FileResult(name, "failed", problems=[f"not imported: {reason}"])
    return FileResult(
        name,
        "imported",
        built.incident_id,
        events=len(built.imported),
        follow_ups=len(items),
        problems=problems,
    )


def import_postmortems(store: IncidentStore, root: Path) -> ImportReport:
    """Import every postmortem under `root`; see the module's docstring."""
    report = ImportReport()
    base = root if root.is_dir() else root.parent
    for path in discover(root):
        report.files.append(import_file(store, path, path.relative_to(base).as_posix()))
    return report
