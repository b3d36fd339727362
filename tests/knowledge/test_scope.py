"""What share of a thing a question says is affected, and what an alert's title names."""

from __future__ import annotations

import pytest

from copilot.knowledge.scope import (
    ABOVE,
    ALL,
    AT,
    BELOW,
    PART,
    asked_bound,
    asked_scope,
    bounds,
    title_scope,
)


@pytest.mark.parametrize(
    ("question", "scope"),
    [
        ("every alertmanager replica is failing to deliver", ALL),
        ("virt-handler pods are running but not a single one is ready on any node", ALL),
        ("no running virt-operator pod at all", ALL),
        ("noobaa backingstores completely full, s3 writes failing", ALL),
        ("the ceph monitors are close to losing quorum, only a couple still up", PART),
        ("pods running but not all of them have been ready for 10 minutes", PART),
        ("a single control plane node has been over 90% ram for an hour", PART),
        ("one of the workers shows NotReady", PART),
        ("a ceph pool is getting close to its byte quota", PART),
        ("everything in the namespace is down", ALL),
        ("the disk is at 100% used", ALL),
        # Neither, or both: the question does not say. "allocated" is not "all".
        ("pods keep restarting after deploy", None),
        ("the mds pod sits around 70% of its allocated cpu", None),
        ("one node is down and now all of the pods are pending", None),
    ],
)
def test_the_scope_a_question_says(question: str, scope: str | None) -> None:
    assert asked_scope(question) == scope


@pytest.mark.parametrize(
    ("title", "scopes"),
    [
        ("AlertmanagerClusterFailedToSendAlerts", {ALL}),
        ("AlertmanagerFailedToSendAlerts", set()),
        ("NoReadyVirtHandler", {ALL}),
        ("LowReadyVirtHandlerCount", {PART}),
        ("CephMonQuorumAtRisk", {PART}),
        ("CephMonQuorumLost", {ALL}),
        ("ExtremelyHighIndividualControlPlaneMemory", {PART}),
        ("NooBaaSystemCapacityWarning100", {ALL}),
        ("Kubernetes pod crashloop", set()),
    ],
)
def test_the_scope_a_title_names(title: str, scopes: set[str]) -> None:
    assert title_scope(title) == scopes


@pytest.mark.parametrize(
    ("question", "side"),
    [
        ("pdb is exactly at its minimum and our node drain is getting blocked", AT),
        ("the pdb allows zero evictions even though every pod is healthy", AT),
        ("a disruption budget has zero headroom", AT),
        ("hpa maxed out, cannot scale further", AT),
        ("pdb not satisfied, fewer healthy pods than it wants", BELOW),
        ("app is running short of replicas", BELOW),
        ("error budget burn rate above the threshold", ABOVE),
        ("more than five pods exceed their memory request", ABOVE),
        # Neither, or both: no side.
        ("pods keep restarting after deploy", None),
        ("fewer pods than desired and cpu above the limit", None),
        # "At risk" is not at a limit.
        ("etcd quorum at risk", None),
    ],
)
def test_the_side_of_a_limit_a_question_says(question: str, side: str | None) -> None:
    assert asked_bound(question) == side


def test_the_sides_a_meaning_names() -> None:
    assert bounds("The number of current healthy pods is equal to the desired healthy pods.") == {
        AT
    }
    assert bounds("The budget is below the minimum and is not satisfied.") == {BELOW}
    assert bounds("Nothing about any limit here.") == set()
