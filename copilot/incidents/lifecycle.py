"""The incident lifecycle as a state machine, and the timestamps each state sets or clears."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from copilot.errors import Conflict

if TYPE_CHECKING:
    from copilot.incidents.models import Incident

# Forward along triage -> mobilized -> mitigating -> monitoring -> resolved -> closed, skipping
# ahead when events outrun the paperwork (it recovered before anyone mobilized), back from
# monitoring to mitigating when recovery does not hold, and reopening a resolved or closed one.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "triage": ("mobilized", "mitigating", "monitoring", "resolved"),
    "mobilized": ("mitigating", "monitoring", "resolved"),
    "mitigating": ("monitoring", "resolved"),
    "monitoring": ("mitigating", "resolved"),
    "resolved": ("closed", "mobilized", "mitigating"),
    "closed": ("mobilized", "mitigating"),
}
REOPEN_FROM = ("resolved", "closed")


def allowed(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check(incident_id: str, current: str, target: str) -> None:
    """Raise Conflict naming the allowed moves unless `current -> target` is one of them."""
    if target in allowed(current):
        return
    options = ", ".join(allowed(current)) or "none"
    raise Conflict(
        f"cannot move {incident_id} from {current} to {target}; from {current} the allowed "
        f"statuses are: {options}"
    )


def is_reopen(current: str, target: str) -> bool:
    return current in REOPEN_FROM and target not in REOPEN_FROM


def apply(incident: Incident, target: str, at: datetime) -> dict[str, str | None]:
    """Move `incident` to `target` at `at`; return the timestamps changed (old ISO values).

    Entering monitoring sets mitigated_at; resolved sets resolved_at (and mitigated_at, if the
    incident skipped monitoring: impact cannot outlast resolution); closed sets closed_at. Going
    back to mitigating or mobilized means impact is back, so the later timestamps are cleared;
    the timeline keeps the old values.
    """
    changed: dict[str, str | None] = {}

    def put(field: str, value: datetime | None) -> None:
        old: datetime | None = getattr(incident, field)
        if old != value:
            changed[field] = old.isoformat() if old else None
            setattr(incident, field, value)

    if target in ("mobilized", "mitigating"):
        put("mitigated_at", None)
        put("resolved_at", None)
        put("closed_at", None)
    elif target == "monitoring":
        put("mitigated_at", at)
    elif target == "resolved":
        if incident.mitigated_at is None:
            put("mitigated_at", at)
        put("resolved_at", at)
        put("closed_at", None)
    elif target == "closed":
        put("closed_at", at)
    incident.status = target
    return changed
