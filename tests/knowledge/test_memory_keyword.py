"""A replica's in-memory keyword index, dropped after a change while a search may be using it."""

from __future__ import annotations

import threading

from copilot.knowledge.keyword import MemoryKeywordIndex, match_expression
from copilot.knowledge.models import Chunk
from tests.knowledge.conftest import a_section


def _chunk(cid: str, text: str) -> Chunk:
    return a_section(cid, f"{cid}.md", text)


def test_a_closed_index_answers_nothing_rather_than_fail() -> None:
    index = MemoryKeywordIndex([_chunk("k1", "kafka consumer lag"), _chunk("d1", "disk full")])
    assert [cid for cid, _ in index.search(match_expression(["kafka"]), kind=None, n=5)] == ["k1"]
    index.close()
    assert index.search(match_expression(["kafka"]), kind=None, n=5) == []


def test_closing_waits_for_a_running_search() -> None:
    index = MemoryKeywordIndex([_chunk(f"c{i}", f"kafka consumer lag {i}") for i in range(200)])
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(200):
                index.search(match_expression(["kafka", "lag"]), kind="runbook", n=50)
        except BaseException as exc:  # what a closed sqlite connection raises mid-search
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    index.close()
    for t in threads:
        t.join()
    assert errors == []
