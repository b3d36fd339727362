"""The webhook outbox: deliveries survive a stop or a crash, in order, and old rows are pruned.

Real SQLite outbox files in tmp_path, real receivers on 127.0.0.1 (see test_webhooks.Receiver).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from copilot.incidents import schemas as s
from copilot.incidents import service
from copilot.incidents.db import IncidentStore
from copilot.integrations import webhooks
from copilot.integrations.webhooks import Delivery, Outbox, WebhookDispatcher
from tests.integrations.test_webhooks import SECRET, Receiver, check_signed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "webhooks.sqlite"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IncidentStore]:
    opened = IncidentStore(f"sqlite:///{tmp_path / 'incidents.sqlite'}")
    yield opened
    opened.close()


@pytest.fixture
def dispatchers(outbox_path: Path) -> Iterator[Callable[..., WebhookDispatcher]]:
    made: list[WebhookDispatcher] = []

    def _make(urls: list[str], **extra: Any) -> WebhookDispatcher:
        options: dict[str, Any] = {"backoff_s": 0.01, "timeout_s": 2.0, **extra}
        dispatcher = WebhookDispatcher(urls, SECRET, outbox=outbox_path, **options)
        made.append(dispatcher)
        return dispatcher

    yield _make
    for dispatcher in made:
        dispatcher.stop(drain_s=0)


def rows(path: Path) -> list[dict[str, Any]]:
    """The outbox as another process sees it."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM deliveries ORDER BY seq")]
    finally:
        conn.close()


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def declare(store: IncidentStore, dispatcher: WebhookDispatcher, title: str) -> None:
    store.listeners[:] = [dispatcher.on_change]
    service.declare(store=store, request=s.IncidentCreate(title=title, severity="SEV4"))


def test_a_pending_delivery_survives_a_stop_and_is_sent_once_by_the_next_dispatcher(
    outbox_path: Path, store: IncidentStore, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(down=True) as receiver:
        first = dispatchers([receiver.url], backoff_s=60)
        first.start()
        declare(store, first, "Receiver down")
        wait_until(
            lambda: rows(outbox_path)[0]["attempts"] == 1 and rows(outbox_path)[0]["last_error"]
        )
        first.stop()  # the retry is a minute off: stop does not wait for it

        [row] = rows(outbox_path)
        assert row["state"] == "pending" and row["attempts"] == 1
        assert row["event"] == "incident.declared"
        assert "refused" in row["last_error"].lower()
        assert "token=abc" not in row["last_error"]
        assert row["host"] == "127.0.0.1" and "token" not in row["target"]

        receiver.up()
        second = dispatchers([receiver.url], backoff_s=60)
        second.start()
        receiver.wait_for(1)
        assert second.wait_idle()
        second.stop()

    [request] = receiver.requests  # once
    check_signed(request)
    assert request["headers"]["x-copilot-delivery"] == row["delivery_id"]
    assert receiver.payloads()[0]["id"] == row["delivery_id"]
    assert request["headers"]["x-copilot-attempt"] == "2"  # carried on from the first process
    assert request["body"] == row["body"]
    [done] = rows(outbox_path)
    assert (done["state"], done["attempts"], done["last_error"]) == ("delivered", 2, None)
    assert second.stats.delivered == 1 and second.stats.attempts == 1


KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from copilot.incidents import schemas as s, service
    from copilot.incidents.db import IncidentStore
    from copilot.integrations.webhooks import WebhookDispatcher

    outbox, url, incidents, secret = sys.argv[1:5]
    dispatcher = WebhookDispatcher([url], secret, outbox=Path(outbox), backoff_s=60)
    dispatcher.start()
    store = IncidentStore(f"sqlite:///{incidents}")
    store.listeners.append(dispatcher.on_change)
    service.declare(store=store, request=s.IncidentCreate(title="Killed", severity="SEV4"))
    print("queued", flush=True)
    time.sleep(120)
    """
)


def test_a_sigkilled_process_leaves_a_pending_row_the_next_dispatcher_delivers(
    tmp_path: Path, outbox_path: Path, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(down=True) as receiver:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                KILLED_CHILD,
                str(outbox_path),
                receiver.url,
                str(tmp_path / "child-incidents.sqlite"),
                SECRET,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "queued"
            # The child tried once, failed (nothing listens) and waits a minute to retry.
            wait_until(lambda: rows(outbox_path)[0]["attempts"] == 1)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        [row] = rows(outbox_path)
        assert row["state"] == "pending"

        receiver.up()
        dispatcher = dispatchers([receiver.url])
        dispatcher.start()
        receiver.wait_for(1)
        assert dispatcher.wait_idle()

    [request] = receiver.requests
    check_signed(request)
    assert request["headers"]["x-copilot-delivery"] == row["delivery_id"]
    assert request["headers"]["x-copilot-attempt"] == "2"
    assert receiver.payloads()[0]["incident"]["title"] == "Killed"
    assert rows(outbox_path)[0]["state"] == "delivered"


def test_order_per_url_holds_across_a_restart(
    outbox_path: Path, store: IncidentStore, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(down=True) as receiver, Receiver() as other:
        first = dispatchers([receiver.url, other.url], backoff_s=60)
        first.start()
        for n in range(3):
            declare(store, first, f"Outage {n}")
        other.wait_for(3)  # a down receiver holds up only its own URL
        wait_until(lambda: rows(outbox_path)[0]["attempts"] == 1)
        first.stop()
        pending = [r for r in rows(outbox_path) if r["state"] == "pending"]
        assert [r["attempts"] for r in pending] == [1, 0, 0]  # the head waited, the rest queued

        receiver.up()
        second = dispatchers([receiver.url, other.url], backoff_s=60)
        declare(store, second, "Outage 3")  # written before the start: queued behind the rest
        second.start()
        receiver.wait_for(4)
        assert second.wait_idle()

    titles = [p["incident"]["title"] for p in receiver.payloads()]
    assert titles == ["Outage 0", "Outage 1", "Outage 2", "Outage 3"]
    assert [r["headers"]["x-copilot-attempt"] for r in receiver.requests] == ["2", "1", "1", "1"]
    assert [r["headers"]["x-copilot-delivery"] for r in receiver.requests[:3]] == [
        r["delivery_id"] for r in pending
    ]
    assert [p["incident"]["title"] for p in other.payloads()] == titles


def test_a_delivery_failed_after_max_attempts_is_recorded_and_not_retried_after_restart(
    outbox_path: Path, store: IncidentStore, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(statuses=[500, 503]) as receiver:
        first = dispatchers([receiver.url], max_attempts=2)
        first.start()
        declare(store, first, "Given up")
        receiver.wait_for(2)
        assert first.wait_idle()
        first.stop()
        [failed] = rows(outbox_path)
        assert (failed["state"], failed["attempts"], failed["last_error"]) == (
            "failed",
            2,
            "HTTP 503",
        )
        assert first.stats.failed == 1

        second = dispatchers([receiver.url], max_attempts=2)
        second.start()
        declare(store, second, "After the restart")
        receiver.wait_for(3)
        assert second.wait_idle()

    # The worker reached the new delivery, so it passed the failed one without sending it.
    assert len(receiver.requests) == 3
    last = receiver.requests[-1]
    assert last["headers"]["x-copilot-delivery"] != failed["delivery_id"]
    assert receiver.payloads()[-1]["incident"]["title"] == "After the restart"
    assert [r["state"] for r in rows(outbox_path)] == ["failed", "delivered"]


def test_old_delivered_and_failed_rows_are_pruned_at_start(
    outbox_path: Path,
    dispatchers: Callable[..., WebhookDispatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "http://127.0.0.1:9/hook?token=abc"
    gone_url = "http://127.0.0.1:9/removed?token=abc"
    outbox = Outbox(outbox_path)
    made = [Delivery(f"d{n}", "incident.declared", b"{}") for n in range(4)]
    outbox.add(made, [url], limit=10)
    outbox.add([Delivery("orphan", "incident.declared", b"{}")], [gone_url], limit=10)
    by_id = {r["delivery_id"]: r["seq"] for r in rows(outbox_path)}
    outbox.settle(by_id["d0"], "delivered")
    outbox.settle(by_id["d1"], "failed", error="HTTP 410")
    outbox.settle(by_id["d2"], "delivered")
    outbox.settle(by_id["d3"], "delivered")
    outbox.close()
    eight_days_ago = time.time() - 8 * 24 * 3600
    conn = sqlite3.connect(outbox_path)
    with conn:
        conn.execute(
            "UPDATE deliveries SET updated_at = ?, created_at = ? "
            "WHERE delivery_id IN ('d0', 'd1', 'd2', 'orphan')",
            (eight_days_ago, eight_days_ago),
        )
        conn.execute(  # d2 was touched six days ago: kept
            "UPDATE deliveries SET updated_at = ? WHERE delivery_id = 'd2'",
            (time.time() - 6 * 24 * 3600,),
        )
    conn.close()

    dispatcher = dispatchers([url])
    with caplog.at_level("INFO", logger="copilot.webhooks"):
        dispatcher.start()
    left = {r["delivery_id"]: r["state"] for r in rows(outbox_path)}
    # An old pending row is never pruned, even for a URL no longer configured.
    assert left == {"d2": "delivered", "d3": "delivered", "orphan": "pending"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert (
        "pruned 2" in logged and "1 pending deliveries are for URLs no longer configured" in logged
    )
    assert "token=abc" not in logged


def test_a_full_outbox_drops_with_an_error_and_counts_it(
    outbox_path: Path,
    store: IncidentStore,
    dispatchers: Callable[..., WebhookDispatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Receiver(down=True) as receiver:
        dispatcher = dispatchers([receiver.url], max_pending=2)  # not started: nothing is sent
        for n in range(3):
            declare(store, dispatcher, f"Outage {n}")
    assert [r["state"] for r in rows(outbox_path)] == ["pending", "pending"]
    assert dispatcher.stats.dropped == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "127.0.0.1" in errors[0] and "dropped" in errors[0]
    assert "token=abc" not in errors[0]


def test_one_dispatcher_delivers_from_an_outbox_at_a_time(
    outbox_path: Path,
    store: IncidentStore,
    dispatchers: Callable[..., WebhookDispatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "OUTBOX_POLL_S", 0.02)
    with Receiver(down=True) as receiver:
        first = dispatchers([receiver.url], backoff_s=60)
        first.start()
        declare(store, first, "First")
        wait_until(lambda: rows(outbox_path)[0]["attempts"] == 1)
        second = dispatchers([receiver.url], backoff_s=60)
        second.start()  # the outbox is taken: it waits
        declare(store, second, "Second")  # but its rows are written
        receiver.up()
        assert len(rows(outbox_path)) == 2
        first.stop()  # lets go: the second takes over and resumes both, in order
        receiver.wait_for(2)
        assert second.wait_idle()

    assert [p["incident"]["title"] for p in receiver.payloads()] == ["First", "Second"]
    assert [r["headers"]["x-copilot-attempt"] for r in receiver.requests] == ["2", "1"]
