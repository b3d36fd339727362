"""Role changes (ICS): one holder per single role, handed over with the tenure closed first, and
responders joining and leaving, each written to the timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from copilot.errors import Conflict, InvalidInput
from copilot.incidents import models as m
from copilot.incidents import schemas as s
from copilot.incidents.db import IncidentStore
from copilot.incidents.writes import event, with_reason

ROLE_LABEL = {
    "incident_commander": "incident commander",
    "escalation_lead": "escalation lead",
    "scribe": "scribe",
    "customer_liaison": "customer liaison",
    "responder": "responder",
}


def apply_roles(
    store: IncidentStore,
    session: Session,
    incident: m.Incident,
    patch: s.RolesPatch,
    *,
    at: datetime,
    author: str | None,
    reason: str | None,
) -> int:
    """Apply role changes at `at`; return how many were written to the timeline."""
    now = store.now()
    written = 0
    open_roles = [r for r in incident.roles if r.relieved_at is None]
    holders = {r.role: r for r in open_roles if r.role != "responder"}

    def relieve(row: m.RoleAssignment) -> None:
        if at < row.assigned_at:
            raise InvalidInput(
                f"at: {at.isoformat()} is before {row.person} became "
                f"{ROLE_LABEL[row.role]} ({row.assigned_at.isoformat()})"
            )
        row.relieved_at = at

    def assign(role: str, person: str) -> None:
        incident.roles.append(
            m.RoleAssignment(role=role, person=person, assigned_at=at, relieved_at=None)
        )

    for role in m.SINGLE_ROLES:
        if role not in patch.model_fields_set:
            continue
        person: str | None = getattr(patch, role)
        holder = holders.get(role)
        old = holder.person if holder else None
        if person == old:
            continue
        label = ROLE_LABEL[role]
        if person is None:
            if role == "incident_commander":
                raise Conflict(
                    f"{incident.public_id} must always have an incident commander: hand the role "
                    "over to someone else instead of removing it"
                )
            text = f"{old} stepped down as {label}"
        elif old is None:
            text = f"{person} is {label}"
        else:
            verb = "handed over" if role == "incident_commander" else "passed"
            text = f"{label.capitalize()} {verb} from {old} to {person}"
        if holder is not None:
            relieve(holder)
            # Close the old tenure before the new one opens: one open holder per role.
            session.flush()
        if person is not None:
            assign(role, person)
        event(
            session,
            incident,
            kind="role_change",
            text=with_reason(text, reason),
            at=at,
            author=author,
            now=now,
            data={"role": role, "from": old, "to": person},
        )
        written += 1

    current = {r.person: r for r in open_roles if r.role == "responder"}
    if patch.responders is not None:
        wanted = list(dict.fromkeys(patch.responders))
    else:
        wanted = list(current)
        wanted += [p for p in dict.fromkeys(patch.add_responders) if p not in current]
        wanted = [p for p in wanted if p not in set(patch.remove_responders)]
    joined = [p for p in wanted if p not in current]
    left = [p for p in current if p not in wanted]
    if not joined and not left:
        return written
    for person in left:
        relieve(current[person])
    session.flush()
    for person in joined:
        assign("responder", person)
    parts = []
    if joined:
        parts.append(f"{', '.join(joined)} joined as responder{'s' if len(joined) > 1 else ''}")
    if left:
        parts.append(f"{', '.join(left)} left the responders")
    event(
        session,
        incident,
        kind="role_change",
        text=with_reason("; ".join(parts), reason),
        at=at,
        author=author,
        now=now,
        data={"role": "responder", "added": joined, "removed": left},
    )
    return written + 1
