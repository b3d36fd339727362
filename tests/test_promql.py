"""One reading of PromQL for the step extractor and the risk rules."""

from __future__ import annotations

import pytest

from copilot import promql
from copilot.assist import blocks
from copilot.guardrails import commands


@pytest.mark.parametrize(
    "query",
    [
        "round(node_load1)",
        "sort_desc(sum by (pod) (container_memory_working_set_bytes))",
        "quantile_over_time(0.9, probe_duration_seconds[1h])",
        "clamp_min(kube_deployment_status_replicas_available, 1)",
    ],
)
def test_every_function_one_reader_knows_the_other_knows(query: str) -> None:
    assert promql.holds_query(query)
    assert promql.starts_query(query)
    # The step extractor takes it as a query in inline code ...
    assert blocks.looks_like_command(query)


@pytest.mark.parametrize("text", ["round robin", "sort the list", "vector database", "abs"])
def test_words_that_name_functions_are_not_queries(text: str) -> None:
    assert not promql.holds_query(text)
    assert not promql.starts_query(text)


def test_a_label_value_in_a_whole_query_is_not_an_order() -> None:
    query = 'sort_desc(sum by (verb) (rate(apiserver_request_total{verb=~"PUT|DELETE"}[5m])))'
    assert commands.command_risks(query) == []
    # A shell line that holds the same words is still read whole.
    assert commands.command_risks("kubectl delete pod checkout-1") != []
