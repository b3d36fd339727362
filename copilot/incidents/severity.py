"""The severity taxonomy: levels, their aliases, update cadence, targets and triage thresholds."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from copilot.errors import ConfigError, InvalidInput

DEFAULT_FILE = Path(__file__).with_name("severity.yaml")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


def _key(name: str) -> str:
    return name.strip().upper()


class ResponseTargets(BaseModel):
    """Minutes from detection; `None` means no target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    declare_minutes: int | None = Field(None, ge=1)
    mitigate_minutes: int | None = Field(None, ge=1)
    resolve_minutes: int | None = Field(None, ge=1)


class TriageThresholds(BaseModel):
    """Any one threshold reached puts an alert at the level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_facing_only: bool = False
    error_rate: float | None = Field(None, gt=0, le=1)
    latency_p99_ms: float | None = Field(None, gt=0)
    duration_minutes: float | None = Field(None, gt=0)
    users_affected: int | None = Field(None, ge=1)
    revenue_per_hour: float | None = Field(None, gt=0)
    alert_patterns: tuple[str, ...] = ()


class QuietThresholds(BaseModel):
    """Below all of these, on a system known not to face customers, no incident is declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(0.01, gt=0, le=1)
    latency_p99_ms: float = Field(1000, gt=0)
    duration_minutes: float = Field(15, gt=0)


class TriageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quiet: QuietThresholds = QuietThresholds()


class SeverityLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=60)
    aliases: tuple[str, ...] = ()
    definition: str = Field(min_length=1)
    impact: str = ""
    users_affected: str = ""
    update_cadence_minutes: int = Field(ge=1, le=10080)
    response_targets: ResponseTargets = ResponseTargets()
    triage: TriageThresholds | None = None


class Taxonomy(BaseModel):
    """Severity levels, most severe first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[SeverityLevel, ...] = Field(min_length=1)
    triage: TriageConfig = TriageConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> Taxonomy:
        seen: set[str] = set()
        for level in self.levels:
            for name in (level.id, *level.aliases):
                if not _NAME.match(name):
                    raise ValueError(f"severity name {name!r} must be 1-20 letters, digits, _ or -")
                if _key(name) in seen:
                    raise ValueError(f"severity name {name!r} is used twice")
                seen.add(_key(name))
        return self

    @cached_property
    def _by_name(self) -> dict[str, SeverityLevel]:
        return {_key(n): lvl for lvl in self.levels for n in (lvl.id, *lvl.aliases)}

    @property
    def ids(self) -> list[str]:
        return [level.id for level in self.levels]

    @property
    def lowest(self) -> SeverityLevel:
        return self.levels[-1]

    def describe_names(self) -> str:
        names = ", ".join(self.ids)
        aliases = [a for level in self.levels for a in level.aliases]
        return f"{names} (or {', '.join(aliases)})" if aliases else names

    def resolve(self, name: str, *, field: str = "severity") -> SeverityLevel:
        """The level called `name` (an id or an alias); InvalidInput naming `field` if none is."""
        level = self._by_name.get(_key(name))
        if level is None:
            raise InvalidInput(
                f"{field}: unknown severity {name.strip()[:40]!r}; expected one of "
                f"{self.describe_names()}"
            )
        return level

    def get(self, level_id: str) -> SeverityLevel:
        """The level with this canonical id; a stored id the taxonomy lost falls to the lowest."""
        return self._by_name.get(_key(level_id), self.lowest)

    def rank(self, level_id: str) -> int:
        """0 for the most severe level."""
        return self.levels.index(self.get(level_id))

    def cadence_minutes(self, level_id: str) -> int:
        return self.get(level_id).update_cadence_minutes


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read a taxonomy file (the packaged default when `path` is None)."""
    path = path or DEFAULT_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the severity file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the severity file {path} is not valid YAML: {exc}") from None
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"the severity file {path} is invalid: {problems}") from None
