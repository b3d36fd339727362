"""Recurring failure modes: incidents grouped by what happened, each group named by its terms.

Each incident's title and summary are turned into TF-IDF vectors (the default) or embedded with
the copilot's sentence model (MiniLM, when asked for). On the dfds history the keywords group
incidents much closer to hand-made topic labels (`python -m evals.insights clusters`: adjusted
Rand index 0.59 against 0.01 for MiniLM, whose vectors of infrastructure postmortems sit so
close together that the silhouette picks two groups), hence the default.

Groups come from scikit-learn's agglomerative clustering (average linkage
on cosine distance), with the number of groups chosen by the silhouette score; a group of one is
not a recurring mode. Each group is named by its most distinctive terms: the words whose TF-IDF
weight is highest inside the group relative to the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score

MAX_GROUPS = 15
MIN_INCIDENTS = 4
TERMS = 3


@dataclass
class Group:
    label: str
    terms: list[str]
    members: list[tuple[str, str]]


@dataclass
class Found:
    method: str
    n: int
    singletons: int = 0
    clusters: list[Group] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)


def _tfidf(texts: Sequence[str]) -> tuple[Any, Any]:
    vectorizer = TfidfVectorizer(
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9-]{2,}\b",
        sublinear_tf=True,
        min_df=1,
    )
    matrix = vectorizer.fit_transform(texts)
    return vectorizer, matrix


def assign(vectors: Any, *, max_groups: int = MAX_GROUPS) -> list[int]:
    """A group number per row: the clustering with the best silhouette over 2..max_groups."""
    n = vectors.shape[0]
    best: tuple[float, list[int]] = (-2.0, [0] * n)
    for k in range(2, min(max_groups, n - 1) + 1):
        labels = AgglomerativeClustering(
            n_clusters=k, metric="cosine", linkage="average"
        ).fit_predict(vectors)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine"))
        if score > best[0]:
            best = (score, [int(x) for x in labels])
    return best[1]


def cluster(
    items: Sequence[tuple[str, str, str]], *, embedder: Any = None, max_groups: int = MAX_GROUPS
) -> Found:
    """Group (id, title, text) items; `embedder` (copilot.embedding.Embedder) or TF-IDF."""
    method = "minilm+agglomerative" if embedder is not None else "tfidf+agglomerative"
    found = Found(method=method, n=len(items))
    if len(items) < MIN_INCIDENTS:
        found.singletons = len(items)
        return found
    texts = [text for _, _, text in items]
    vectorizer, matrix = _tfidf(texts)
    if embedder is not None:
        vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    else:
        vectors = matrix.toarray()
        # An incident with no usable words has a zero vector: cosine needs a direction.
        empty = ~vectors.any(axis=1)
        vectors[empty, 0] = 1e-6
    labels = assign(vectors, max_groups=max_groups)
    found.labels = labels
    terms = np.asarray(vectorizer.get_feature_names_out())
    dense = matrix.toarray()
    for group in sorted(set(labels)):
        rows = [i for i, label in enumerate(labels) if label == group]
        if len(rows) < 2:
            found.singletons += 1
            continue
        inside = dense[rows].mean(axis=0)
        outside_rows = [i for i in range(len(items)) if i not in rows]
        outside = dense[outside_rows].mean(axis=0) if outside_rows else 0.0
        ranked = np.argsort(-(inside - outside), kind="stable")
        top = [str(terms[i]) for i in ranked[:TERMS] if inside[i] > 0]
        found.clusters.append(
            Group(
                label=" / ".join(top) or "(no distinctive terms)",
                terms=top,
                members=[(items[i][0], items[i][1]) for i in rows],
            )
        )
    found.clusters.sort(key=lambda g: (-len(g.members), g.label))
    return found
