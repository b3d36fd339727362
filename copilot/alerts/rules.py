"""Correlation rules: a YAML file a team can read and change (packaged default: rules.yaml)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from copilot.errors import ConfigError

PACKAGED_RULES = Path(__file__).with_name("rules.yaml")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int) -> timedelta:
    """`90s`, `10m`, `2h`, `1d` (or a number of seconds)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{str(value)[:40]!r} is not a duration such as 90s, 10m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def describe(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


Duration = Annotated[timedelta, Field()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Matcher(_Strict):
    match: dict[str, str] = {}
    match_re: dict[str, str] = {}

    @field_validator("match_re")
    @classmethod
    def _compiles(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{label}: not a regular expression ({exc})") from None
        return value

    def selects(self, labels: dict[str, str]) -> bool:
        """Whether this matcher names labels and these fit them (an empty one selects none)."""
        return bool(self.match or self.match_re) and self.matches(labels)

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k, "") != v for k, v in self.match.items()):
            return False
        return all(
            _compiled(pattern).fullmatch(labels.get(label, "")) is not None
            for label, pattern in self.match_re.items()
        )


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class Threshold(_Strict):
    alerts: int = Field(3, ge=1, le=100_000)
    names: int = Field(2, ge=1, le=10_000)
    # Count only alerts firing now: alerts that came and went one after another are not a
    # situation together.
    firing_only: bool = False


class Rule(Matcher):
    name: str = Field(min_length=1, max_length=100)
    group_by: list[str] = []
    window: timedelta = timedelta(minutes=10)
    extending: bool = True
    threshold: Threshold = Threshold()

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)


class Policy(Matcher):
    """Declare an incident by itself when a group becomes a candidate and one of its firing
    alerts has these labels (`match`, `match_re`: at least one of them, so that a policy never
    declares every candidate by accident)."""

    name: str = Field(min_length=1, max_length=100)
    severity: str | None = Field(None, max_length=20, description="default: the suggested one")

    @model_validator(mode="after")
    def _narrow(self) -> Policy:
        if not (self.match or self.match_re):
            raise ValueError(f"auto_declare {self.name}: give `match` or `match_re` labels")
        return self


class SeverityMap(_Strict):
    default: str = "SEV3"
    map: dict[str, str] = {}


class RuleSet(_Strict):
    flap_window: timedelta = timedelta(minutes=30)
    reopen_window: timedelta = timedelta(hours=1)
    heartbeat: Matcher = Matcher()
    # Alerts grouped and shown, never counted toward a threshold (empty: every alert counts).
    not_actionable: Matcher = Matcher()
    # Alerts that make their group a candidate at once while firing, whatever its rule's
    # threshold (empty: none do).
    urgent: Matcher = Matcher()
    severity: SeverityMap = SeverityMap()
    rules: list[Rule] = Field(min_length=1)
    auto_declare: list[Policy] = Field(default=[], max_length=100)

    @field_validator("flap_window", "reopen_window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)

    def rule_for(self, labels: dict[str, str]) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(labels)), None)

    def is_heartbeat(self, labels: dict[str, str]) -> bool:
        return self.heartbeat.selects(labels)

    def policy_for(self, labels: Iterable[dict[str, str]]) -> tuple[Policy, dict[str, str]] | None:
        """The first auto-declare policy one of these label sets matches, and that label set."""
        sets = list(labels)
        for policy in self.auto_declare:
            for one in sets:
                if policy.matches(one):
                    return policy, one
        return None

    def counts(self, labels: dict[str, str]) -> bool:
        """Whether an alert with these labels counts toward a group's threshold."""
        return not self.not_actionable.selects(labels)

    def is_urgent(self, labels: dict[str, str]) -> bool:
        """Whether a firing alert with these labels is a candidate by itself."""
        return self.urgent.selects(labels)

    def rule(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules in `path` (COPILOT_ALERT_RULES), or the packaged default; ConfigError if bad."""
    source = path or PACKAGED_RULES
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the alert rules {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the alert rules {source} are not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"the alert rules {source} must be a mapping with a `rules` list")
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"the alert rules {source} are invalid: {problems}") from None
