"""Times as responders type them, the same in the CLI and in Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from copilot.clocktime import parse_time
from tests.conftest import run_cli


def test_a_clock_time_is_the_most_recent_one_and_iso_is_read_in_utc() -> None:
    late = datetime(2026, 5, 1, 23, 0, tzinfo=UTC)
    assert parse_time("14:05", now=late) == datetime(2026, 5, 1, 14, 5, tzinfo=UTC)
    assert parse_time("9:05", now=late) == datetime(2026, 5, 1, 9, 5, tzinfo=UTC)
    # Past midnight, "23:50" is ten minutes ago, not tonight; a few minutes ahead is now's.
    early = datetime(2026, 5, 2, 0, 10, tzinfo=UTC)
    assert parse_time("23:50", now=early) == datetime(2026, 5, 1, 23, 50, tzinfo=UTC)
    assert parse_time("00:13", now=early) == datetime(2026, 5, 2, 0, 13, tzinfo=UTC)
    assert parse_time("2026-04-30T10:00+02:00", now=late) == datetime(2026, 4, 30, 8, 0, tzinfo=UTC)
    assert parse_time("2026-04-30 10:00", now=late) == datetime(2026, 4, 30, 10, 0, tzinfo=UTC)
    for wrong in ("yesterday", "25:00", "10 min ago", ""):
        with pytest.raises(ValueError, match="is not a time"):
            parse_time(wrong, now=late)


def test_the_cli_takes_a_clock_time(cli_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found as a new user: `--started-at 14:05` failed with pydantic's "input is too short",
    # while Slack's `/incident times started=14:05` took it.
    code, out, err = run_cli(
        capsys, "incident", "declare", "Checkout 502s", "-s", "SEV2", "--started-at", "00:00",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    started = datetime.fromisoformat(json.loads(out)["started_at"].replace("Z", "+00:00"))
    assert (started.hour, started.minute) == (0, 0)
    with pytest.raises(SystemExit) as refused:
        run_cli(capsys, "incident", "note", "INC-1", "x", "--at", "yesterday")
    assert refused.value.code == 2 and "is not a time: use HH:MM" in capsys.readouterr().err
