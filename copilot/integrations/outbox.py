"""The webhook outbox: one row per delivery and URL in the copilot database (`webhook_outbox`).

Rows are written in the transaction that records an incident change's events, sent oldest first
per URL by a worker that claims (leases) the head row, and settled delivered, failed or pending
again; `copilot.integrations.webhooks` describes the guarantees. A row names its URL by SHA-256
and host only, so a token in a URL is never written down.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    func,
    select,
)

from copilot.db import DatabaseSource, LazyDatabase

KEEP_S = 7 * 24 * 3600  # how long delivered and failed rows are kept


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    body: bytes


metadata = MetaData()

# Migration 0004 creates it (it was `deliveries` in webhooks.sqlite).
outbox_table = Table(
    "webhook_outbox",
    metadata,
    Column("seq", Integer, primary_key=True),
    Column("delivery_id", String(64), nullable=False),
    Column("target", String(64), nullable=False),  # target_key(url)
    Column("host", String(255), nullable=False),
    Column("event", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),  # Unix seconds, as are the times below
    Column("leased_until", Float, nullable=True),
    Column("state", String(10), nullable=False, server_default="pending"),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="ck_webhook_outbox_state"),
    UniqueConstraint("delivery_id", "target", name="uq_webhook_outbox_delivery_target"),
    Index("ix_webhook_outbox_queue", "target", "state", "seq"),
    Index("ix_webhook_outbox_done", "state", "updated_at"),
    sqlite_autoincrement=True,
)
_t = outbox_table.c


def target_key(url: str) -> str:
    """How the outbox names a URL: its SHA-256, so a token in the URL is not written down."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    delivery: Delivery
    attempts: int
    next_attempt_at: float
    leased_until: float | None = None


class Outbox:
    """The delivery rows in the copilot database's `webhook_outbox` table.

    Give it the Database, the settings, a URL, or (as before) a file in the data dir.
    """

    def __init__(self, source: DatabaseSource) -> None:
        self.db = LazyDatabase(source)

    @property
    def label(self) -> str:
        return self.db.label

    def close(self) -> None:
        self.db.close()

    def add(
        self, deliveries: Sequence[Delivery], urls: Sequence[str], *, limit: int
    ) -> list[tuple[str, Delivery]]:
        """Write a pending row per delivery and URL, in one transaction; returns those dropped
        because their URL already has `limit` pending rows."""
        now = time.time()
        dropped: list[tuple[str, Delivery]] = []
        with self.db.get().begin() as conn:
            for url in urls:
                key = target_key(url)
                pending = conn.execute(
                    select(func.count())
                    .select_from(outbox_table)
                    .where(_t.target == key, _t.state == "pending")
                ).scalar_one()
                rows = []
                for delivery in deliveries:
                    if pending >= limit:
                        dropped.append((url, delivery))
                        continue
                    rows.append(
                        {
                            "delivery_id": delivery.id,
                            "target": key,
                            "host": logged_host(url),
                            "event": delivery.event,
                            "body": delivery.body,
                            "attempts": 0,
                            "state": "pending",
                            "next_attempt_at": now,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    pending += 1
                if rows:
                    conn.execute(outbox_table.insert(), rows)
        return dropped

    def head(self, url: str) -> OutboxRow | None:
        """The oldest pending row of `url`: the only one its workers may send."""
        if not self.db.exists():
            return None
        with self.db.get().reading() as conn:
            row = conn.execute(
                select(
                    _t.seq,
                    _t.delivery_id,
                    _t.event,
                    _t.body,
                    _t.attempts,
                    _t.next_attempt_at,
                    _t.leased_until,
                )
                .where(_t.target == target_key(url), _t.state == "pending")
                .order_by(_t.seq)
                .limit(1)
            ).first()
        if row is None:
            return None
        return OutboxRow(
            row.seq,
            Delivery(row.delivery_id, row.event, bytes(row.body)),
            row.attempts,
            row.next_attempt_at,
            row.leased_until,
        )

    def claim(self, row: OutboxRow, *, lease_s: float) -> bool:
        """Count the next attempt of `row` and lease it for `lease_s`, unless another dispatcher
        has claimed it since `row` was read; the attempt is counted before it is sent, so a
        crash mid-send does not reuse its number."""
        now = time.time()
        with self.db.get().begin() as conn:
            current = conn.execute(
                select(_t.state, _t.attempts, _t.leased_until)
                .where(_t.seq == row.seq)
                .with_for_update(skip_locked=True)
            ).first()
            if (
                current is None  # locked by a claim under way elsewhere (or gone)
                or current.state != "pending"
                or current.attempts != row.attempts
                or (current.leased_until is not None and current.leased_until > now)
            ):
                return False
            conn.execute(
                outbox_table.update()
                .where(_t.seq == row.seq)
                .values(attempts=row.attempts + 1, leased_until=now + lease_s, updated_at=now)
            )
        return True

    def record_attempt(self, seq: int, attempt: int) -> None:
        """Set a row's attempt count (without a lease)."""
        with self.db.get().begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(_t.seq == seq)
                .values(attempts=attempt, updated_at=time.time())
            )

    def settle(
        self, seq: int, state: str, *, error: str | None = None, next_at: float | None = None
    ) -> None:
        """Mark a row delivered or failed, or (`state="pending"`) reschedule it for `next_at`;
        its lease ends."""
        values: dict[str, Any] = {
            "state": state,
            "last_error": error,
            "updated_at": time.time(),
            "leased_until": None,
        }
        if next_at is not None:
            values["next_attempt_at"] = next_at
        with self.db.get().begin() as conn:
            conn.execute(outbox_table.update().where(_t.seq == seq).values(**values))

    def resume(self, urls: Sequence[str]) -> tuple[int, int]:
        """Make the pending rows of `urls` due now; returns (resumed, pending for other URLs)."""
        now = time.time()
        keys = [target_key(url) for url in urls]
        with self.db.get().begin() as conn:
            resumed = conn.execute(
                outbox_table.update()
                .where(_t.state == "pending", _t.target.in_(keys))
                .values(
                    next_attempt_at=case((_t.next_attempt_at > now, now), else_=_t.next_attempt_at)
                )
            ).rowcount
            elsewhere = conn.execute(
                select(func.count())
                .select_from(outbox_table)
                .where(_t.state == "pending", _t.target.not_in(keys))
            ).scalar_one()
        return resumed, elsewhere

    def prune(self, older_than_s: float = KEEP_S) -> int:
        """Delete delivered and failed rows last touched more than `older_than_s` ago."""
        with self.db.get().begin() as conn:
            return conn.execute(
                outbox_table.delete().where(
                    _t.state.in_(("delivered", "failed")),
                    _t.updated_at < time.time() - older_than_s,
                )
            ).rowcount

    def pending(self, urls: Sequence[str], *, due_by: float | None = None) -> int:
        """Pending rows of `urls`; with `due_by`, only URLs whose oldest one is due by then."""
        if not self.db.exists():
            return 0
        if due_by is not None:
            count = 0
            for url in urls:
                head = self.head(url)
                count += head is not None and head.next_attempt_at <= due_by
            return count
        with self.db.get().reading() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(outbox_table)
                    .where(_t.state == "pending", _t.target.in_([target_key(u) for u in urls]))
                ).scalar_one()
            )


def logged_host(url: str) -> str:
    # Logs name the host only: a webhook URL often carries a token in its path or query.
    try:
        return urlparse(url).hostname or "?"
    except ValueError:
        return "?"
