"""Maintenance windows of the status page: schedule, edit and move them on.

A window is scheduled -> in_progress -> verifying -> completed, never back. Its text is public:
it passes the same leak and secret checks as a public status update.

Automatic moves (Statuspage's `scheduled_auto_in_progress` and `scheduled_auto_completed`, both on
by default): a scheduled window is in progress from its scheduled start, an in-progress one
completed from its scheduled end. A window someone moved on already is left alone (one they put
in verifying is theirs to complete). The moves are a function of the window and the clock
(`due_moves`), so every read applies them at once (the page, its JSON, the API) and a small
idempotent `tick` records them as the window's updates, at the times they were due, not when the
tick ran: history and uptime read the same before and after. The time a move is due is never
before the window's last change, so moving a start into the past starts it now, not back then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from copilot.errors import Conflict, GuardrailViolation, InvalidInput, NotFound
from copilot.guardrails.screened import screened
from copilot.incidents.db import IncidentStore
from copilot.status.checks import Policy
from copilot.status.config import Catalog
from copilot.statuspage import schemas as s
from copilot.statuspage.config import PageConfig
from copilot.statuspage.models import Maintenance, MaintenanceUpdate

MAINTENANCE_ORDER = ("scheduled", "in_progress", "verifying", "completed")
ACTIVE_MAINTENANCE = frozenset({"in_progress", "verifying"})
# Windows a tick looks at per call; more are left for the next tick.
TICK_LIMIT = 200


@dataclass(frozen=True)
class Change:
    """A committed change of a window, for whoever publishes it further (webhooks)."""

    maintenance_id: int
    event: str  # "created" or "updated"
    from_status: str | None
    to_status: str
    automatic: bool
    at: datetime


ChangeListener = Callable[[Sequence[Change]], None]


def due_moves(row: Maintenance, now: datetime) -> list[tuple[str, datetime]]:
    """The automatic moves `row` is due by `now`: (status, when), oldest first."""
    moves: list[tuple[str, datetime]] = []
    status, since = row.status, row.updated_at
    if status == "scheduled" and row.scheduled_auto_in_progress and row.scheduled_for <= now:
        since = max(row.scheduled_for, since)
        status = "in_progress"
        moves.append((status, since))
    if status == "in_progress" and row.scheduled_auto_completed and row.scheduled_until <= now:
        moves.append(("completed", max(row.scheduled_until, since)))
    return moves


def apply_moves(row: Maintenance, moves: Sequence[tuple[str, datetime]]) -> None:
    """Set `row` as the moves leave it (a detached row for a read; an attached one to record)."""
    for status, at in moves:
        if status in ACTIVE_MAINTENANCE and row.started_at is None:
            row.started_at = at
        if status == "completed":
            row.completed_at = at
            if row.started_at is None:
                row.started_at = at
        row.status = status
        row.updated_at = at


def _record_moves(session: Session, row: Maintenance, now: datetime) -> list[Change]:
    """Record the automatic moves `row` is due (locked by the caller) as its updates."""
    changes = []
    for status, at in due_moves(row, now):
        before = row.status
        apply_moves(row, [(status, at)])
        session.add(
            MaintenanceUpdate(
                maintenance_id=row.id, status=status, body=_DEFAULT_BODY[status], created_at=at
            )
        )
        changes.append(Change(row.id, "updated", before, status, True, at))
    return changes


def tick(
    *,
    store: IncidentStore,
    now: datetime | None = None,
    on_change: ChangeListener | None = None,
    limit: int = TICK_LIMIT,
) -> list[Change]:
    """Record the automatic moves due by `now` (of up to `limit` windows, the earliest first);
    safe to run anywhere, at any time, repeatedly.

    Each window is moved in its own transaction under a row lock, and a move is recorded only if
    it is still due once the lock is held, so replicas ticking together record it once.
    """
    now = now or store.now()
    candidates = (
        select(Maintenance.id)
        .where(
            or_(
                (Maintenance.status == "scheduled")
                & Maintenance.scheduled_auto_in_progress
                & (Maintenance.scheduled_for <= now),
                # (a scheduled window due to end is due to start, above, unless it starts by
                # hand: then it stays scheduled, and must not fill every tick)
                (Maintenance.status == "in_progress")
                & Maintenance.scheduled_auto_completed
                & (Maintenance.scheduled_until <= now),
            )
        )
        .order_by(Maintenance.scheduled_for, Maintenance.id)
        .limit(limit)
    )
    with store.read() as session:
        ids = list(session.scalars(candidates))
    changes: list[Change] = []
    for key in ids:
        with store.write() as session:
            row = session.get(Maintenance, key, with_for_update=True)
            if row is not None:
                changes += _record_moves(session, row, now)
    if changes and on_change is not None:
        on_change(changes)
    return changes


def _check_public_text(catalog: Catalog, *texts: str) -> None:
    """Maintenance text is public: the same leak and secret checks as a public update."""
    policy = Policy(audience="public", catalog=catalog)
    problems = []
    for text in texts:
        _, findings = policy.screen(text)
        problems += [f for f in findings if f.action != "replaced"]
    if problems:
        shown = "; ".join(f"{f.text!r} ({f.kind})" for f in problems[:6])
        raise GuardrailViolation(
            f"maintenance text reaches the public status page and cannot name: {shown}"
        )


def _maintenance_view(row: Maintenance, updates: list[MaintenanceUpdate]) -> s.MaintenanceOut:
    """The window as it stands (a read applies its due moves first: see `_as_of`)."""
    return s.MaintenanceOut(
        id=row.id,
        name=screened(row.name),
        status=row.status,
        components=list(row.components),
        scheduled_for=row.scheduled_for,
        scheduled_until=row.scheduled_until,
        started_at=row.started_at,
        completed_at=row.completed_at,
        scheduled_auto_in_progress=row.scheduled_auto_in_progress,
        scheduled_auto_completed=row.scheduled_auto_completed,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updates=[
            s.MaintenanceUpdateOut(
                id=u.id,
                status=u.status,
                body=screened(u.body),
                created_at=u.created_at,
            )
            for u in sorted(updates, key=lambda u: (u.created_at, u.id), reverse=True)
        ],
    )


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{name}: give a time zone (e.g. 2026-12-03T02:00:00Z)")
    return value.astimezone(UTC)


def create_maintenance(
    *,
    store: IncidentStore,
    config: PageConfig,
    catalog: Catalog,
    request: s.MaintenanceCreate,
    on_change: ChangeListener | None = None,
) -> s.MaintenanceOut:
    start = _aware(request.scheduled_for, "scheduled_for")
    end = _aware(request.scheduled_until, "scheduled_until")
    if end <= start:
        raise InvalidInput("scheduled_until must be after scheduled_for")
    ids = config.resolve(list(request.components))
    _check_public_text(catalog, request.name, request.body)
    now = store.now()
    with store.write() as session:
        row = Maintenance(
            name=" ".join(request.name.split()),
            status="scheduled",
            components=list(dict.fromkeys(ids)),
            scheduled_for=start,
            scheduled_until=end,
            started_at=None,
            completed_at=None,
            scheduled_auto_in_progress=request.scheduled_auto_in_progress,
            scheduled_auto_completed=request.scheduled_auto_completed,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        update = MaintenanceUpdate(
            maintenance_id=row.id, status="scheduled", body=request.body.strip(), created_at=now
        )
        session.add(update)
        session.flush()
        changes = [Change(row.id, "created", None, "scheduled", False, now)]
        # Scheduled to start already (or to have ended): it starts (or is over) now.
        changes += _record_moves(session, row, now)
        session.flush()
        updates = list(
            session.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id == row.id)
            )
        )
        made = _maintenance_view(row, updates)
    if on_change is not None:
        on_change(changes)
    return made


def _parse_id(value: str | int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise NotFound(f"no maintenance window {str(value)[:40]!r}") from None
    if not 1 <= number <= 2**31 - 1:
        raise NotFound(f"no maintenance window {number}")
    return number


def _as_of(session: Session, rows: list[Maintenance], now: datetime) -> None:
    """Detach `rows` from a read session and apply the moves they are due by `now` (unrecorded
    yet, maybe, but due: a read shows them)."""
    for row in rows:
        session.expunge(row)
        apply_moves(row, due_moves(row, now))


def get_maintenance(*, store: IncidentStore, maintenance_id: str | int) -> s.MaintenanceOut:
    key = _parse_id(maintenance_id)
    now = store.now()
    with store.read() as session:
        row = session.get(Maintenance, key)
        if row is None:
            raise NotFound(f"no maintenance window {key}")
        updates = list(
            session.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id == key)
            )
        )
        _as_of(session, [row], now)
        return _maintenance_view(row, updates)


def list_maintenances(
    *, store: IncidentStore, limit: int = 50, offset: int = 0
) -> s.MaintenanceList:
    now = store.now()
    with store.read() as session:
        rows = list(
            session.scalars(
                select(Maintenance)
                .order_by(Maintenance.scheduled_for.desc(), Maintenance.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        ids = [r.id for r in rows]
        by: dict[int, list[MaintenanceUpdate]] = {i: [] for i in ids}
        if ids:
            for u in session.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id.in_(ids))
            ):
                by[u.maintenance_id].append(u)
        _as_of(session, rows, now)
        return s.MaintenanceList(maintenances=[_maintenance_view(r, by[r.id]) for r in rows])


def update_maintenance(
    *,
    store: IncidentStore,
    config: PageConfig,
    catalog: Catalog,
    maintenance_id: str | int,
    request: s.MaintenanceUpdateRequest,
    on_change: ChangeListener | None = None,
) -> s.MaintenanceOut:
    """Edit a window or move it on (scheduled -> in_progress -> verifying -> completed).

    The automatic moves it is due are recorded first, so the edit applies to the window as the
    page shows it.
    """
    key = _parse_id(maintenance_id)
    ids = config.resolve(list(request.components)) if request.components is not None else None
    texts = [t for t in (request.name, request.body) if t]
    if texts:
        _check_public_text(catalog, *texts)
    now = store.now()
    with store.write() as session:
        row = session.get(Maintenance, key, with_for_update=True)
        if row is None:
            raise NotFound(f"no maintenance window {key}")
        changes = _record_moves(session, row, now)
        if row.status == "completed":
            raise Conflict(f"maintenance window {key} is completed; schedule a new one")
        start = _aware(request.scheduled_for, "scheduled_for") if request.scheduled_for else None
        end = (
            _aware(request.scheduled_until, "scheduled_until") if request.scheduled_until else None
        )
        new_start = start or row.scheduled_for
        new_end = end or row.scheduled_until
        if new_end <= new_start:
            raise InvalidInput("scheduled_until must be after scheduled_for")
        before = row.status
        status = request.status or row.status
        if MAINTENANCE_ORDER.index(status) < MAINTENANCE_ORDER.index(row.status):
            raise Conflict(
                f"maintenance window {key} is {row.status}; it moves on only "
                f"({' -> '.join(MAINTENANCE_ORDER)})"
            )
        if status != row.status:
            apply_moves(row, [(status, now)])
        row.scheduled_for, row.scheduled_until = new_start, new_end
        if request.name:
            row.name = " ".join(request.name.split())
        if ids is not None:
            row.components = list(dict.fromkeys(ids))
        if request.scheduled_auto_in_progress is not None:
            row.scheduled_auto_in_progress = request.scheduled_auto_in_progress
        if request.scheduled_auto_completed is not None:
            row.scheduled_auto_completed = request.scheduled_auto_completed
        row.updated_at = now
        # A status it already has (an automatic move got there first) adds no message.
        if request.body or status != before:
            session.add(
                MaintenanceUpdate(
                    maintenance_id=key,
                    status=status,
                    body=(request.body or "").strip() or _DEFAULT_BODY[status],
                    created_at=now,
                )
            )
        changes.append(Change(key, "updated", before, status, False, now))
        # An edit may make a move due at once (a start moved into the past: it starts now).
        changes += _record_moves(session, row, now)
        session.flush()
        updates = list(
            session.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id == key)
            )
        )
        view = _maintenance_view(row, updates)
    if on_change is not None:
        on_change(changes)
    return view


_DEFAULT_BODY = {
    "scheduled": "The maintenance has been rescheduled.",
    "in_progress": "Scheduled maintenance is currently in progress.",
    "verifying": "Maintenance is complete; we are verifying that everything works as expected.",
    "completed": "The scheduled maintenance has been completed.",
}
