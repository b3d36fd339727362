"""A real Chroma server on loopback (`chroma run` from the chromadb package), for scale-out tests.

Shared by tests/knowledge (the store against a server) and tests/deploy (the topology); the
class lives in evals/processes.py, shared with the load benchmark (`evals.load --topology`).
"""

from __future__ import annotations

from evals.processes import ChromaServer, free_port

__all__ = ["ChromaServer", "free_port"]
