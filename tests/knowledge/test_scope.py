"""What share of a thing a question says is affected, and what an alert's title names."""

from __future__ import annotations

import pytest

from copilot.knowledge.scope import ALL, PART, asked_scope, title_scope


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
