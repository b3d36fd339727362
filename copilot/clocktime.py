"""Times as responders type them: `HH:MM` on a clock, or an ISO 8601 moment.

Used wherever a person gives a time by hand (the CLI's `--at`, `--started-at` ..., Slack's
`/incident times`), so they read the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock

# A clock time a little ahead of now is now's (clocks disagree a little); further ahead, it is
# yesterday's: "23:50" typed at 00:10 is ten minutes ago, not tonight.
AHEAD = timedelta(minutes=5)


def parse_time(value: str, *, now: datetime) -> datetime:
    """`HH:MM` (UTC, the most recent such time) or an ISO 8601 time (UTC unless it says
    otherwise), as an aware UTC datetime; ValueError saying what is accepted."""
    text = value.strip()
    try:
        if len(text) <= 5 and ":" in text:
            moment = datetime.combine(now.date(), clock.fromisoformat(text.zfill(5)), UTC)
            return moment - timedelta(days=1) if moment > now + AHEAD else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not a time: use HH:MM (UTC, the most recent) or 2026-05-01T14:05Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
