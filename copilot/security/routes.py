"""Admin routes for API keys and the audit log (the `admin` scope, like everything in /v1/admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from copilot.api.deps import AuditLogDep, KeyStoreDep
from copilot.incidents.service import canonical_id
from copilot.security import schemas as s

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/keys", response_model=s.KeyCreated, status_code=201)
def create_key(body: s.KeyCreate, keys: KeyStoreDep) -> s.KeyCreated:
    record, key = keys.create(body.name, body.scopes)
    return s.KeyCreated(name=record.name, key=key, scopes=list(record.scopes))


@router.get("/keys", response_model=s.KeyList)
def list_keys(keys: KeyStoreDep, include_revoked: bool = False) -> s.KeyList:
    found = keys.list(include_revoked=include_revoked)
    return s.KeyList(keys=[s.KeyInfo.model_validate(k.public()) for k in found])


@router.delete("/keys/{name}", response_model=s.KeyInfo)
def revoke_key(name: Annotated[str, Path(max_length=64)], keys: KeyStoreDep) -> s.KeyInfo:
    return s.KeyInfo.model_validate(keys.revoke(name).public())


@router.get("/audit", response_model=s.AuditList)
def audit_records(
    audit: AuditLogDep,
    incident_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> s.AuditList:
    wanted = canonical_id(incident_id) if incident_id else None
    records = audit.list(incident_id=wanted, limit=limit)
    return s.AuditList(records=[s.AuditEntry.model_validate(r.as_dict()) for r in records])
