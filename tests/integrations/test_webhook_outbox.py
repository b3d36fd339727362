"""The webhook outbox: deliveries survive a stop or a crash, in order, and old rows are pruned.

The outbox is a table of the copilot database: every test runs on SQLite (a file in tmp_path)
and on PostgreSQL (see `database_url`), with real receivers on 127.0.0.1 (test_webhooks.Receiver).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from copilot.db import Database
from copilot.incidents import schemas as s
from copilot.incidents import service
from copilot.incidents.db import IncidentStore
from copilot.integrations import webhooks
from copilot.integrations.outbox import Delivery, Outbox, target_key
from copilot.integrations.webhooks import WebhookDispatcher
from tests.db.postgres import PostgresCluster
from tests.integrations.test_webhooks import SECRET, Receiver, check_signed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def outbox_url(database_url: str) -> str:
    # Migrated once here, so that the dispatchers and stores below only open it.
    Database(database_url).close()
    return database_url


@pytest.fixture
def store(outbox_url: str) -> Iterator[IncidentStore]:
    opened = IncidentStore(outbox_url)
    yield opened
    opened.close()


@pytest.fixture
def dispatchers(outbox_url: str) -> Iterator[Callable[..., WebhookDispatcher]]:
    made: list[WebhookDispatcher] = []

    def _make(urls: list[str], **extra: Any) -> WebhookDispatcher:
        options: dict[str, Any] = {"backoff_s": 0.01, "timeout_s": 2.0, **extra}
        dispatcher = WebhookDispatcher(urls, SECRET, outbox=outbox_url, **options)
        made.append(dispatcher)
        return dispatcher

    yield _make
    for dispatcher in made:
        dispatcher.stop(drain_s=0)


def rows(url: str) -> list[dict[str, Any]]:
    """The outbox as another process sees it."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT * FROM webhook_outbox ORDER BY seq")).mappings()
            return [{k: bytes(v) if k == "body" else v for k, v in r.items()} for r in found]
    finally:
        engine.dispose()


def execute(url: str, statement: str, **params: Any) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def declare(store: IncidentStore, dispatcher: WebhookDispatcher, title: str) -> None:
    store.listeners[:] = [dispatcher.on_change]
    service.declare(store=store, request=s.IncidentCreate(title=title, severity="SEV4"))


def test_a_pending_delivery_survives_a_stop_and_is_sent_once_by_the_next_dispatcher(
    outbox_url: str, store: IncidentStore, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(down=True) as receiver:
        first = dispatchers([receiver.url], backoff_s=60)
        first.start()
        declare(store, first, "Receiver down")
        wait_until(
            lambda: rows(outbox_url)[0]["attempts"] == 1 and rows(outbox_url)[0]["last_error"]
        )
        first.stop()  # the retry is a minute off: stop does not wait for it

        [row] = rows(outbox_url)
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
    [done] = rows(outbox_url)
    assert (done["state"], done["attempts"], done["last_error"]) == ("delivered", 2, None)
    assert second.stats.delivered == 1 and second.stats.attempts == 1


KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    from copilot.incidents import schemas as s, service
    from copilot.incidents.db import IncidentStore
    from copilot.integrations.webhooks import WebhookDispatcher

    database, url, secret = sys.argv[1:4]
    dispatcher = WebhookDispatcher([url], secret, outbox=database, backoff_s=60)
    dispatcher.start()
    store = IncidentStore(database)
    store.listeners.append(dispatcher.on_change)
    service.declare(store=store, request=s.IncidentCreate(title="Killed", severity="SEV4"))
    print("queued", flush=True)
    time.sleep(120)
    """
)


def test_a_sigkilled_process_leaves_a_pending_row_the_next_dispatcher_delivers(
    outbox_url: str, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(down=True) as receiver:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                KILLED_CHILD,
                outbox_url,
                receiver.url,
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
            wait_until(lambda: rows(outbox_url)[0]["last_error"] is not None)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        [row] = rows(outbox_url)
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
    assert rows(outbox_url)[0]["state"] == "delivered"


def test_order_per_url_holds_across_a_restart(
    outbox_url: str, store: IncidentStore, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(down=True) as receiver, Receiver() as other:
        first = dispatchers([receiver.url, other.url], backoff_s=60)
        first.start()
        for n in range(3):
            declare(store, first, f"Outage {n}")
        other.wait_for(3)  # a down receiver holds up only its own URL
        wait_until(lambda: rows(outbox_url)[0]["attempts"] == 1)
        first.stop()
        pending = [r for r in rows(outbox_url) if r["state"] == "pending"]
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
    outbox_url: str, store: IncidentStore, dispatchers: Callable[..., WebhookDispatcher]
) -> None:
    with Receiver(statuses=[500, 503]) as receiver:
        first = dispatchers([receiver.url], max_attempts=2)
        first.start()
        declare(store, first, "Given up")
        receiver.wait_for(2)
        assert first.wait_idle()
        first.stop()
        [failed] = rows(outbox_url)
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
    assert [r["state"] for r in rows(outbox_url)] == ["failed", "delivered"]


def test_old_delivered_and_failed_rows_are_pruned_at_start(
    outbox_url: str,
    dispatchers: Callable[..., WebhookDispatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "http://127.0.0.1:9/hook?token=abc"
    gone_url = "http://127.0.0.1:9/removed?token=abc"
    outbox = Outbox(outbox_url)
    made = [Delivery(f"d{n}", "incident.declared", b"{}") for n in range(4)]
    outbox.add(made, [url], limit=10)
    outbox.add([Delivery("orphan", "incident.declared", b"{}")], [gone_url], limit=10)
    by_id = {r["delivery_id"]: r["seq"] for r in rows(outbox_url)}
    outbox.settle(by_id["d0"], "delivered")
    outbox.settle(by_id["d1"], "failed", error="HTTP 410")
    outbox.settle(by_id["d2"], "delivered")
    outbox.settle(by_id["d3"], "delivered")
    outbox.close()
    eight_days_ago = time.time() - 8 * 24 * 3600
    execute(
        outbox_url,
        "UPDATE webhook_outbox SET updated_at = :t, created_at = :t "
        "WHERE delivery_id IN ('d0', 'd1', 'd2', 'orphan')",
        t=eight_days_ago,
    )
    execute(  # d2 was touched six days ago: kept
        outbox_url,
        "UPDATE webhook_outbox SET updated_at = :t WHERE delivery_id = 'd2'",
        t=time.time() - 6 * 24 * 3600,
    )

    dispatcher = dispatchers([url])
    with caplog.at_level("INFO", logger="copilot.webhooks"):
        dispatcher.start()
    left = {r["delivery_id"]: r["state"] for r in rows(outbox_url)}
    # An old pending row is never pruned, even for a URL no longer configured.
    assert left == {"d2": "delivered", "d3": "delivered", "orphan": "pending"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert (
        "pruned 2" in logged and "1 pending deliveries are for URLs no longer configured" in logged
    )
    assert "token=abc" not in logged


def test_a_full_outbox_drops_with_an_error_and_counts_it(
    outbox_url: str,
    store: IncidentStore,
    dispatchers: Callable[..., WebhookDispatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Receiver(down=True) as receiver:
        dispatcher = dispatchers([receiver.url], max_pending=2)  # not started: nothing is sent
        for n in range(3):
            declare(store, dispatcher, f"Outage {n}")
    assert [r["state"] for r in rows(outbox_url)] == ["pending", "pending"]
    assert dispatcher.stats.dropped == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "127.0.0.1" in errors[0] and "dropped" in errors[0]
    assert "token=abc" not in errors[0]


def test_two_dispatchers_on_one_outbox_send_each_delivery_once_in_order(
    outbox_url: str,
    store: IncidentStore,
    dispatchers: Callable[..., WebhookDispatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replicas share the outbox: a head row claimed by one is skipped by the other."""
    monkeypatch.setattr(webhooks, "OUTBOX_POLL_S", 0.02)
    with Receiver(down=True) as receiver:
        first = dispatchers([receiver.url], backoff_s=0.2)
        second = dispatchers([receiver.url], backoff_s=0.2)
        first.start()
        second.start()
        for n in range(6):
            declare(store, (first, second)[n % 2], f"Outage {n}")
        wait_until(lambda: rows(outbox_url)[0]["attempts"] >= 1)
        receiver.up()
        receiver.wait_for(6)
        assert first.wait_idle() and second.wait_idle()

    titles = [p["incident"]["title"] for p in receiver.payloads()]
    ids = [r["headers"]["x-copilot-delivery"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 6  # each delivered once, by one of them
    assert titles == [f"Outage {n}" for n in range(6)]
    assert first.stats.delivered + second.stats.delivered == 6
    assert {r["state"] for r in rows(outbox_url)} == {"delivered"}


def test_a_row_leased_by_a_dispatcher_that_died_mid_send_is_sent_again_after_the_lease(
    outbox_url: str,
    store: IncidentStore,
    dispatchers: Callable[..., WebhookDispatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "OUTBOX_POLL_S", 0.02)
    url = "http://127.0.0.1:9/hook"
    outbox = Outbox(outbox_url)
    outbox.add([Delivery("d-crashed", "incident.declared", b"{}")], [url], limit=10)
    head = outbox.head(url)
    assert head is not None
    assert outbox.claim(head, lease_s=0.5)  # as a dispatcher does right before it sends ...
    assert not outbox.claim(head, lease_s=0.5)  # ... and nobody else may meanwhile
    outbox.close()  # ... and then it died

    with Receiver() as receiver:
        # The receiver's URL stands in for the dead one's: point the row at it.
        execute(
            outbox_url,
            "UPDATE webhook_outbox SET target = :t",
            t=target_key(receiver.url),
        )
        dispatcher = dispatchers([receiver.url])
        dispatcher.start()
        receiver.wait_for(1)
        assert dispatcher.wait_idle()
    [request] = receiver.requests
    assert request["headers"]["x-copilot-delivery"] == "d-crashed"
    assert request["headers"]["x-copilot-attempt"] == "2"


def test_on_postgresql_a_claim_skips_a_row_another_replica_is_claiming(
    postgres_cluster: PostgresCluster,
) -> None:
    """`FOR UPDATE SKIP LOCKED`: a claim never waits on (or takes) a row another one holds."""
    url = postgres_cluster.create_database()
    try:
        outbox = Outbox(url)
        hook = "http://127.0.0.1:9/hook"
        outbox.add([Delivery("d1", "incident.declared", b"{}")], [hook], limit=10)
        head = outbox.head(hook)
        assert head is not None
        engine = create_engine(url)
        with engine.begin() as other:  # another replica, mid-claim
            other.execute(text("SELECT seq FROM webhook_outbox FOR UPDATE"))
            started = time.monotonic()
            assert not outbox.claim(head, lease_s=30)
            assert time.monotonic() - started < 5
        assert outbox.claim(head, lease_s=30)  # free again: now it is ours
        engine.dispose()
        outbox.close()
    finally:
        postgres_cluster.drop_database(url)
