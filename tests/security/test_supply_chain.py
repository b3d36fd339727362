"""Pinned dependencies and the audit step, checked offline."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and version and not any(c in version for c in "<>=!~*,"), (
            f"requirements.lock: {line!r} is not an exact pin"
        )
        pins[_norm(name)] = version
    return pins


def test_every_dependency_is_pinned_and_make_installs_with_the_pins() -> None:
    pins = _lock()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    for requirement in wanted:
        match = _NAME.match(requirement)
        assert match, requirement
        assert _norm(match.group(1)) in pins, f"{requirement} has no pin in requirements.lock"
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"PIP_INSTALL\s*:=.*pip install.*-c requirements\.lock", makefile)


def test_the_audit_step_fails_closed_and_every_accepted_finding_has_a_reason() -> None:
    makefile = (REPO / "Makefile").read_text()
    audit = makefile[makefile.index("\naudit:") :]
    assert "pip-audit --strict" in audit, "an unreachable advisory database must fail the audit"
    assert "audit-accepted.txt" in makefile
    test_recipe = makefile[makefile.index("\ntest:") :].split("\n\n", 1)[0]
    assert "audit" not in test_recipe, "make test must not need the advisory database"
    for line in (REPO / "audit-accepted.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        assert len(parts) == 3 and "==" in parts[1] and len(parts[2]) >= 10, (
            f"audit-accepted.txt: {line!r} needs ID, package==version and a reason"
        )
