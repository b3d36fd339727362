"""SIGKILL a process in the middle of writing incidents: the database stays whole.

Every change the writer was told is committed is there after the kill, nothing is half
written (SQLite's integrity check passes, each incident's timeline and fields agree), and the
next process opens the store and goes on writing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from copilot.incidents import schemas as s
from copilot.incidents import service
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings

# Declares incidents and appends notes and severity changes as fast as it can, printing a line
# after each committed change, until it is killed.
WRITER = """
import sys
from copilot.incidents import schemas as s, service
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings

store = IncidentStore.open(Settings(_env_file=None))
n = 0
while True:
    inc = service.declare(
        store=store,
        request=s.IncidentCreate(title=f"crash test {n}", severity="SEV3", services=["orders"]),
    )
    print(f"declared {inc.id}", flush=True)
    for i in range(20):
        service.add_event(
            store=store, incident_id=inc.id, event=s.EventCreate(kind="note", text=f"note {i}")
        )
        print(f"note {inc.id} {i}", flush=True)
        if i == 10:
            service.update_incident(
                store=store,
                incident_id=inc.id,
                patch=s.IncidentPatch(severity="SEV2", reason="spreading"),
            )
            print(f"sev2 {inc.id}", flush=True)
    n += 1
"""


def _kill_after(data: Path, acknowledged: int) -> list[str]:
    """Run the writer until it has acknowledged this many changes, then SIGKILL it."""
    env = {**os.environ, "COPILOT_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 300
    while len(lines) < acknowledged:
        line = proc.stdout.readline()
        assert line, f"the writer stopped early (exit {proc.poll()})"
        lines.append(line.strip())
        assert time.monotonic() < deadline, "the writer is too slow"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    proc.stdout.close()
    return lines


def test_sigkill_during_incident_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acknowledged = _kill_after(data, 57)

    conn = sqlite3.connect(data / "incidents.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()

    settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    with IncidentStore.open(settings) as store:
        incidents = {i.id: i for i in service.list_incidents(store=store, limit=100)}
        for line in acknowledged:
            word, incident_id, *rest = line.split()
            assert incident_id in incidents, line
            notes = [
                e.text
                for e in service.list_events(store=store, incident_id=incident_id, kind="note")
            ]
            if word == "note":
                assert f"note {rest[0]}" in notes, line
            if word == "sev2":
                assert incidents[incident_id].severity == "SEV2", line

        for incident_id in incidents:
            events = service.list_events(store=store, incident_id=incident_id)
            # Whole changes only: the notes are a prefix of 0..19, each at most once, and a
            # severity change is on the timeline exactly when the incident carries it.
            notes = [e.text for e in events if e.kind == "note"]
            assert notes == [f"note {i}" for i in range(len(notes))], incident_id
            changes = [e for e in events if e.kind == "severity_change"]
            assert len(changes) == (incidents[incident_id].severity == "SEV2"), incident_id

        # The next process goes on where the killed one stopped.
        survivor = next(iter(incidents))
        service.add_event(
            store=store, incident_id=survivor, event=s.EventCreate(text="after the crash")
        )
        assert service.list_events(store=store, incident_id=survivor)[-1].text == (
            "after the crash"
        )
