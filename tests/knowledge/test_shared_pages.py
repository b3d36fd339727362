"""A page many runbooks send their readers to (a helper: "collect the logs") does not lead over
the alert's own runbook that sends them there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from copilot.embedding import Embedder
from copilot.knowledge import links, retrieval
from copilot.knowledge.store import KnowledgeBase
from tests.knowledge.conftest import documents_kb

HELPER = """# Collecting kiln controller logs and firing traces

Gather the kiln controller logs and the firing trace before anyone restarts the controller:
support needs both to read an aborted or drifting firing.

1. Run `kilnctl logs --since 2h --all-zones > kiln-logs.txt` on the controller.
2. Run `kilnctl trace export --last-firing` to save the firing trace.
3. Attach both files to the incident channel.
"""

ALERT = """# {name}

## Meaning

{meaning}

## Diagnosis

- Check the controller dashboard for the affected kiln.
- {check}

## Mitigation

{mitigation}
"""

ALERTS = {
    "KilnFiringAborted": (
        "A firing program on a kiln stopped before its last segment: the ware inside is lost "
        "unless the firing resumes within ten minutes.",
        "Run `kilnctl firing status` to see the segment it stopped at.",
    ),
    "KilnTemperatureDrift": (
        "The measured kiln temperature drifts more than 15 degrees from the firing curve.",
        "Compare the two thermocouples with `kilnctl sensors`.",
    ),
    "KilnDoorSensorStuck": (
        "The door sensor of a kiln reports the same state for an hour while firings start and end.",
        "Open and close the door once and watch `kilnctl door events`.",
    ),
}


def _alert(name: str, in_related: bool = False) -> str:
    meaning, check = ALERTS[name]
    link = "[collect the logs](helpers/collect-logs.md)"
    mitigation = (
        "Restart the kiln controller with `kilnctl restart` once the firing is safe."
        if in_related
        else f"Before restarting anything, {link} for support.\n\n"
        "Restart the kiln controller with `kilnctl restart` once the firing is safe."
    )
    text = ALERT.format(name=name, meaning=meaning, check=check, mitigation=mitigation)
    return text + (f"\n## Related\n\n- {link}\n" if in_related else "")


QUESTION = "kiln firing aborted halfway, how do I collect the kiln controller logs"


@pytest.fixture(scope="module")
def helper_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {f"{name}.md": _alert(name) for name in ALERTS}
    documents["helpers/collect-logs.md"] = HELPER
    with documents_kb(tmp_path_factory, embedder, "helpers", documents) as kb:
        yield kb


@pytest.fixture(scope="module")
def related_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {f"{name}.md": _alert(name, in_related=True) for name in ALERTS}
    documents["helpers/collect-logs.md"] = HELPER
    with documents_kb(tmp_path_factory, embedder, "related", documents) as kb:
        yield kb


def _first(kb: KnowledgeBase, query: str) -> list[str]:
    hits = retrieval.retrieve(kb=kb, query=query, top_k=6, kind="runbook").hits
    return list(dict.fromkeys(h.chunk.source for h in hits))


def test_links_from_steps_are_counted_and_link_lists_are_not(
    helper_kb: KnowledgeBase, related_kb: KnowledgeBase
) -> None:
    assert links.linked_from(helper_kb, "helpers/collect-logs.md") == {
        f"{name}.md" for name in ALERTS
    }
    assert links.linked_from(related_kb, "helpers/collect-logs.md") == frozenset()


def test_the_alert_runbook_that_links_to_the_helper_leads(
    helper_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the rule, the helper page is the best match of the question's words...
    monkeypatch.setattr(retrieval, "SHARED_PAGE_LINKS", 99)
    assert _first(helper_kb, QUESTION)[0] == "helpers/collect-logs.md"
    monkeypatch.undo()
    # ... with it, the alert's own runbook leads and the helper follows it.
    order = _first(helper_kb, QUESTION)
    assert order[:2] == ["KilnFiringAborted.md", "helpers/collect-logs.md"]


def test_a_helper_linked_only_from_link_lists_keeps_its_place(related_kb: KnowledgeBase) -> None:
    assert _first(related_kb, QUESTION)[0] == "helpers/collect-logs.md"


def test_a_page_that_names_an_alert_is_an_answer_however_many_link_to_it(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> None:
    documents = {f"{name}.md": _alert(name) for name in ALERTS}
    documents["helpers/collect-logs.md"] = (
        "---\ntitle: Collecting kiln controller logs\nalerts: [KilnLogsMissing]\n---\n" + HELPER
    )
    with documents_kb(tmp_path_factory, embedder, "named", documents) as kb:
        assert _first(kb, QUESTION)[0] == "helpers/collect-logs.md"


def test_the_links_are_read_again_after_an_ingest(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> None:
    documents = {f"{name}.md": _alert(name) for name in ALERTS}
    documents["helpers/collect-logs.md"] = HELPER
    with documents_kb(tmp_path_factory, embedder, "reread", documents) as kb:
        assert len(links.linked_from(kb, "helpers/collect-logs.md")) == 3
        kb.remove_document("KilnDoorSensorStuck.md")
        assert links.linked_from(kb, "helpers/collect-logs.md") == {
            "KilnFiringAborted.md",
            "KilnTemperatureDrift.md",
        }


def test_an_alert_name_that_opens_with_an_acronym_is_an_alert_runbook(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> None:
    # "ODFPersistentVolumeMirrorStatus", "DNSErrors": the acronym is a part of the name.
    documents = {f"KCS{name}.md": _alert(name).replace(name, f"KCS{name}", 1) for name in ALERTS}
    documents["helpers/collect-logs.md"] = HELPER
    with documents_kb(tmp_path_factory, embedder, "acronym", documents) as kb:
        assert _first(kb, QUESTION)[:2] == ["KCSKilnFiringAborted.md", "helpers/collect-logs.md"]
