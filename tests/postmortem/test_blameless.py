"""Blameless language: phrasing that blames a person is flagged with a neutral rewrite."""

from __future__ import annotations

import pytest

from copilot.postmortem.blameless import check, neutral


@pytest.mark.parametrize(
    ("text", "phrase", "rewrite"),
    [
        (
            "Bob forgot to drain the node before the upgrade.",
            "Bob forgot to drain the node before the upgrade",
            "Nothing in the process prompted anyone to drain the node before the upgrade",
        ),
        (
            "The on-call engineer failed to page the DBA, so recovery took longer.",
            "The on-call engineer failed to page the DBA",
            "Nothing in the process prompted anyone to page the DBA",
        ),
        (
            "Alice caused the outage by running the cleanup script.",
            "Alice caused the outage by running the cleanup script",
            "Running the cleanup script caused the outage",
        ),
        (
            "Alice missed the alert because it went to a ticket queue.",
            "Alice missed the alert",
            "The alert went unnoticed",
        ),
        (
            "Dana should have rolled back sooner.",
            "Dana should have rolled back sooner",
            "What would have made it easier to have rolled back sooner?",
        ),
        ("It was human error.", "human error", "a gap in tooling or process"),
        ("This was Bob's fault.", "Bob's fault", "a contributing factor"),
        (
            "Bob messed up the migration.",
            "Bob messed up the migration",
            "The migration did not go as planned",
        ),
        (
            "someone ignored the warning",
            "someone ignored the warning",
            "The warning was not acted on",
        ),
    ],
)
def test_blaming_phrases_are_flagged_with_a_rewrite(text: str, phrase: str, rewrite: str) -> None:
    (flag,) = check(text, where="summary", names=["Alice", "Dana"])
    assert (flag.phrase, flag.rewrite, flag.where) == (phrase, rewrite, "summary")
    assert flag.reason


@pytest.mark.parametrize(
    "text",
    [
        "Redis caused evictions; monitoring missed the spike.",
        "Rollback caused a second spike.",
        "Pipeline failed due to an AWS API timeout.",
        "The deploy broke checkout.",
        "Monitoring should have caught this.",
        "Accidental execution of a command deleted all worker nodes.",
        "Alice rolled back the release at 18:33.",
    ],
)
def test_systems_and_neutral_facts_are_not_flagged(text: str) -> None:
    assert check(text, names=["Alice"]) == []


def test_names_from_the_record_extend_the_rule_to_any_blaming_verb() -> None:
    assert check("Priya broke production with a bad config push.") == []
    (flag,) = check("Priya broke production with a bad config push.", names=["Priya"])
    assert flag.rewrite == "A bad config push broke production"


def test_neutral_rewrites_statements_and_drops_judgement_words() -> None:
    text, flags = neutral("Carelessly deployed on a Friday. Bob forgot to check the canary.")
    assert (
        text == "Deployed on a Friday. Nothing in the process prompted anyone to check the canary."
    )
    assert len(flags) == 2
    # A hindsight question is a flag for the team, not a drop-in replacement.
    kept, flags = neutral("Dana should have rolled back sooner.", names=["Dana"])
    assert kept == "Dana should have rolled back sooner." and len(flags) == 1
