"""What a team can replace: the catalog (public names, internal terms) and the templates.

Both ship in this package. A team overrides them with files of the same shape under
`<COPILOT_DATA_DIR>/status/`: `catalog.yaml`, and `templates/<audience>/<phase>.md` (any subset;
a template not overridden falls back to the packaged one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from copilot.errors import ConfigError

ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PLACEHOLDER_ONLY = re.compile(r"^\s*(?:\$\w+|\$\{\w+\})\s*$")
# A service label with a hyphen, underscore, dot or digit reads as an internal name
# (checkout-api, orders-db, redis-carts); a plain word (checkout, payments) does not.
_CODE_LIKE = re.compile(r"[-_.\d]")


def looks_internal(name: str) -> bool:
    return bool(_CODE_LIKE.search(name))


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    components: dict[str, str | None] = Field(default_factory=dict)
    internal_names: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    technologies: tuple[str, ...] = ()
    public_hosts: tuple[str, ...] = ()
    component_status: dict[str, ComponentStatus] = Field(default_factory=dict)

    @field_validator("components")
    @classmethod
    def _lower_keys(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        return {k.strip().lower(): (v.strip() if v else None) for k, v in value.items()}

    @field_validator("public_hosts")
    @classmethod
    def _lower_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in value if h.strip())

    def component_of(self, service: str) -> str | None:
        """The public name of a service label; None when it must not be named publicly."""
        key = service.strip().lower()
        if key in self.components:
            return self.components[key]
        if looks_internal(key):
            return None
        return key.replace("_", " ").capitalize()


@dataclass(frozen=True)
class StatusTemplate:
    title: Template
    body: Template
    source: str

    def uses(self, name: str) -> bool:
        pattern = re.compile(rf"\$(?:{name}\b|\{{{name}\}})")
        return bool(pattern.search(self.title.template) or pattern.search(self.body.template))

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        try:
            title = self.title.substitute(values)
            lines = []
            for line in self.body.template.split("\n"):
                rendered = Template(line).substitute(values)
                # A line that is only a placeholder with nothing to say is left out.
                if rendered.strip() or not _PLACEHOLDER_ONLY.match(line):
                    lines.append(rendered)
            return title, "\n".join(lines)
        except KeyError as exc:
            raise ConfigError(
                f"status template {self.source} uses ${exc.args[0]}, which is not a placeholder; "
                f"available: {', '.join(sorted(values))}"
            ) from None
        except ValueError as exc:
            raise ConfigError(f"status template {self.source} is malformed: {exc}") from None


def parse_template(text: str, source: str) -> StatusTemplate:
    """A template file: comments, then `# title`, then the body."""
    lines = _COMMENT.sub("", text).strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ConfigError(f"status template {source} must start with a '# title' line")
    title = lines[0][2:].strip()
    body = "\n".join(lines[1:]).strip()
    if not title or not body:
        raise ConfigError(f"status template {source} needs a title and a body")
    return StatusTemplate(Template(title), Template(body), source)


class StatusConfig:
    """The catalog and templates in force: a team's files first, then the packaged ones."""

    def __init__(self, catalog: Catalog, override_dir: Path | None = None) -> None:
        self.catalog = catalog
        self.override_dir = override_dir
        self._templates: dict[tuple[str, str], StatusTemplate] = {}

    @classmethod
    def load(cls, override_dir: Path | None = None) -> StatusConfig:
        packaged = resources.files("copilot.status").joinpath("catalog.yaml")
        source: Traversable | Path = packaged
        if override_dir is not None and (override_dir / "catalog.yaml").is_file():
            source = override_dir / "catalog.yaml"
        return cls(_read_catalog(source), override_dir)

    def template(self, audience: str, phase: str) -> StatusTemplate:
        key = (audience, phase)
        if key not in self._templates:
            rel = f"{audience}/{phase}.md"
            path: Traversable | Path = resources.files("copilot.status").joinpath(
                "templates", audience, f"{phase}.md"
            )
            if self.override_dir is not None:
                mine = self.override_dir / "templates" / audience / f"{phase}.md"
                if mine.is_file():
                    path = mine
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read the status template {rel}: {exc}") from None
            self._templates[key] = parse_template(text, str(path))
        return self._templates[key]


def _read_catalog(source: Traversable | Path) -> Catalog:
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read the status catalog {source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the status catalog {source} is not valid YAML: {exc}") from None
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"the status catalog {source} is invalid: {problems}") from None


def config_dir(data_dir: Path) -> Path:
    return data_dir / "status"
