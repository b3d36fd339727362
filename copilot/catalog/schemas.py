"""Request and response models of the catalog API (and the CLI's --json output).

Text that came from a catalog file (titles, descriptions, public names, contacts, problem
messages that quote it) is `ScreenedStr`; refs are `kind:namespace/name` and pass Backstage's
name rule, so they carry no prose.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from copilot.guardrails.screened import ScreenedStr

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportRequest(_Request):
    paths: list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]] = Field(
        min_length=1, max_length=100, description="files or folders inside the ingest roots"
    )


class ImpactRequest(_Request):
    names: list[Name] = Field(
        min_length=1, max_length=200, description="failing entities: refs, names, titles, aliases"
    )


class Problem(BaseModel):
    file: str
    line: int
    message: ScreenedStr


class ImportResponse(BaseModel):
    imported: list[str]
    unchanged: list[str]
    removed: list[str]
    failed: list[Problem] = Field(description="files left out entirely (the old version stays)")
    problems: list[Problem] = Field(description="entities or references left out")
    unresolved: list[Problem] = Field(description="references to entities not in the catalog")
    cycles: list[list[str]] = Field(description="dependency cycles (allowed; reported)")
    entities: int = Field(description="entities in the catalog after the import")


class Link(BaseModel):
    url: ScreenedStr
    title: ScreenedStr | None = None


class EntitySummary(BaseModel):
    ref: str
    kind: str
    name: str
    title: ScreenedStr
    type: ScreenedStr | None = None
    lifecycle: ScreenedStr | None = None
    owner: str | None = None
    system: str | None = None
    public_name: ScreenedStr | None = None
    file: str
    line: int


class EntityList(BaseModel):
    entities: list[EntitySummary]


class Owner(BaseModel):
    ref: str
    name: ScreenedStr
    contacts: list[ScreenedStr]
    owns: list[str] = Field(default_factory=list, description="the refs in question it owns")


class EntityDetail(EntitySummary):
    description: ScreenedStr | None = None
    domain: str | None = None
    aliases: list[ScreenedStr]
    tags: list[ScreenedStr]
    links: list[Link]
    depends_on: list[str]
    dependents: list[str]
    provides_apis: list[str]
    consumes_apis: list[str]
    owned: list[str] = Field(description="for a Group: what it owns")
    owner_detail: Owner | None = None


class Affected(BaseModel):
    ref: str
    title: ScreenedStr
    path: list[str] = Field(
        description="from a failing entity to this one, each depending on the last"
    )
    user_facing: bool
    public_name: ScreenedStr | None = None
    owner: str | None = None


class PublicService(BaseModel):
    ref: str
    public_name: ScreenedStr


class Impact(BaseModel):
    failing: list[Affected]
    dependents: list[Affected] = Field(description="what depends on the failing entities")
    upstream: list[Affected] = Field(description="what they depend on: places to look first")
    systems: list[str]
    domains: list[str]
    user_facing: list[PublicService]
    owners: list[Owner] = Field(description="owners of the failing entities and their dependents")
    upstream_owners: list[Owner]
    unmapped: list[ScreenedStr] = Field(description="names the catalog does not know")
