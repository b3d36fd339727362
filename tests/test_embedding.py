"""The embedder's text cache: what it returns is what the model returns, and a text is encoded once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from copilot.embedding import Embedder


def _spy(model: Embedder) -> list[list[str]]:
    calls: list[list[str]] = []
    encode = model._encode

    def counting(texts: list[str], batch_size: int | None) -> Any:
        calls.append(list(texts))
        return encode(texts, batch_size)

    model._encode = counting  # type: ignore[method-assign]
    return calls


@pytest.fixture(scope="module")
def cached() -> Embedder:
    return Embedder(cache_size=3)


def test_a_cached_text_is_encoded_once_and_gives_the_models_vector(
    cached: Embedder, embedder: Embedder
) -> None:
    calls = _spy(cached)
    texts = ["disk full on db node", "pods keep restarting", "disk full on db node"]
    first = cached.embed(texts)
    again = cached.embed(["pods keep restarting", "kafka consumer lag"])
    # The repeated text went to the model once; the second call encoded only the new one.
    assert calls == [["disk full on db node", "pods keep restarting"], ["kafka consumer lag"]]
    plain = embedder.embed(["disk full on db node", "pods keep restarting", "kafka consumer lag"])
    assert np.allclose(first, plain[[0, 1, 0]], atol=1e-5)
    assert np.allclose(again, plain[[1, 2]], atol=1e-5)
    # A caller writing into what it got does not change what the next caller gets.
    first[0] = 0.0
    assert np.allclose(cached.embed(["disk full on db node"])[0], plain[0], atol=1e-5)


def test_the_cache_keeps_only_its_size_and_can_be_cleared(cached: Embedder) -> None:
    cached.clear_cache()
    calls = _spy(cached)
    cached.embed(["a", "b", "c"])
    cached.embed(["d"])  # "a" is the oldest: it leaves
    cached.embed(["a", "d"])
    assert calls == [["a", "b", "c"], ["d"], ["a"]]
    cached.clear_cache()
    cached.embed(["d"])
    assert calls[-1] == ["d"]


def test_without_a_cache_every_call_goes_to_the_model() -> None:
    model = Embedder()
    calls = _spy(model)
    model.embed(["x", "x"])
    model.embed(["x"])
    assert calls == [["x", "x"], ["x"]]
