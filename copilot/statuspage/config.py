"""The status page's components: a small YAML file of two-level groups (see components.yaml).

The packaged sample describes the fictional Larkfield Grocer; a team names its own file with
`COPILOT_STATUS_COMPONENTS`. Ids are stable slugs (given, or derived from the name), so a
renamed component keeps its history when its id is pinned in the file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from copilot.db import Database
from copilot.errors import ConfigError, InvalidInput

log = logging.getLogger(__name__)

_SLUG = re.compile(r"[^a-z0-9]+")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class ComponentsUnavailable(ConfigError):
    """The components file cannot be used and no good version was read before (503).

    The public page says only that; the file's path and its problem go to the log.
    """

    status_code = 503

    @property
    def public_message(self) -> str:
        return (
            "the status page is not available: its components file is invalid "
            "(the server log says why)"
        )


def slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:64] or "component"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSpec(_Strict):
    name: str = Field(min_length=1, max_length=100)
    id: str | None = Field(None, description="a stable slug; derived from the name if left out")
    description: str | None = Field(None, max_length=500)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("a component needs a name")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError("an id is lower-case letters, digits and hyphens (at most 64)")
        return value


class GroupSpec(ComponentSpec):
    components: list[ComponentSpec] = Field(min_length=1, max_length=200)


class PageSpec(_Strict):
    name: str = Field("Status", min_length=1, max_length=100)
    url: str = Field("", max_length=300)
    time_zone: str = Field("Etc/UTC", max_length=60)


class ComponentsFile(_Strict):
    page: PageSpec = PageSpec()
    groups: list[GroupSpec] = Field(default_factory=list, max_length=100)
    components: list[ComponentSpec] = Field(default_factory=list, max_length=200)


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    description: str | None
    position: int
    group_id: str | None = None
    is_group: bool = False
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageConfig:
    """The page and its components in display order (a group first, then its components)."""

    name: str
    url: str
    time_zone: str
    components: tuple[Component, ...]

    @property
    def leaves(self) -> tuple[Component, ...]:
        """The components that carry a status of their own (groups take their worst child's)."""
        return tuple(c for c in self.components if not c.is_group)

    def by_id(self) -> dict[str, Component]:
        return {c.id: c for c in self.components}

    def resolve(self, names: list[str]) -> list[str]:
        """Component ids for ids or names (any case); InvalidInput naming the unknown ones."""
        index: dict[str, str] = {}
        for c in self.leaves:
            index[c.id] = c.id
            index[c.name.lower()] = c.id
        unknown = [n for n in names if " ".join(n.split()).lower() not in index]
        if unknown:
            shown = ", ".join(repr(n[:60]) for n in unknown[:5])
            known = ", ".join(c.name for c in self.leaves[:40])
            raise InvalidInput(
                f"components: unknown status page component(s) {shown}; known: {known}"
            )
        return [index[" ".join(n.split()).lower()] for n in names]


def build(spec: ComponentsFile, source: str) -> PageConfig:
    out: list[Component] = []
    seen: set[str] = set()
    names: set[str] = set()

    def claim(item: ComponentSpec) -> str:
        cid = item.id or slug(item.name)
        if cid in seen:
            raise ConfigError(f"the status page components {source}: the id {cid!r} is used twice")
        if item.name.lower() in names:
            raise ConfigError(
                f"the status page components {source}: the name {item.name!r} is used twice"
            )
        seen.add(cid)
        names.add(item.name.lower())
        return cid

    position = 0
    for group in spec.groups:
        gid = claim(group)
        children = [(claim(c), c) for c in group.components]
        position += 1
        out.append(
            Component(
                gid,
                group.name,
                group.description,
                position,
                is_group=True,
                children=tuple(cid for cid, _ in children),
            )
        )
        for cid, c in children:
            position += 1
            out.append(Component(cid, c.name, c.description, position, group_id=gid))
    for c in spec.components:
        position += 1
        out.append(Component(claim(c), c.name, c.description, position))
    if not any(not c.is_group for c in out):
        raise ConfigError(f"the status page components {source} name no component")
    return PageConfig(spec.page.name, spec.page.url, spec.page.time_zone, tuple(out))


def load(path: Path | None = None) -> PageConfig:
    """The team's components file, or the packaged sample."""
    source: Traversable | Path = path or resources.files("copilot.statuspage").joinpath(
        "components.yaml"
    )
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read the status page components {source}: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the status page components {source} are not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"the status page components {source} are not valid YAML: {exc}"
        ) from None
    try:
        spec = ComponentsFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ConfigError(f"the status page components {source} are invalid: {problems}") from None
    return build(spec, str(source))


def from_catalog(db: Database, base: PageConfig) -> PageConfig | None:
    """Components from the service catalog's public entities (grouped by their public group),
    under `base`'s page name; None when the catalog has none (or they cannot form a page)."""
    from copilot.catalog.lookup import public_components

    found = public_components(db)
    if not found:
        return None
    groups: dict[str | None, list[str]] = {}
    seen: set[str] = set()
    for entity in found:
        name = " ".join(entity.public_name.split())[:100]
        # Several entities may share a public name (checkout-api and fraud-scorer: Checkout).
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        groups.setdefault(entity.group, []).append(name)
    taken = {slug(n) for names in groups.values() for n in names}
    spec_groups = []
    for group, names in groups.items():
        if group is None:
            continue
        gid = slug(group) if slug(group) not in taken else slug(group + " group")
        spec_groups.append(
            GroupSpec(name=group, id=gid, components=[ComponentSpec(name=n) for n in names])
        )
    spec = ComponentsFile(
        page=PageSpec(name=base.name, url=base.url, time_zone=base.time_zone),
        groups=spec_groups,
        components=[ComponentSpec(name=n) for n in groups.get(None, [])],
    )
    try:
        return build(spec, "the service catalog")
    except ConfigError as exc:
        log.warning("status page components from the catalog not used: %s", exc)
        return None


def current(db: Database, path: Path | None = None) -> PageConfig:
    """The catalog's public components when it has any, else the components file."""
    base = load(path)
    try:
        return from_catalog(db, base) or base
    except Exception as exc:  # a catalog that cannot be read must not take the page down
        log.warning("status page components from the catalog not read: %s", exc)
        return base
