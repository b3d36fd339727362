"""Request and response models of the admin API for keys and the audit log."""

from __future__ import annotations

from pydantic import BaseModel, Field

from copilot.security.keys import Scope


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    scopes: list[Scope] = Field(min_length=1, max_length=4)


class KeyCreated(BaseModel):
    name: str
    key: str = Field(description="shown this once; only its hash is stored")
    scopes: list[str]


class KeyInfo(BaseModel):
    name: str
    id: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None = None


class KeyList(BaseModel):
    keys: list[KeyInfo]


class AuditEntry(BaseModel):
    id: int
    at: str
    who: str
    action: str
    incident_id: str | None
    question: str
    sources: list[str]
    request_id: str | None


class AuditList(BaseModel):
    records: list[AuditEntry]
