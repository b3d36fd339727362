"""The lifecycle state machine."""

from __future__ import annotations

from itertools import pairwise

import pytest

from copilot.errors import Conflict
from copilot.incidents import lifecycle
from copilot.incidents.models import STATUSES


def test_every_status_has_a_way_forward_and_none_loops_to_itself() -> None:
    assert set(lifecycle.TRANSITIONS) == set(STATUSES)
    for status, targets in lifecycle.TRANSITIONS.items():
        assert targets
        assert status not in targets
        assert set(targets) <= set(STATUSES)
        assert "triage" not in targets  # nothing goes back to triage


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_check_allows_exactly_the_table(current: str, target: str) -> None:
    if target in lifecycle.TRANSITIONS[current]:
        lifecycle.check("INC-1", current, target)
        return
    with pytest.raises(Conflict) as caught:
        lifecycle.check("INC-1", current, target)
    message = str(caught.value)
    assert f"from {current} to {target}" in message
    assert message.endswith(", ".join(lifecycle.TRANSITIONS[current]))


def test_the_happy_path_is_allowed() -> None:
    path = ["triage", "mobilized", "mitigating", "monitoring", "resolved", "closed"]
    for current, target in pairwise(path):
        lifecycle.check("INC-1", current, target)


def test_reopen() -> None:
    assert lifecycle.is_reopen("closed", "mitigating")
    assert lifecycle.is_reopen("resolved", "mobilized")
    assert not lifecycle.is_reopen("resolved", "closed")
    assert not lifecycle.is_reopen("monitoring", "mitigating")
