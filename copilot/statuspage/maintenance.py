"""Maintenance windows of the status page: schedule, edit and move them on.

A window is scheduled -> in_progress -> verifying -> completed, never back. Its text is public:
it passes the same leak and secret checks as a public status update.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

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
    return s.MaintenanceOut(
        id=row.id,
        name=screened(row.name),
        status=row.status,
        components=list(row.components),
        scheduled_for=row.scheduled_for,
        scheduled_until=row.scheduled_until,
        started_at=row.started_at,
        completed_at=row.completed_at,
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
        return _maintenance_view(row, [update])


def _parse_id(value: str | int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise NotFound(f"no maintenance window {str(value)[:40]!r}") from None
    if not 1 <= number <= 2**31 - 1:
        raise NotFound(f"no maintenance window {number}")
    return number


def get_maintenance(*, store: IncidentStore, maintenance_id: str | int) -> s.MaintenanceOut:
    key = _parse_id(maintenance_id)
    with store.read() as session:
        row = session.get(Maintenance, key)
        if row is None:
            raise NotFound(f"no maintenance window {key}")
        updates = list(
            session.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id == key)
            )
        )
        return _maintenance_view(row, updates)


def list_maintenances(
    *, store: IncidentStore, limit: int = 50, offset: int = 0
) -> s.MaintenanceList:
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
        return s.MaintenanceList(maintenances=[_maintenance_view(r, by[r.id]) for r in rows])


def update_maintenance(
    *,
    store: IncidentStore,
    config: PageConfig,
    catalog: Catalog,
    maintenance_id: str | int,
    request: s.MaintenanceUpdateRequest,
) -> s.MaintenanceOut:
    """Edit a window or move it on (scheduled -> in_progress -> verifying -> completed)."""
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
        status = request.status or row.status
        if MAINTENANCE_ORDER.index(status) < MAINTENANCE_ORDER.index(row.status):
            raise Conflict(
                f"maintenance window {key} is {row.status}; it moves on only "
                f"({' -> '.join(MAINTENANCE_ORDER)})"
            )
        if status != row.status:
            if status in ACTIVE_MAINTENANCE and row.started_at is None:
                row.started_at = now
            if status == "completed":
                row.completed_at = now
                if row.started_at is None:
                    row.started_at = now
        row.status = status
        row.scheduled_for, row.scheduled_until = new_start, new_end
        if request.name:
            row.name = " ".join(request.name.split())
        if ids is not None:
            row.components = list(dict.fromkeys(ids))
        row.updated_at = now
        if request.body or request.status:
            session.add(
                MaintenanceUpdate(
                    maintenance_id=key,
                    status=status,
                    body=(request.body or "").strip() or _DEFAULT_BODY[status],
                    created_at=now,
                )
            )
        session.flush()
        updates = list(
            session.scalars(
                select(MaintenanceUpdate).where(MaintenanceUpdate.maintenance_id == key)
            )
        )
        return _maintenance_view(row, updates)


_DEFAULT_BODY = {
    "scheduled": "The maintenance has been rescheduled.",
    "in_progress": "Scheduled maintenance is currently in progress.",
    "verifying": "Maintenance is complete; we are verifying that everything works as expected.",
    "completed": "The scheduled maintenance has been completed.",
}
