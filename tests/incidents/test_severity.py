"""The severity taxonomy file: the shipped default and a team's replacement."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.errors import ConfigError, InvalidInput
from copilot.incidents import schemas, service
from copilot.incidents.db import IncidentStore
from copilot.incidents.severity import load_taxonomy
from copilot.settings import Settings


def test_the_default_taxonomy() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.ids == ["SEV1", "SEV2", "SEV3", "SEV4"]
    for n in range(1, 5):
        assert taxonomy.resolve(f"p{n}").id == f"SEV{n}"
        assert taxonomy.resolve(f" sev{n} ").id == f"SEV{n}"
    cadences = [level.update_cadence_minutes for level in taxonomy.levels]
    assert cadences == sorted(cadences)  # the worse it is, the more often people hear
    for level in taxonomy.levels:
        assert level.definition and level.name
    assert taxonomy.get("SEV1").response_targets.mitigate_minutes == 60


def test_an_unknown_severity_names_the_field_and_the_choices() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_taxonomy().resolve("SEV5", field="severity")
    assert str(caught.value) == (
        "severity: unknown severity 'SEV5'; expected one of SEV1, SEV2, SEV3, SEV4 "
        "(or P1, P2, P3, P4)"
    )


CUSTOM = """
levels:
  - id: CRIT
    name: Critical
    aliases: [RED]
    definition: Everything is on fire.
    update_cadence_minutes: 15
  - id: WARN
    name: Warning
    definition: Something is smouldering.
    update_cadence_minutes: 240
"""


def test_a_team_can_replace_the_taxonomy(tmp_path: Path) -> None:
    path = tmp_path / "severity.yaml"
    path.write_text(CUSTOM)
    settings = Settings(data_dir=tmp_path / "data", severity_file=path, _env_file=None)
    with IncidentStore.open(settings) as store:
        incident = service.declare(
            store=store, request=schemas.IncidentCreate(title="fire", severity="red")
        )
        assert (incident.severity, incident.severity_name) == ("CRIT", "Critical")
        assert incident.update_cadence_minutes == 15
        with pytest.raises(InvalidInput, match="expected one of CRIT, WARN"):
            service.declare(store=store, request=schemas.IncidentCreate(title="x", severity="SEV1"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("levels: [", "not valid YAML"),
        ("levels: []", "levels"),
        (CUSTOM.replace("[RED]", "[WARN]"), "used twice"),
        (CUSTOM.replace("update_cadence_minutes: 15", "update_cadence_minutes: 0"), "cadence"),
        (CUSTOM + "colour: red\n", "colour"),
    ],
)
def test_a_broken_taxonomy_file_is_a_config_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "severity.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_taxonomy(path)
    assert str(path) in str(caught.value)


def test_a_missing_taxonomy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy(tmp_path / "nope.yaml")
