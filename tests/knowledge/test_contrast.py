"""A question that rules a near twin out ("..., not the kubelet one") is not pulled to it by the
word it rules out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.contrast import contrasted, names_ruled_out
from copilot.knowledge.store import KnowledgeBase
from tests.knowledge.conftest import documents_kb


@pytest.mark.parametrize(
    ("question", "ruled_out", "kept"),
    [
        (
            "cert expires in a week. not the sensor one. what do i do",
            {"sensor"},
            "cert expires in a week. . what do i do",
        ),
        (
            "list calls failing (list, not watch), monitors never show up",
            {"watch"},
            "list calls failing (list, ), monitors never show up",
        ),
        ("75% used, not critical yet", {"critic"}, "75% used,"),
        (
            "api reporting errors, not fully down, works on and off",
            {"down"},
            "api reporting errors, , works on and off",
        ),
    ],
)
def test_a_clause_that_rules_something_out_is_split_off(
    question: str, ruled_out: set[str], kept: str
) -> None:
    found = contrasted(question)
    assert set(found.ruled_out) == ruled_out
    assert found.kept == kept


@pytest.mark.parametrize(
    "question",
    [
        "pods not ready after deploy",
        "pods crashlooping, not ready",
        "deploy broke, not sure why",
        "samples not landing at all",
        "replicas with pvcs both landed on the same node, not really HA",
    ],
)
def test_a_symptom_said_with_not_is_kept(question: str) -> None:
    found = contrasted(question)
    assert found.ruled_out == frozenset() and found.kept == question


def test_a_title_names_what_was_ruled_out_in_any_case() -> None:
    found = contrasted("expiring soon, not the kubelet one")
    assert names_ruled_out(found, "KubeletClientCertificateExpiration")
    assert not names_ruled_out(found, "KubeClientCertificateExpiration")
    assert names_ruled_out(contrasted("errors, not fully down"), "KubeAggregatedAPIDown")


CERT = """# Kiln {Which} Certificate Expiration

## Meaning

The client certificate the kiln {which} uses to talk to the firing controller expires within
seven days. When it expires, the {which} can no longer authenticate and firing stops.

## Diagnosis

- Check when the {which} certificate was issued and when it expires.

## Mitigation

- Renew the {which} certificate with the kiln certificate tool.
"""


@pytest.fixture(scope="module")
def certs_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    documents = {
        f"kiln-{which}-cert.md": CERT.format(Which=which.title(), which=which)
        for which in ("sensor", "gateway")
    }
    with documents_kb(tmp_path_factory, embedder, "cert", documents) as kb:
        yield kb


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        (
            "a kiln client cert expires in under a week. not the sensor one. what do i do",
            "kiln-gateway-cert.md",
        ),
        ("kiln client certificate expiring soon (not the gateway one)", "kiln-sensor-cert.md"),
    ],
)
def test_the_twin_a_question_rules_out_does_not_lead(
    certs_kb: KnowledgeBase, question: str, lead: str
) -> None:
    hits = retrieval.retrieve(kb=certs_kb, query=question, top_k=2, kind="runbook").hits
    assert Path(hits[0].chunk.source).name == lead
