"""A throwaway PostgreSQL cluster for the tests: initdb in a temp dir, on 127.0.0.1, a free port.

The class lives in evals/processes.py, shared with the load benchmark (`evals.load --topology`).
"""

from __future__ import annotations

from evals.processes import PostgresCluster, find_bindir

__all__ = ["PostgresCluster", "find_bindir"]
