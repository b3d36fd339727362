"""API keys: created once, stored as a SHA-256 hash, checked in constant time.

A key reads `rcp_<id>_<secret>`: the id (public, 12 hex digits) finds the row, the SHA-256 of
the whole key is compared with `hmac.compare_digest`. The secret is 256 random bits, so a plain
hash is enough (a slow KDF guards low-entropy passwords, which these are not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from copilot.db import DatabaseSource
from copilot.errors import Conflict, InvalidInput, NotFound
from copilot.security.db import SecurityDB, api_keys

# `alerts` opens only the alert webhooks (POST /v1/alerts/alertmanager|grafana), nothing else.
Scope = Literal["read", "respond", "admin", "alerts"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_PREFIX = "rcp"
# Used by the log redactor too: a key must never reach a log line.
KEY_PATTERN = re.compile(r"\brcp_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Compared against when the id is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class ApiKey:
    name: str
    key_id: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None

    def public(self) -> dict[str, object]:
        return {
            "name": self.name,
            "id": self.key_id,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in canonical order; InvalidInput for an unknown or missing one."""
    given = list(scopes)
    unknown = sorted(set(given) - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scope {', '.join(unknown)[:60]!r}; scopes are {', '.join(SCOPES)}"
        )
    if not given:
        raise InvalidInput(f"give at least one scope: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in given)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            "key name must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(row: Any) -> ApiKey:
    return ApiKey(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4])


_PUBLIC = (
    api_keys.c.name,
    api_keys.c.key_id,
    api_keys.c.scopes,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
)


class KeyStore:
    """The API keys in the copilot database (the settings', a URL's, or `security_path`'s)."""

    def __init__(self, source: DatabaseSource) -> None:
        self.db = SecurityDB(source)

    def use(self, source: DatabaseSource) -> None:
        """Point this store at another database (the app does, once, before serving)."""
        old, self.db = self.db, SecurityDB(source)
        old.close()

    def close(self) -> None:
        self.db.close()

    def _taken(self, name: str) -> Conflict:
        return Conflict(f"a key named {name!r} exists; revoke it first or pick another name")

    def create(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """A new key named `name`; returns the record and the key, which is not kept."""
        name = check_name(name)
        ordered = check_scopes(scopes)
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(name=name, key_id=key_id, scopes=ordered, created_at=_now())
        try:
            with self.db.get().begin() as conn:
                taken = conn.execute(
                    select(api_keys.c.id).where(
                        api_keys.c.name == name, api_keys.c.revoked_at.is_(None)
                    )
                ).first()
                if taken:
                    raise self._taken(name)
                conn.execute(
                    api_keys.insert().values(
                        name=name,
                        key_id=key_id,
                        key_hash=hash_key(key),
                        scopes=json.dumps(ordered),
                        created_at=record.created_at,
                    )
                )
        except IntegrityError:
            # Two creates of one name at once (PostgreSQL): the partial unique index decides.
            raise self._taken(name) from None
        return record, key

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        if not self.db.exists():
            return []
        query = select(*_PUBLIC).order_by(api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self.db.get().reading() as conn:
            return [_record(r) for r in conn.execute(query)]

    def revoke(self, name: str) -> ApiKey:
        """Revoke the active key called `name`; it stops working on the next request."""
        with self.db.get().begin() as conn:
            row = conn.execute(
                select(*_PUBLIC)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .with_for_update()
            ).first()
            if row is None:
                raise NotFound(f"no active key named {name[:64]!r}")
            revoked_at = _now()
            conn.execute(
                api_keys.update()
                .where(api_keys.c.key_id == row.key_id)
                .values(revoked_at=revoked_at)
            )
        return ApiKey(row[0], row[1], tuple(json.loads(row[2])), row[3], revoked_at)

    def has_keys(self) -> bool:
        """Whether any active key exists (then every /v1 request needs one)."""
        if not self.db.exists():
            return False
        with self.db.get().reading() as conn:
            row = conn.execute(
                select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None)).limit(1)
            ).first()
            return row is not None

    def verify(self, presented: str) -> ApiKey | None:
        """The active key `presented` is, or None."""
        parts = presented.split("_", 2)
        key_id = parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else ""
        row = None
        if key_id and self.db.exists():
            with self.db.get().reading() as conn:
                row = conn.execute(
                    select(*_PUBLIC, api_keys.c.key_hash).where(
                        api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)
                    )
                ).first()
        stored = row.key_hash if row is not None else _DUMMY_HASH
        matches = hmac.compare_digest(hash_key(presented), stored)
        if row is None or not matches:
            return None
        return ApiKey(row[0], row[1], tuple(json.loads(row[2])), row[3])
