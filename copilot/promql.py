"""What reads as a PromQL query: one place for the functions and the shapes a query takes.

Two readers need it and sit apart: `assist.steps` takes inline code that holds a query for a
step ("`up == 0` can be used to check ..."), and `guardrails.risk` reads a whole query without its
label matchers' values (`verb=~"POST|DELETE"` is not a deletion). Both use this list.
"""

from __future__ import annotations

import re

# The functions (and aggregations) a query is written with.
FUNCTIONS = (
    r"(?:sum|avg|max|min|count|rate|irate|increase|histogram_quantile|topk|bottomk|absent|delta|"
    r"deriv|predict_linear|[a-z]+_over_time|label_replace|sort(?:_desc)?|abs|"
    r"clamp(?:_min|_max)?|round|vector|scalar)"
)
_GROUPING = r"(?:(?:by|without)\s*\([^)]*\)\s*)?"
_CALL = rf"\b{FUNCTIONS}\s*{_GROUPING}\("

# Somewhere in a piece of code: a function call over a selector, a selector with matchers, or a
# comparison.
_HOLDS = re.compile(
    rf"{_CALL}|^[a-zA-Z_:][\w:]*\{{[^}}]*=[^}}]*\}}|"
    r"^[a-zA-Z_:][\w:]*(?:\{[^}]*\})?\s*(?:==|!=|>=|<=|>|<)\s*\S"
)
# The start of a whole query: a function call or a selector with matchers.
_STARTS = re.compile(rf"^[\s(]*(?:{FUNCTIONS}\s*{_GROUPING}\(|[a-zA-Z_:][\w:]*\s*\{{)")


def holds_query(code: str) -> bool:
    """Whether a piece of inline code is (or holds) a PromQL query."""
    return bool(_HOLDS.search(code))


def starts_query(text: str) -> bool:
    """Whether a text starts as a whole PromQL query does."""
    return bool(_STARTS.match(text))
